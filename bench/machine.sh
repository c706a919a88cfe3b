#!/usr/bin/env bash
# What this machine's two first cores cost each other (docs/benchmarks.md, "What this machine's
# two cores cost each other"): a cache line moved between cores 0 and 1, three times; dependent
# loads over 1 MB and 100 MB on core 0 alone, then on cores 0 and 1 at once. Read several-thread
# figures (W5, W5x, W6, W6x) against these. Needs gcc and two cores; builds into .build/machine.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
(( $(nproc) >= 2 )) || { echo "machine.sh: needs two cores" >&2; exit 2; }
mkdir -p "$root/.build/machine"
bin=$root/.build/machine/cores
gcc -O2 -std=gnu11 -Wall -Wextra -Werror -pthread "$root/bench/machine/cores.c" -o "$bin"
for i in 1 2 3; do "$bin" transfer; done
for bytes in 1000000 100000000; do
  echo "alone:    $(taskset -c 0 "$bin" loads $bytes)"
  both=$( (taskset -c 0 "$bin" loads $bytes & taskset -c 1 "$bin" loads $bytes; wait) | tr '\n' ' ')
  echo "together: $both"
done
