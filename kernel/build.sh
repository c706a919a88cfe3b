#!/usr/bin/env bash
# Builds the SharpMM kernel for one architecture (x86_64 by default):
#
#   csc -nostdlib  corelib + kernel/src + kernel/tests + kernel/arch/ARCH + kernel/tests/ARCH
#                  + src/SharpMM                   ->  build/ARCH/SharpMM.Kernel.dll  (one assembly,
#                                                      it is its own System module)
#   ilc            SharpMM.Kernel.dll              ->  x86_64: SharpMM.Kernel.o   (ELF, native x64)
#                                                      i386:   SharpMM.Kernel.obj (i386 COFF), its
#                                                      REL32 fields given their symbols' offsets
#                                                      (tools/coff-rel32.cs, dotnet run)
#   as             arch/ARCH/*.S                   ->  build/ARCH/*.o
#   ld -T arch/ARCH/linker.ld                      ->  build/ARCH/sharpmm.elf
#   x86_64: objcopy -O binary                      ->  build/x86_64/sharpmm.bin (what QEMU -kernel
#           loads through the Multiboot a.out kludge); i386: QEMU loads sharpmm.elf (ELF32) itself
#
# Restores the pinned ilc package first (kernel/ilc/ilc.csproj). Exits non-zero when any step fails.
# Usage: kernel/build.sh [--arch x86_64|i386] [--quiet]
set -euo pipefail

QUIET=0
ARCH=x86_64
while [ $# -gt 0 ]; do
    case "$1" in
        --quiet) QUIET=1; shift ;;
        --arch) ARCH="$2"; shift 2 ;;
        *) echo "build.sh: unknown argument $1" >&2; exit 1 ;;
    esac
done
source "$(dirname "$0")/tools.sh"
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
say "csc ($ARCH): corelib (${#CORELIB_SRC[@]}) + kernel (${#KERNEL_SRC[@]}) + library (${#LIBRARY_SRC[@]} files)"
dotnet "$CSC_DLL" "${CSC_FLAGS[@]}" -target:library -optimize+ -debug:embedded \
    -out:"$BUILD_DIR/SharpMM.Kernel.dll" \
    "${CORELIB_SRC[@]}" "${KERNEL_SRC[@]}" "${LIBRARY_SRC[@]}"

# 3. IL -> native object. --nativelib: no managed Main, the entry is the exported kmain.
#    ilc compiles only what kmain reaches (whole-program): library code kmain does not call yet
#    is checked by csc above, not by ilc.
#    x86_64: --instruction-set x86-64 is the original baseline (SSE2); QEMU's default CPU model
#    (qemu64) lacks SSE4.x and POPCNT, which newer defaults assume.
#    i386: the package has a JIT for win-x86 but none for unix-x86, so the object is i386 COFF
#    (Windows target), which GNU ld links into the ELF32 kernel as it is. The code uses the
#    managed x86 calling convention (arg0 ecx, arg1 edx, the rest on the stack, callee pops);
#    arch/i386/*.S follows it. -g would be CodeView (no DWARF for addr2line), so it is left out.
case "$ARCH" in
    x86_64) OBJ="$BUILD_DIR/SharpMM.Kernel.o"
            ilc_target=(--targetos:linux --targetarch:x64 --instruction-set:x86-64 -g)
            as_flags=(--64 -g); ld_flags=() ;;
    i386)   OBJ="$BUILD_DIR/SharpMM.Kernel.obj"
            ilc_target=(--targetos:windows --targetarch:x86)
            as_flags=(--32 -g); ld_flags=(-m elf_i386 -z noexecstack) ;;
esac
say "ilc: $ILC"
"$ILC" "$BUILD_DIR/SharpMM.Kernel.dll" -o "$OBJ" \
    --systemmodule:SharpMM.Kernel "${ilc_target[@]}" \
    -O --nativelib \
    --map:"$BUILD_DIR/SharpMM.Kernel.map.xml"
