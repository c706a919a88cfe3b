#!/usr/bin/env bash
# Runs the user test programs (tests/user/programs) natively and under the SharpMM kernel and
# compares them: stdout, stderr and exit status must be identical byte for byte, and the kernel
# must report every frame back after the run (SHARPMM-RUN's frames_back).
#
# Usage: tests/user/run.sh [--arch x86_64|i386] [--native-only] [--skip-unavailable] [--sharpmm PATH]
#                          [--mem SIZE] [--timeout SECONDS] [CASE...]
#   --arch i386         the same programs built with gcc -m32 -static, run natively as under
#                       `setarch i386 -3 -L -R` (a 3 GiB user space and the legacy bottom-up mmap
#                       layout from 0x40000000: the classic i386 layout the i386 kernel gives;
#                       tests/linux/i386-native, which boots Debian's Linux in QEMU for it where
#                       this machine's kernel cannot run i386 programs) and
#                       under `sharpmm qemu --arch i386`; page-out is left out (that kernel has no
#                       backing store). Results in .build/user/results-i386/.
#   --native-only       only check the programs themselves: each runs natively twice, the two runs
#                       must agree (the output is deterministic) and end with the expected status.
#   --skip-unavailable  if `PATH qemu --run` does not exist yet, print
#                       "skipped: ./sharpmm qemu --run not available" and check natively only;
#                       without this flag a missing --run is a failure.
#   --sharpmm PATH      the sharpmm command (default: ./sharpmm of this repository).
#   --mem SIZE          guest RAM for the SharpMM runs (default 64M: page-out then needs the
#                       backing store).
#   --timeout SECONDS   longest run of one program under SharpMM (default 900).
#   CASE...             run only these cases (names from the table below).
# Results go to .build/user/results/CASE/ (native.out, native.err, native.status, sharpmm.*,
# sharpmm.log). Ends with "N passed, M failed"; exit status 0 iff M = 0.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${USER_BIN:-$root/.build/user/bin}
results=$root/.build/user/results

native_only=0 skip_unavailable=0 sharpmm=$root/sharpmm mem=64M timeout=900 arch=x86_64
only=()
while (($#)); do
  case $1 in
    --arch) arch=$2; shift 2 ;;
    --native-only) native_only=1; shift ;;
    --skip-unavailable) skip_unavailable=1; shift ;;
    --sharpmm) sharpmm=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) only+=("$1"); shift ;;
  esac
done

# The cases: name | program | arguments | file given to the program (its guest path is the first
# argument, written @FILE) | expected exit status. The file is one of the repository's own sources,
# so both runs read the same bytes.
input=$root/tests/user/programs/fuzz.c
cases=(
  "malloc-churn|malloc-churn|1 10000||0"
  "mmap-edges|mmap-edges|||0"
  "fork-cow|fork-cow|||0"
  "stack-growth|stack-growth|7||0"
  "page-out|page-out|128||0"
  "null-deref|null-deref|||139"
  "write-efault|write-efault|||0"
  "prot-none|prot-none|||139"
  "mmap-enomem|mmap-enomem|||0"
  "file-map|file-map|@FILE|$input|0"
  "brk|brk|||0"
  "fuzz-seed1|fuzz|1 100000||0"
  "fuzz-seed2|fuzz|2 20000||0"
)

# i386: its binaries, results and native runner (see --arch above); no page-out case.
native_prefix=() arch_option=()
case $arch in
  x86_64) ;;
  i386)
    bin=${USER_BIN_I386:-$root/.build/user/bin-i386}
    results=$root/.build/user/results-i386
    native_prefix=("$root/tests/linux/i386-native")
    arch_option=(--arch i386)
    kept=()
    for line in "${cases[@]}"; do [[ ${line%%|*} == page-out ]] || kept+=("$line"); done
    cases=("${kept[@]}") ;;
  *) echo "run.sh: --arch must be x86_64 or i386" >&2; exit 2 ;;
esac

