# Shared by build.sh and check-library.sh: locates csc and the C# inputs. Sourced, not run.
#
#   ARCH         x86_64 (default) or i386; set it before sourcing
#   KERNEL_DIR   this folder          REPO_DIR   the repository root
#   ARCH_DIR     arch/$ARCH: boot stub, linker script, interrupt entry, CPU glue
#   BUILD_DIR    build/$ARCH
#   CSC          command prefix that runs the SDK's Roslyn compiler
#   CORELIB_SRC, LIBRARY_SRC, KERNEL_SRC   newline-free lists of .cs files (bash arrays);
#                KERNEL_SRC is the shared kernel (src/, tests/) plus arch/$ARCH and tests/$ARCH

KERNEL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$KERNEL_DIR/.." && pwd)"
ARCH="${ARCH:-x86_64}"

die() { echo "error: $*" >&2; exit 1; }

case "$ARCH" in x86_64|i386) ;; *) die "unknown architecture '$ARCH' (x86_64 or i386)" ;; esac
ARCH_DIR="$KERNEL_DIR/arch/$ARCH"
BUILD_DIR="$KERNEL_DIR/build/$ARCH"

command -v dotnet >/dev/null || die "dotnet not found on PATH"

# The newest installed SDK (dotnet --list-sdks prints "10.0.401 [/usr/share/dotnet/sdk]").
find_csc() {
    local line ver dir
    line="$(dotnet --list-sdks | sort -V | tail -n 1)"
    [ -n "$line" ] || die "no .NET SDK installed (dotnet --list-sdks is empty)"
    ver="${line%% *}"
    dir="${line#*[}"; dir="${dir%]}"
    CSC_DLL="$dir/$ver/Roslyn/bincore/csc.dll"
    [ -f "$CSC_DLL" ] || die "csc.dll not found at $CSC_DLL"
}
find_csc

# Options shared by every freestanding compile: no mscorlib/System.Runtime reference (the corelib
# is compiled in), unsafe code, warnings that matter as errors.
CSC_FLAGS=(
    -nologo -noconfig -nostdlib+ -unsafe+ -langversion:latest
    -runtimemetadataversion:v4.0.30319
    -nowarn:CS1591,CS0649,CS0169,CS8500,CS0660,CS0661
    -warnaserror+
)

mapfile -t CORELIB_SRC < <(find "$KERNEL_DIR/corelib" -name '*.cs' | sort)
mapfile -t LIBRARY_SRC < <(find "$REPO_DIR/src/SharpMM" -name '*.cs' -not -path '*/obj/*' -not -path '*/bin/*' | sort)
mapfile -t KERNEL_SRC < <({ find "$KERNEL_DIR/src" "$ARCH_DIR" -name '*.cs'
                            find "$KERNEL_DIR/tests" -maxdepth 1 -name '*.cs'
                            [ -d "$KERNEL_DIR/tests/$ARCH" ] && find "$KERNEL_DIR/tests/$ARCH" -name '*.cs'; } | sort)