# i386: GNU ld resolves a COFF REL32 relocation against a symbol defined in the same object to
# the start of the symbol's section (the symbol's offset is lost): the relative pointers of GC
# static blocks and MethodTables would point at the wrong place. tools/coff-rel32.cs adds each
# such symbol's offset to the field the relocation patches, which gives ld's result the offset back.
if [ "$ARCH" = i386 ]; then
    say "coff-rel32: $(basename "$OBJ")"
    fixed="$(dotnet run "$KERNEL_DIR/tools/coff-rel32.cs" -- "$OBJ")" || { echo "build.sh: coff-rel32 failed on $OBJ" >&2; exit 1; }
    say "$fixed"
fi

# 4. Boot stub and helpers: plain GNU as (constants are .equ, no C preprocessor).
objs=()
for s in "$ARCH_DIR"/*.S; do
    o="$BUILD_DIR/$(basename "${s%.S}").o"
    say "as: arch/$ARCH/$(basename "$s")"
    as "${as_flags[@]}" -I "$ARCH_DIR" -o "$o" "$s"
    objs+=("$o")
done

# 5. Link at 1 MiB physical (i386: 0xC0100000 virtual).
say "ld: arch/$ARCH/linker.ld"
ld "${ld_flags[@]}" -nostdlib -static -z max-page-size=4096 --no-warn-rwx-segments --orphan-handling=error \
    -T "$ARCH_DIR/linker.ld" -o "$BUILD_DIR/sharpmm.elf" \
    "${objs[@]}" "$OBJ"
IMAGE="$BUILD_DIR/sharpmm.elf"

# 6. i386 only: the same objects linked for the other layouts, layout=low-2g (the kernel at
#    0x80000000 + phys, direct map up to 0xF8000000) and layout=phantom (the kernel at its physical
#    address, direct = identity map up to 0x40000000). An image runs only at the address it is
#    linked at, so each layout's base is its own link; the assembly takes the base as KERNEL_VMA
#    and the direct map's end as DIRECT_MAP_END, the managed object is relocated by ld as it is.
if [ "$ARCH" = i386 ]; then
    for variant in "low-2g 0x80000000 0xF8000000" "phantom 0x00000000 0x40000000"; do
        read -r name vma dmend <<<"$variant"
        VAR_DIR="$BUILD_DIR/$name"
        mkdir -p "$VAR_DIR"
        var_objs=()
        for s in "$ARCH_DIR"/*.S; do
            o="$VAR_DIR/$(basename "${s%.S}").o"
            as "${as_flags[@]}" --defsym KERNEL_VMA="$vma" --defsym DIRECT_MAP_END="$dmend" -o "$o" "$s"
            var_objs+=("$o")
        done
        sed "s/^KERNEL_VMA = 0xC0000000;\$/KERNEL_VMA = $vma;/" "$ARCH_DIR/linker.ld" >"$VAR_DIR/linker.ld"
        grep -q "^KERNEL_VMA = $vma;\$" "$VAR_DIR/linker.ld" || { echo "build.sh: linker.ld has no 'KERNEL_VMA = 0xC0000000;' line" >&2; exit 1; }
        say "ld: arch/$ARCH/linker.ld at $vma (layout=$name)"
        ld "${ld_flags[@]}" -nostdlib -static -z max-page-size=4096 --no-warn-rwx-segments --orphan-handling=error \
            -T "$VAR_DIR/linker.ld" -o "$BUILD_DIR/sharpmm-$name.elf" \
            "${var_objs[@]}" "$OBJ"
    done
fi
if [ "$ARCH" = x86_64 ]; then
    objcopy -O binary "$BUILD_DIR/sharpmm.elf" "$BUILD_DIR/sharpmm.bin"
    IMAGE="$BUILD_DIR/sharpmm.bin"
fi

end_ns=$(date +%s%N)
size=$(stat -c %s "$IMAGE")
say "built: ${IMAGE#$REPO_DIR/} ($size bytes) in $(( (end_ns - start_ns) / 1000000 )) ms"
