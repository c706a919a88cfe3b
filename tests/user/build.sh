#!/usr/bin/env bash
# Builds the user test programs (tests/user/programs/*.c) as static x86-64 Linux binaries with
# musl-gcc into .build/user/bin (installs Debian's musl-tools when musl-gcc is missing), and, with
# --arch i386, as static i386 binaries with gcc -m32 (glibc: musl has no 32-bit build here) into
# .build/user/bin-i386 (installs gcc-multilib when gcc cannot build for -m32).
set -euo pipefail
if [[ ${1:-} == --arch && ${2:-} == i386 ]]; then
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  out=${USER_BIN_I386:-$root/.build/user/bin-i386}
  probe=$(mktemp -d)
  trap 'rm -rf "$probe"' EXIT
  echo 'int main(void) { return 0; }' >"$probe/t.c"
  if ! gcc -m32 -static -o "$probe/t" "$probe/t.c" >/dev/null 2>&1; then
    echo "== installing gcc-multilib"
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq gcc-multilib >/dev/null
  fi
  mkdir -p "$out"
  for src in "$root"/tests/user/programs/*.c; do
    name=$(basename "$src" .c)
    bin=$out/$name
    if [[ ! -x $bin || $src -nt $bin || $root/tests/user/programs/common.h -nt $bin ]]; then
      gcc -m32 -static -O2 -g -Wall -Wextra -Werror -fno-pie -no-pie -o "$bin" "$src"
    fi
  done
  exit 0
fi
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
