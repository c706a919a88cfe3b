#!/usr/bin/env bash
# The browser check of `sharpmm report`: generates each kind of report with the JSON of the same
# run, opens each in headless chromium (Debian's, installed when missing) driven by puppeteer-core
# (from npm, into .build/browser), and fails on any console error or failed resource, or when a
# section, a chart or a figure differs from the JSON (check-report.js). Keeps each page's DOM and
# a full-page screenshot in .build/browser/. Ends with "N passed, M failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=.build/browser
mkdir -p "$out"
fail() { echo "browser check: $*"; echo "0 passed, 1 failed"; exit 1; }

sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing chromium"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null || fail "could not install chromium"
fi
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || {
  echo "== installing nodejs and npm"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null || fail "could not install node"
}
if ! cmp -s tests/browser/package.json "$out/package.json" || [[ ! -d $out/node_modules/puppeteer-core ]]; then
  cp tests/browser/package.json "$out/package.json"
  # The system chromium is driven; puppeteer must not fetch a browser of its own.
  (cd "$out" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --silent) || fail "npm install puppeteer-core failed"
fi

run() { ./sharpmm "$@" || fail "sharpmm $* failed (exit $?)"; }
# Each case: a report and the JSON documents of the same figures (the same run where the
# command writes both, else a run of the same deterministic boot).
run report --mem 6G --machine q35 -o "$out/physical.html" >/dev/null
run boot --mem 6G --machine q35 --json >"$out/physical.boot.json"
# A real machine's map (ACPI data and NVS ranges, holes): the e820 lines of a laptop's dmesg.
map=tests/SharpMM.Tests/Maps/laptop-uefi.log
run report --map "$map" -o "$out/laptop.html" >/dev/null
run boot --map "$map" --json >"$out/laptop.boot.json"
run boot --layout x86_64 --json --report "$out/boot-x86_64.html" >"$out/boot-x86_64.boot.json"
run pagetable --layout x86_64 --json >"$out/boot-x86_64.pagetable.json"
run report --layout i386-higher-half --workload memory-hog -o "$out/layout-workload.html" >/dev/null
run boot --layout i386-higher-half --json >"$out/layout-workload.boot.json"
run pagetable --layout i386-higher-half --json >"$out/layout-workload.pagetable.json"
run workload fork-server --scale 0.2 --json --report "$out/workload.html" >"$out/workload.workload.json"
# Trace replays over time: a recorded page run drawn by `report --trace` (the replay is
# deterministic, so a second replay gives the JSON's figures), the same run by `bench --report`,
# a heap run by `trace replay --report`, and a user workload's pages mapped and unmapped and its
# mm_struct cache events.
run trace record W2o9 --scale 0.02 -o "$out/w2o9.trace" >/dev/null
run report --trace "$out/w2o9.trace" -o "$out/trace.html" >/dev/null
run trace replay "$out/w2o9.trace" --allocator buddy --json >"$out/trace.replay.json"
run bench W2o9 --scale 0.02 --reps 1 --report "$out/bench.html" >/dev/null
run trace record W3 --scale 0.002 -o "$out/w3.trace" >/dev/null
run trace replay "$out/w3.trace" --allocator kmalloc --json --report "$out/trace-kmalloc.html" >"$out/trace-kmalloc.replay.json"
run trace record fork-server --scale 0.02 --debug-heap -o "$out/user.trace" >/dev/null
run trace replay "$out/user.trace" --allocator buddy --json --report "$out/trace-user.html" >"$out/trace-user.replay.json"

node tests/browser/check-report.js "$(realpath "$out")" "$(command -v chromium)" \
  "physical:$out/physical.html:$out/physical.boot.json" \
  "laptop:$out/laptop.html:$out/laptop.boot.json" \
  "boot-x86_64:$out/boot-x86_64.html:$out/boot-x86_64.boot.json,$out/boot-x86_64.pagetable.json" \
  "layout-workload:$out/layout-workload.html:$out/layout-workload.boot.json,$out/layout-workload.pagetable.json" \
  "workload:$out/workload.html:$out/workload.workload.json" \
  "trace:$out/trace.html:$out/trace.replay.json" \
  "bench:$out/bench.html:$out/trace.replay.json" \
  "trace-kmalloc:$out/trace-kmalloc.html:$out/trace-kmalloc.replay.json" \
  "trace-user:$out/trace-user.html:$out/trace-user.replay.json"
