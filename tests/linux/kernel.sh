#!/usr/bin/env bash
# Prints the path of Debian's cloud kernel (vmlinuz), the Linux that runs beside SharpMM in QEMU
# (bench/user-vs-linux) and stands in for this machine's kernel where it cannot run i386
# programs (tests/linux/i386-native). The package linux-image-cloud-amd64 depends on is fetched
# once with apt-get download and unpacked with dpkg-deb into .build/linux: never installed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$root/.build/linux
vmlinuz=$(ls "$out"/unpacked/boot/vmlinuz-* 2>/dev/null | head -1 || true)
if [[ -z $vmlinuz ]]; then
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')
  if [[ -z $pkg ]]; then
    apt-get update -qq >&2
    pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ { print $2; exit }')
  fi
  [[ -n $pkg ]] || { echo "kernel.sh: no package behind linux-image-cloud-amd64 (apt-get update?)" >&2; exit 1; }
  echo "== fetching $pkg (apt-get download, dpkg-deb -x into $out/unpacked)" >&2
  mkdir -p "$out"
  (cd "$out" && rm -f linux-image-*.deb && apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
  rm -rf "$out/unpacked"
  dpkg-deb -x "$out/${pkg}"_*.deb "$out/unpacked"
  rm -f "$out"/linux-image-*.deb
  vmlinuz=$(ls "$out"/unpacked/boot/vmlinuz-* | head -1)
fi
echo "$vmlinuz"
