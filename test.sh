#!/usr/bin/env bash
# Runs every test: the hosted xunit suite, the freestanding compile of the library, the compile of
# the benchmarks and of their C references (with the references' self-tests), the kernel build and
# the QEMU boots, the example kernel that takes the library as a package (examples/minimal-kernel)
# and the HTML reports in headless chromium. Installs what a fresh Debian machine lacks
# (qemu-system-x86, binutils, gcc, musl-tools for the ELF loader's test programs, gcc-multilib for
# the i386 ones, cpio for their native references where this machine cannot run them, the peer mallocs
# jemalloc, mimalloc and tcmalloc; tests/browser/check-report.sh adds chromium and puppeteer-core).
# Ends with one line "N passed, M failed" (N, M summed over all suites); exit status 0 iff M = 0.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

missing=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
{ command -v as && command -v ld && command -v objcopy; } >/dev/null 2>&1 || missing+=(binutils)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
command -v musl-gcc >/dev/null 2>&1 || missing+=(musl-tools)
# gcc -m32 -static (the i386 user programs) needs the 32-bit libc and libgcc of gcc-multilib.
printf 'int main(void){return 0;}' | gcc -m32 -static -x c -o /dev/null - >/dev/null 2>&1 || missing+=(gcc-multilib)
# cpio packs the initramfs in which Debian's Linux runs the i386 programs' native references on
# a machine whose kernel cannot run i386 programs itself (tests/linux/i386-native).
command -v cpio >/dev/null 2>&1 || missing+=(cpio)
# The peer mallocs that bench W3 and trace replay call in-process.
libs=$(/sbin/ldconfig -p)
for peer in libjemalloc.so.2:libjemalloc2 libmimalloc.so.2:libmimalloc2.0 libtcmalloc_minimal.so.4:libtcmalloc-minimal4; do
  grep -qF "${peer%%:*}" <<<"$libs" || missing+=("${peer#*:}")
done
if ((${#missing[@]})); then
  echo "== installing ${missing[*]}"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { echo "could not install ${missing[*]}"; echo "0 passed, 1 failed"; exit 1; }
fi

passed=0 failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# Adds the "N passed, M failed" (or xunit's "Failed: M, Passed: N") counts a suite printed.
count() {
  local out=$1 ok=$2 p f
  if line=$(grep -E '^[[:space:]]*[0-9]+ passed, [0-9]+ failed' "$out" | tail -1) && [[ -n $line ]]; then
    p=$(sed -E 's/^[^0-9]*([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"$line")
    f=$(sed -E 's/^[^0-9]*([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
  elif line=$(grep -E 'Failed: +[0-9]+, Passed: +[0-9]+' "$out" | tail -1) && [[ -n $line ]]; then
    f=$(sed -E 's/.*Failed: +([0-9]+),.*/\1/' <<<"$line")
    p=$(sed -E 's/.*Passed: +([0-9]+),.*/\1/' <<<"$line")
  else
    p=$((ok == 0 ? 1 : 0)); f=$((ok == 0 ? 0 : 1))
  fi
  # A suite that exited non-zero counts as at least one failure.
  if ((ok != 0 && f == 0)); then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
}

suite() {
  local name=$1; shift
  echo "== $name"
  "$@" 2>&1 | tee "$log/out"
  local rc=${PIPESTATUS[0]}
  count "$log/out" "$rc"
  echo "== $name: exit $rc"
}

suite "hosted tests (xunit)" dotnet test tests/SharpMM.Tests/SharpMM.Tests.csproj -c Release --nologo
suite "library compiles freestanding (csc -nostdlib, kernel corelib)" bash kernel/check-library.sh
suite "benchmarks compile (BenchmarkDotNet project, not run)" dotnet build bench/SharpMM.Benchmarks/SharpMM.Benchmarks.csproj -c Release --nologo -v q
suite "C benchmark references build and pass their self-tests (gcc, no timings)" bash bench/peers/selftest.sh
suite "kernel build and QEMU boots" bash kernel/test.sh
suite "user programs (musl-gcc -static): native twice, then ./sharpmm qemu --run, compared byte for byte" bash tests/user/run.sh
suite "user programs on i386 (gcc -m32 -static): native (tests/linux/i386-native) twice, then ./sharpmm qemu --arch i386 --run, compared byte for byte" bash tests/user/run.sh --arch i386
suite "example kernel: SharpMM package, MSBuild, ilc, QEMU boot" bash examples/minimal-kernel/build-and-boot.sh
suite "HTML reports in headless chromium (sections, charts, figures = JSON; screenshots in .build/browser)" bash tests/browser/check-report.sh

echo "$passed passed, $failed failed"
((failed == 0))
