#!/usr/bin/env bash
# SharpMM against Linux on the same emulator: each benchmark program (programs/*.c, one static
# musl binary) runs under Debian's cloud kernel and under `./sharpmm qemu --run`, interleaved, one
# CPU, QEMU TCG with the same CPU model and RAM; prints the medians of every figure the programs
# report and the ratio SharpMM/Linux.
#
# Usage: bench/user-vs-linux/run.sh [ROUNDS] [--linux-only] [--only PROGRAM]
#   ROUNDS        rounds per program and kernel (default 3).
#   --linux-only  measure Linux alone (also chosen, with a note, when ./sharpmm qemu --run does not
#                 exist yet).
#   --only NAME   one program (mmap-churn, first-touch, first-touch-thp, fork-cow, brk).
# The Linux kernel is Debian's linux-image-cloud-amd64, fetched with apt-get download and unpacked
# with dpkg-deb into .build/linux by tests/linux/kernel.sh (never installed). Raw results: .build/user-vs-linux/results.txt.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/.build/user-vs-linux
rounds=3 linux_only=0 only=""
while (($#)); do
  case $1 in
    --linux-only) linux_only=1; shift ;;
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    [0-9]*) rounds=$1; shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

# name | binary | arguments. first-touch-thp leaves Linux its transparent huge pages (the Debian
# kernel's default is "always"): one fault per 2 MiB there, shown for reference.
programs=(
  "mmap-churn|mmap-churn|20000 400"
  "first-touch|first-touch|256"
  "first-touch-thp|first-touch|256 thp"
  "fork-cow|fork-cow|128 4"
  "brk|brk|8 64"
)
mem=512M
cpu=max      # what `sharpmm qemu --run` gives its kernel (SMEP, SMAP); Linux gets the same model

need=()
command -v musl-gcc >/dev/null || need+=(musl-tools)
command -v cpio >/dev/null || need+=(cpio)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
if ((${#need[@]})); then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

mkdir -p "$out/bin"
for src in "$here"/programs/*.c "$here"/init.c; do
  bin=$out/bin/$(basename "$src" .c)
  if [[ ! -x $bin || $src -nt $bin || $here/programs/bench.h -nt $bin ]]; then
    musl-gcc -static -O2 -Wall -Wextra -Werror -I"$here/programs" -o "$bin" "$src"
  fi
done

# Debian's cloud kernel, unpacked, not installed (tests/linux/kernel.sh).
vmlinuz=$("$root/tests/linux/kernel.sh")
linux_version=$(basename "$vmlinuz" | sed 's/^vmlinuz-//')

# The initramfs: /init and the programs under /bench.
rm -rf "$out/initramfs" && mkdir -p "$out/initramfs/bench"
cp "$out/bin/init" "$out/initramfs/init"
for p in "${programs[@]}"; do IFS='|' read -r _ bin _ <<<"$p"; cp "$out/bin/$bin" "$out/initramfs/bench/"; done
(cd "$out/initramfs" && find . | cpio -o -H newc --quiet) >"$out/initramfs.cpio"

if ((!linux_only)); then
  if ! "$root/sharpmm" qemu --help 2>&1 | grep -q -- '--run'; then
    echo "note: ./sharpmm qemu --run is not available: Linux only"
    linux_only=1
  fi
fi

results=$out/results.txt
: >"$results"
# Appends "KERNEL PROGRAM FIGURE VALUE" for every key=value of the BENCH line and the run's elapsed_ms.
record() {
  local kernel=$1 name=$2 text=$3 run_ms=$4
  local line
  line=$(grep -a '^BENCH ' <<<"$text" | tr -d '\r' | tail -1)
  if [[ -z $line || $line == "BENCH error"* ]]; then
    echo "  $kernel $name: no result (${line:-no BENCH line})"; return 1
  fi
  for kv in ${line#BENCH * }; do echo "$kernel $name ${kv%%=*} ${kv#*=}" >>"$results"; done
  [[ -n $run_ms ]] && echo "$kernel $name run_ms $run_ms" >>"$results"
  echo "  $kernel: $line${run_ms:+ (run $run_ms ms)}"
}

run_linux() {
  local name=$1 bin=$2 args=$3 text
  text=$(timeout 900 qemu-system-x86_64 -cpu "$cpu" -kernel "$vmlinuz" -initrd "$out/initramfs.cpio" \
    -append "console=ttyS0 quiet panic=-1 -- /bench/$bin $args" -m "$mem" -smp 1 -display none \
    -serial stdio -monitor none -no-reboot </dev/null 2>&1) || true
  local run_ms
  run_ms=$(grep -a '^LINUX-RUN ' <<<"$text" | sed -n 's/.*"elapsed_ms":\([0-9.]*\).*/\1/p' | tail -1)
  record linux "$name" "$text" "$run_ms" || true
}

run_sharpmm() {
  local name=$1 bin=$2 args=$3 text log=$out/sharpmm-$1.log
  # shellcheck disable=SC2086 # the arguments are words
  text=$("$root/sharpmm" qemu --mem "$mem" --log "$log" --run "$out/bin/$bin" $args </dev/null 2>/dev/null) || true
  local run_ms
  run_ms=$(grep -a '^SHARPMM-RUN ' "$log" 2>/dev/null | sed -n 's/.*"elapsed_ms":\([0-9.]*\).*/\1/p' | tail -1)
  record sharpmm "$name" "$text" "$run_ms" || true
}

echo "== Linux $linux_version and SharpMM, QEMU TCG -cpu $cpu -m $mem -smp 1, $rounds round(s)"
for ((r = 1; r <= rounds; r++)); do
  for p in "${programs[@]}"; do
    IFS='|' read -r name bin args <<<"$p"
    [[ -n $only && $only != "$name" ]] && continue
    echo "round $r: $name $args"
    run_linux "$name" "$bin" "$args"
    ((linux_only)) || run_sharpmm "$name" "$bin" "$args"
  done
done

# The table: median per kernel, program and figure, and SharpMM/Linux.
echo
awk '
  { v[$1 SUBSEP $2 SUBSEP $3] = v[$1 SUBSEP $2 SUBSEP $3] " " $4; key[$2 SUBSEP $3] = 1
    if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } if (!(($2, $3) in fseen)) { fseen[$2, $3] = 1; figs[$2] = figs[$2] " " $3 } }
  function median(s,   a, k, i, j, t) {
    k = split(s, a, " "); if (k == 0) return ""
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  END {
    printf "%-16s %-17s %14s %14s %9s\n", "program", "figure", "Linux", "SharpMM", "S/L"
    for (i = 1; i <= n; i++) {
      p = order[i]; m = split(figs[p], f, " ")
      for (j = 1; j <= m; j++) {
        l = median(v["linux", p, f[j]]); s = median(v["sharpmm", p, f[j]])
        ratio = (l != "" && s != "" && l + 0 > 0) ? sprintf("%.2f", s / l) : "-"
        printf "%-16s %-17s %14s %14s %9s\n", p, f[j], l == "" ? "-" : l, s == "" ? "-" : s, ratio
      }
    }
  }' "$results"
echo "(medians of $rounds round(s); ms = the program's own CLOCK_MONOTONIC time of its work, run_ms = exec to exit measured by init (Linux) or the kernel (SharpMM); raw: $results)"
