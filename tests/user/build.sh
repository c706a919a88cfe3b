#!/usr/bin/env bash
# Builds the user test programs (tests/user/programs/*.c) as static x86-64 Linux binaries with
# musl-gcc into .build/user/bin (installs Debian's musl-tools when musl-gcc is missing).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${USER_BIN:-$root/.build/user/bin}
if ! command -v musl-gcc >/dev/null 2>&1; then
  echo "== installing musl-tools"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq musl-tools >/dev/null
fi
mkdir -p "$out"
for src in "$root"/tests/user/programs/*.c; do
  name=$(basename "$src" .c)
  bin=$out/$name
  if [[ ! -x $bin || $src -nt $bin || $root/tests/user/programs/common.h -nt $bin ]]; then
    musl-gcc -static -O2 -g -Wall -Wextra -Werror -fno-pie -no-pie -o "$bin" "$src"
  fi
done
