#!/usr/bin/env bash
# Builds the SharpMM kernel:
#
#   csc -nostdlib  corelib + kernel/src + src/SharpMM  ->  build/SharpMM.Kernel.dll  (one assembly,
#                                                          it is its own System module)
#   ilc            SharpMM.Kernel.dll                  ->  build/SharpMM.Kernel.o    (native x64)
#   as             boot/*.S                            ->  build/*.o
#   ld -T linker.ld                                    ->  build/sharpmm.elf         (DWARF, for addr2line)
#   objcopy -O binary                                  ->  build/sharpmm.bin         (what QEMU -kernel loads)
#
# Restores the pinned ilc package first (kernel/ilc/ilc.csproj). Exits non-zero when any step fails.
# Usage: kernel/build.sh [--quiet]
set -euo pipefail
source "$(dirname "$0")/tools.sh"

QUIET=0
[ "${1:-}" = "--quiet" ] && QUIET=1
say() { [ "$QUIET" = 1 ] || echo "$@"; }

for tool in as ld objcopy; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install binutils)"
done

mkdir -p "$BUILD_DIR"
start_ns=$(date +%s%N)

# 1. ilc, pinned. The restore is a no-op when the package is already in the global package folder.
say "restore: ilc (kernel/ilc/ilc.csproj)"
restore_log="$BUILD_DIR/restore.log"
if ! dotnet restore "$KERNEL_DIR/ilc/ilc.csproj" --verbosity quiet >"$restore_log" 2>&1; then
    cat "$restore_log" >&2
    die "dotnet restore of kernel/ilc failed"
fi
ilc_version="$(sed -n 's:.*<IlcPackageVersion>\(.*\)</IlcPackageVersion>.*:\1:p' "$KERNEL_DIR/ilc/ilc.csproj")"
packages="$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: //p')"
packages="${NUGET_PACKAGES:-${packages:-$HOME/.nuget/packages/}}"
ILC="${packages%/}/runtime.linux-x64.microsoft.dotnet.ilcompiler/$ilc_version/tools/ilc"
[ -x "$ILC" ] || die "ilc not found at $ILC after restore"

# 2. C# -> IL. One assembly: the corelib must be the system module ilc compiles against, and
#    the kernel and library reach its internals (RuntimeExport, MethodTable).
say "csc: corelib (${#CORELIB_SRC[@]}) + kernel (${#KERNEL_SRC[@]}) + library (${#LIBRARY_SRC[@]} files)"
dotnet "$CSC_DLL" "${CSC_FLAGS[@]}" -target:library -optimize+ -debug:embedded \
    -out:"$BUILD_DIR/SharpMM.Kernel.dll" \
    "${CORELIB_SRC[@]}" "${KERNEL_SRC[@]}" "${LIBRARY_SRC[@]}"

# 3. IL -> native object. --nativelib: no managed Main, the entry is the exported kmain.
#    ilc compiles only what kmain reaches (whole-program): library code kmain does not call yet
#    is checked by csc above, not by ilc. --instruction-set x86-64: the original baseline
#    (SSE2); QEMU's default CPU model (qemu64) lacks SSE4.x and POPCNT, which newer defaults assume.
say "ilc: $ILC"
"$ILC" "$BUILD_DIR/SharpMM.Kernel.dll" -o "$BUILD_DIR/SharpMM.Kernel.o" \
    --systemmodule:SharpMM.Kernel --targetos:linux --targetarch:x64 \
    --instruction-set:x86-64 \
    -O --nativelib -g \
    --map:"$BUILD_DIR/SharpMM.Kernel.map.xml"

# 4. Boot stub and helpers: plain GNU as (constants are .equ, no C preprocessor).
objs=()
for s in "$KERNEL_DIR"/boot/*.S; do
    o="$BUILD_DIR/$(basename "${s%.S}").o"
    say "as: $(basename "$s")"
    as --64 -g -o "$o" "$s"
    objs+=("$o")
done

# 5. Link at 1 MiB, then the flat image QEMU loads through the Multiboot a.out kludge.
say "ld: linker.ld"
ld -nostdlib -static -z max-page-size=4096 --no-warn-rwx-segments --orphan-handling=error \
    -T "$KERNEL_DIR/linker.ld" -o "$BUILD_DIR/sharpmm.elf" \
    "${objs[@]}" "$BUILD_DIR/SharpMM.Kernel.o"
objcopy -O binary "$BUILD_DIR/sharpmm.elf" "$BUILD_DIR/sharpmm.bin"

end_ns=$(date +%s%N)
size=$(stat -c %s "$BUILD_DIR/sharpmm.bin")
say "built: kernel/build/sharpmm.bin ($size bytes), kernel/build/sharpmm.elf, in $(( (end_ns - start_ns) / 1000000 )) ms"
