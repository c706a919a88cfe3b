#!/usr/bin/env bash
# Builds the C reference programs with gcc -O2 into OUT (default: .build/peers at the repository
# root), each only when its sources changed, and prints their paths.
#   refbuddy, refbuddy_pcp   pages.c  (W0, W1, W2, W2o9)
#   refslab                  kmalloc.c (W3, W3t, W3h)
#   refmmu                   mmu.c    (W4)
#   refbuddy_mt              mt.c     (W5, W5x: several threads)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here/../../.build/peers}
mkdir -p "$out"
flags=(-O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-function)
build() {   # name, source, extra flags
  local name=$1 source=$2; shift 2
  local newest
  newest=$(ls -t "$here/$source" "$here"/*.h "$here/build.sh" | head -1)
  if [[ ! -x $out/$name || $newest -nt $out/$name ]]; then gcc "${flags[@]}" "$@" "$here/$source" -o "$out/$name"; fi
  echo "$out/$name"
}
build refbuddy pages.c
build refbuddy_pcp pages.c -DWITH_PCP
build refslab kmalloc.c
build refmmu mmu.c
build refbuddy_mt mt.c -pthread
