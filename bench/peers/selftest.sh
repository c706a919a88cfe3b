#!/usr/bin/env bash
# Builds the C reference programs (gcc -O2, into a temporary directory) and runs each one's
# self-test: the workloads' published check values and small runs that verify the reference's own
# results (no timings). Ends with "N passed, M failed" summed over the programs.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
command -v gcc >/dev/null || { echo "gcc not found (Debian: apt-get install gcc)"; echo "0 passed, 1 failed"; exit 1; }
bash "$here/build.sh" "$out" >/dev/null || { echo "the C references do not build"; echo "0 passed, 1 failed"; exit 1; }
passed=0 failed=0
for prog in refbuddy refbuddy_pcp refslab refmmu refbuddy_mt; do
  echo "-- $prog selftest"
  result=$("$out/$prog" selftest); rc=$?
  echo "$result"
  line=$(tail -1 <<<"$result")
  if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
    ((rc != 0 && BASH_REMATCH[2] == 0)) && failed=$((failed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
((failed == 0))
