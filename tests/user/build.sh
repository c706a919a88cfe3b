#!/usr/bin/env bash
# Builds the user test programs (tests/user/programs/*.c) as static x86-64 Linux binaries with
# musl-gcc into .build/user/bin (installs Debian's musl-tools when musl-gcc is missing), and, with
# --arch i386, as static i386 binaries with gcc -m32 (glibc: musl has no 32-bit build here) into
# .build/user/bin-i386 (installs gcc-multilib when gcc cannot build for -m32).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

install() { # Debian package
  echo "== installing $1"
  local sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1" >/dev/null
}

build_all() { # output directory, then the compiler command (the source and -o BIN follow it)
  local out=$1; shift
  mkdir -p "$out"
  for src in "$root"/tests/user/programs/*.c; do
    local bin=$out/$(basename "$src" .c)
    if [[ ! -x $bin || $src -nt $bin || $root/tests/user/programs/common.h -nt $bin ]]; then
      "$@" -static -O2 -g -Wall -Wextra -Werror -fno-pie -no-pie -o "$bin" "$src"
    fi
  done
}

if [[ ${1:-} == --arch && ${2:-} == i386 ]]; then
  probe=$(mktemp -d)
  trap 'rm -rf "$probe"' EXIT
  echo 'int main(void) { return 0; }' >"$probe/t.c"
  gcc -m32 -static -o "$probe/t" "$probe/t.c" >/dev/null 2>&1 || install gcc-multilib
  build_all "${USER_BIN_I386:-$root/.build/user/bin-i386}" gcc -m32
  exit 0
fi
command -v musl-gcc >/dev/null 2>&1 || install musl-tools
build_all "${USER_BIN:-$root/.build/user/bin}" musl-gcc