selected() {
  ((${#only[@]} == 0)) && return 0
  local c
  for c in "${only[@]}"; do [[ $c == "$1" ]] && return 0; done
  return 1
}
for c in "${only[@]}"; do
  found=0
  for line in "${cases[@]}"; do [[ ${line%%|*} == "$c" ]] && found=1; done
  ((found)) || { echo "run.sh: no case named $c" >&2; exit 2; }
done

if [[ $arch == i386 ]]; then echo "== building the programs (gcc -m32 -static)"; else echo "== building the programs (musl-gcc -static)"; fi
if ! bash "$root/tests/user/build.sh" "${arch_option[@]}"; then
  echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi

# Whether the sharpmm command can run a program: its `qemu --help` lists --run.
if ((!native_only)); then
  if ! help=$("$sharpmm" qemu --help 2>&1) || ! grep -q -- '--run' <<<"$help"; then
    if ((skip_unavailable)); then
      echo "skipped: ./sharpmm qemu --run not available"
      native_only=1
    else
      echo "$sharpmm qemu --run is not available (use --native-only to check the programs alone," \
        "or --skip-unavailable to skip the SharpMM runs explicitly)"
      echo "0 passed, 1 failed"
      exit 1
    fi
  fi
  timeout_option=()
  grep -q -- '--timeout' <<<"${help:-}" && timeout_option=(--timeout "$timeout")
fi

passed=0 failed=0
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# Runs the program natively into DIR/PREFIX.{out,err,status}.
run_native() {
  local dir=$1 prefix=$2 program=$3; shift 3
  # The braces take bash's own "Segmentation fault" notice away from the report; the program's
  # stderr goes to its file.
  { "${native_prefix[@]}" "$bin/$program" "$@" >"$dir/$prefix.out" 2>"$dir/$prefix.err" </dev/null; } 2>/dev/null
  echo $? >"$dir/$prefix.status"
}

show_diff() {
  diff -u --label "native $2" --label "sharpmm $2" "$1/native.$2" "$1/sharpmm.$2" | head -40
}

for line in "${cases[@]}"; do
  IFS='|' read -r name program args file status <<<"$line"
  selected "$name" || continue
  dir=$results/$name
  rm -rf "$dir"; mkdir -p "$dir"
  read -r -a argv <<<"$args"
  native_argv=() guest_argv=() file_options=()
  for a in "${argv[@]}"; do
    if [[ $a == @FILE ]]; then
      native_argv+=("$file"); guest_argv+=("/$(basename "$file")"); file_options+=(--file "$file")
    else
      native_argv+=("$a"); guest_argv+=("$a")
    fi
  done

  run_native "$dir" native "$program" "${native_argv[@]}"
  run_native "$dir" native2 "$program" "${native_argv[@]}"
  got=$(cat "$dir/native.status")
  if ! cmp -s "$dir/native.out" "$dir/native2.out" || ! cmp -s "$dir/native.err" "$dir/native2.err" \
      || ! cmp -s "$dir/native.status" "$dir/native2.status"; then
    fail "$name" "two native runs differ (the program's output is not deterministic)"
    diff -u "$dir/native.out" "$dir/native2.out" | head -20
    continue
  fi
  if [[ $got != "$status" ]]; then
    fail "$name" "native exit status $got, expected $status"
    tail -5 "$dir/native.out" "$dir/native.err"
    continue
  fi
  if ((native_only)); then
    echo "PASS $name (native, exit $got, deterministic)"; passed=$((passed + 1)); continue
  fi

  start=$(date +%s)
  "$sharpmm" qemu "${arch_option[@]}" --mem "$mem" "${timeout_option[@]}" "${file_options[@]}" --log "$dir/sharpmm.log" \
    --run "$bin/$program" "${guest_argv[@]}" >"$dir/sharpmm.out" 2>"$dir/sharpmm.err" </dev/null
  echo $? >"$dir/sharpmm.status"
  seconds=$(($(date +%s) - start))
  # The command may add its own lines to stderr after the program's (the log's path); --log is
  # given, so any such line is a difference worth seeing.
  problems=()
  cmp -s "$dir/native.out" "$dir/sharpmm.out" || problems+=(stdout)
  cmp -s "$dir/native.err" "$dir/sharpmm.err" || problems+=(stderr)
  cmp -s "$dir/native.status" "$dir/sharpmm.status" || problems+=("exit status $(cat "$dir/sharpmm.status"), native $got")
  # Every frame the program's processes used (pages, page tables, kernel stacks) is free again.
  grep -q '^SHARPMM-RUN .*"frames_back":true' "$dir/sharpmm.log" 2>/dev/null || problems+=("no SHARPMM-RUN line with frames_back true in the kernel log")
  if ((${#problems[@]} == 0)); then
    echo "PASS $name (exit $got, ${seconds}s under SharpMM)"; passed=$((passed + 1))
  else
    fail "$name" "$(IFS=,; echo "${problems[*]}") differ (${seconds}s; files in $dir)"
    cmp -s "$dir/native.out" "$dir/sharpmm.out" || show_diff "$dir" out
    cmp -s "$dir/native.err" "$dir/sharpmm.err" || show_diff "$dir" err
    echo "  kernel log ($dir/sharpmm.log), last lines:"
    tail -8 "$dir/sharpmm.log" 2>/dev/null | sed 's/^/    /'
  fi
done

echo "$passed passed, $failed failed"
((failed == 0))
