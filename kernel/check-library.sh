#!/usr/bin/env bash
# Fast drift check: compiles only kernel/corelib + src/SharpMM/**/*.cs with csc -nostdlib into a
# throw-away library (no ilc, no link). Fails, printing the compiler's errors, when the library
# uses something the freestanding corelib does not provide (see corelib/README.md).
set -euo pipefail
source "$(dirname "$0")/tools.sh"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
if ! dotnet "$CSC_DLL" "${CSC_FLAGS[@]}" -target:library -out:"$out/SharpMM.Freestanding.dll" \
        "${CORELIB_SRC[@]}" "${LIBRARY_SRC[@]}"; then
    echo >&2
    echo "check-library: src/SharpMM does not compile against kernel/corelib (see kernel/corelib/README.md)" >&2
    exit 1
fi
echo "check-library: ok (${#LIBRARY_SRC[@]} library files, ${#CORELIB_SRC[@]} corelib files)"
