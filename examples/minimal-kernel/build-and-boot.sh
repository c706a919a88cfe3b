#!/usr/bin/env bash
# Builds the minimal kernel the way another kernel would take SharpMM, then boots it:
#
#   dotnet pack src/SharpMM            -> .build/minimal-kernel/feed/SharpMM.0.1.0.nupkg
#   dotnet build MinimalKernel.csproj  -> MinimalKernel.dll (corelib + package sources + Kmain.cs,
#                                         restored from that feed, nuget.config)
#   ilc (10.0.10, kernel/ilc/ilc.csproj's pin) -> MinimalKernel.o
#   as boot.S, ld -T linker.ld, objcopy -O binary -> minimal-kernel.bin
#   qemu-system-x86_64 -kernel minimal-kernel.bin, serial on stdout, isa-debug-exit
#
# Passes (exit 0) when QEMU exits with status 33 (every check passed) and serial ends with
# "N passed, 0 failed"; prints that line last. Needs dotnet (SDK 10), binutils, qemu-system-x86.
# Usage: examples/minimal-kernel/build-and-boot.sh [--mem 128M]
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OUT="$REPO/.build/minimal-kernel"
MEM=128M
while [ $# -gt 0 ]; do
    case "$1" in
        --mem) MEM="$2"; shift 2 ;;
        *) echo "build-and-boot.sh: unknown argument $1" >&2; exit 1 ;;
    esac
done
die() { echo "error: $*" >&2; exit 1; }
for tool in dotnet as ld objcopy qemu-system-x86_64; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
mkdir -p "$OUT"

# 1. The package, into the local feed. The example's own packages folder is emptied of SharpMM
#    so that restore takes this build's package, not one cached from an older tree.
echo "pack: src/SharpMM -> ${OUT#$REPO/}/feed"
dotnet pack "$REPO/src/SharpMM" -c Release -o "$OUT/feed" --nologo -v q >"$OUT/pack.log" 2>&1 || { cat "$OUT/pack.log" >&2; die "dotnet pack failed"; }
rm -rf "$OUT/packages/sharpmm"

# 2. The kernel assembly, through MSBuild with the PackageReference.
echo "build: examples/minimal-kernel/MinimalKernel.csproj (PackageReference SharpMM, SharpMMCompileSources)"
dotnet build "$HERE/MinimalKernel.csproj" -c Release --nologo -v q >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log" >&2; die "dotnet build failed"; }
DLL="$(dotnet msbuild "$HERE/MinimalKernel.csproj" -p:Configuration=Release -getProperty:TargetPath)"
[ -f "$DLL" ] || die "the build produced no $DLL"

# 3. ilc, the repository's pinned version (the corelib implements that version's contracts).
dotnet restore "$REPO/kernel/ilc/ilc.csproj" --verbosity quiet >"$OUT/ilc-restore.log" 2>&1 || { cat "$OUT/ilc-restore.log" >&2; die "restoring ilc failed"; }
ilc_version="$(sed -n 's:.*<IlcPackageVersion>\(.*\)</IlcPackageVersion>.*:\1:p' "$REPO/kernel/ilc/ilc.csproj")"
# The global packages folder as kernel/ilc sees it (from here, this folder's nuget.config would answer).
packages="$(cd "$REPO/kernel/ilc" && dotnet nuget locals global-packages --list | sed -n 's/^global-packages: //p')"
packages="${NUGET_PACKAGES:-${packages:-$HOME/.nuget/packages/}}"
ILC="${packages%/}/runtime.linux-x64.microsoft.dotnet.ilcompiler/$ilc_version/tools/ilc"
[ -x "$ILC" ] || die "ilc not found at $ILC"
echo "ilc $ilc_version: MinimalKernel.dll -> MinimalKernel.o"
# --nativelib: no managed Main, the entry is the exported kmain. x86-64 baseline: QEMU's default
# CPU model lacks the newer instruction sets.
"$ILC" "$DLL" -o "$OUT/MinimalKernel.o" --systemmodule:MinimalKernel \
    --targetos:linux --targetarch:x64 --instruction-set:x86-64 -O --nativelib

# 4. Boot stub and link; QEMU's Multiboot 1 loader takes the flat binary (boot.S explains why).
echo "as, ld, objcopy -> ${OUT#$REPO/}/minimal-kernel.bin"
as --64 -o "$OUT/boot.o" "$HERE/boot.S"
ld -nostdlib -static -z max-page-size=4096 --no-warn-rwx-segments --orphan-handling=error \
    -T "$HERE/linker.ld" -o "$OUT/minimal-kernel.elf" "$OUT/boot.o" "$OUT/MinimalKernel.o"
objcopy -O binary "$OUT/minimal-kernel.elf" "$OUT/minimal-kernel.bin"

# 5. Boot.
echo "qemu-system-x86_64 -m $MEM"
set +e
timeout 60 qemu-system-x86_64 -kernel "$OUT/minimal-kernel.bin" -m "$MEM" -display none -no-reboot \
    -serial stdio -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 | tee "$OUT/serial.log"
status=${PIPESTATUS[0]}
set -e
summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$OUT/serial.log" | tail -n 1)"
if [ "$status" -ne 33 ] || [ -z "$summary" ]; then
    echo "minimal kernel: QEMU exit status $status (33 = every check passed)" >&2
    echo "${summary:-0 passed, 1 failed}"
    exit 1
fi
echo "$summary"
