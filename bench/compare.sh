#!/usr/bin/env bash
# Runs one benchmark workload on SharpMM and on the C reference of the same design (bench/peers),
# interleaved: C, SharpMM, C, SharpMM... for ROUNDS rounds, each run pinned to one core, then prints
# each figure's median over the rounds and the SharpMM / C ratio (the median of the per-round
# ratios: a round's two runs fall in the same period of the machine's clock, so their ratio is the
# figure to trust: docs/benchmarks.md).
#
#   bench/compare.sh WORKLOAD [ROUNDS [REPS [SCALE]]]
#     WORKLOAD  W0 W1 W2 W2o9 W3 W3t W3h W4, or all (each in turn); W5 W5x (several threads: not
#               in all) with THREADS=N threads (default 2), pinned to PIN_CPUS (default 0,1)
#     ROUNDS    interleaved rounds (default 3); REPS runs per program per round, median (default 5)
#     SCALE     workload size (default 1; 0.1 for a quick look: not comparable with published figures)
#   PIN_CPU=N pins to core N (default 1, or 0 on a one-core machine); PIN_CPU= (empty) does not pin.
# Needs gcc and the .NET 10 SDK; the C programs are built (gcc -O2) into .build/peers.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$root/bench/peers
out=$root/.build/peers
workload=${1:?usage: bench/compare.sh W0|W1|W2|W2o9|W3|W3t|W3h|W4|all|W5|W5x [rounds [reps [scale]]]}
rounds=${2:-3} reps=${3:-5} scale=${4:-1}
[[ $rounds =~ ^[1-9][0-9]*$ && $reps =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: rounds and reps are positive integers" >&2; exit 2; }

if [[ $workload == all ]]; then
  for w in W0 W1 W2 W2o9 W3 W3t W3h W4; do "$0" "$w" "$rounds" "$reps" "$scale"; echo; done
  exit 0
fi

bash "$src/build.sh" "$out" >/dev/null

default_cpu=1; (( $(nproc) < 2 )) && default_cpu=0
pin=()
if [[ -n ${PIN_CPU-$default_cpu} ]] && command -v taskset >/dev/null; then pin=(taskset -c "${PIN_CPU-$default_cpu}"); fi
threads=${THREADS:-2}
[[ $threads =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: THREADS is a positive integer" >&2; exit 2; }
if [[ ${workload^^} == W5 || ${workload^^} == W5X ]]; then   # several threads: several cores
  pin=()
  if [[ -n ${PIN_CPUS-0,1} ]] && (( $(nproc) >= 2 )) && command -v taskset >/dev/null; then pin=(taskset -c "${PIN_CPUS-0,1}"); fi
fi

# One comparison: a label, the C program and its workload, the sharpmm arguments, the fields.
# The C program and `sharpmm bench --json` print the same field names.
declare -a labels c_cmds s_cmds fields
pair() { labels+=("$1"); c_cmds+=("$2"); s_cmds+=("$3"); fields+=("$4"); }
case ${workload^^} in
  W0)   pair "W0 hot pair, no per-CPU cache (ns)" "refbuddy W0" "W0 --pcp off" pair_ns
        pair "W0 hot pair, per-CPU cache (ns)" "refbuddy_pcp W0" "W0 --pcp on" pair_ns ;;
  W1)   pair "W1 order-0 churn (ns)" "refbuddy W1" "W1" "alloc_ns free_ns" ;;
  W2)   pair "W2 mixed orders, 50% live (ns/step)" "refbuddy W2" "W2" step_ns ;;
  W2O9) pair "W2-o9 mixed orders, 50% live (ns/step)" "refbuddy W2o9" "W2o9" step_ns ;;
  W3)   pair "W3 kmalloc, 100k live (ns/pair)" "refslab W3" "W3" pair_ns ;;
  W3T)  pair "W3t kmalloc, objects touched (ns/pair)" "refslab W3t" "W3t" pair_ns ;;
  W3H)  pair "W3h hot kmalloc(64) pair (ns)" "refslab W3h" "W3h" pair_ns ;;
  W4)   pair "W4 page tables (ns)" "refmmu W4" "W4" "map_ns walk_ns hit_ns unmap_ns" ;;
  W5)   pair "W5 pages, $threads threads, own frees" "refbuddy_mt W5 --threads $threads" "W5 --threads $threads" "mpairs_per_s cpu_ns_per_pair" ;;
  W5X)  pair "W5x pages, $threads threads, cross frees" "refbuddy_mt W5x --threads $threads" "W5x --threads $threads" "mpairs_per_s cpu_ns_per_pair" ;;
  *)    echo "compare.sh: unknown workload '$workload'" >&2; exit 2 ;;
esac

"$root/sharpmm" help >/dev/null   # builds the tool now, not inside a round

# A top-level number from a one-line JSON object (the peers' nested figures are dropped first).
field() { sed -E 's/"peers":\{.*\}//' <<<"$1" | grep -oE "\"$2\":-?[0-9.eE+]+" | head -1 | cut -d: -f2; }

results=$(mktemp)
trap 'rm -f "$results"' EXIT
echo "== $workload: $rounds interleaved rounds, $reps runs each, scale $scale${pin:+, pinned: ${pin[*]}}"
for ((r = 1; r <= rounds; r++)); do
  for i in "${!labels[@]}"; do
    read -r prog wl extra <<<"${c_cmds[$i]}"
    # shellcheck disable=SC2086
    c_json=$("${pin[@]}" "$out/$prog" "$wl" $extra --reps "$reps" --scale "$scale" --json)
    # shellcheck disable=SC2086
    s_json=$("${pin[@]}" "$root/sharpmm" bench ${s_cmds[$i]} --reps "$reps" --scale "$scale" --json | tail -1)
    for f in ${fields[$i]}; do
      c=$(field "$c_json" "$f") s=$(field "$s_json" "$f")
      [[ -n $c && -n $s ]] || { echo "compare.sh: no $f in a result:" >&2; echo "$c_json" >&2; echo "$s_json" >&2; exit 1; }
      printf '%s\t%s\t%s\t%s\t%s\n' "$i" "$f" "$r" "$c" "$s" >>"$results"
      printf '   round %d  %-40s %-9s C %8.2f  SharpMM %8.2f  ratio %5.2f\n' "$r" "${labels[$i]}" "$f" "$c" "$s" "$(awk -v c="$c" -v s="$s" 'BEGIN { print s / c }')"
    done
    # Several threads: what a line took to move between the cores around SharpMM's run (its
    # figures depend on it; docs/benchmarks.md, "What this machine's two cores cost each other").
    transfer=$(grep -oE '"line_transfer_ns":\[[0-9.]+,[0-9.]+\]' <<<"$s_json" | grep -oE '[0-9.]+,[0-9.]+' || true)
    [[ -n $transfer ]] && printf '   round %d  a line moved between the cores in %s ns (before, after SharpMM'"'"'s run)\n' "$r" "${transfer/,/ and }"
  done
done

echo
printf '%-42s %-9s %10s %10s %8s   %s\n' figure field "C (median)" "SharpMM" ratio "per-round ratios"
for i in "${!labels[@]}"; do
  for f in ${fields[$i]}; do
    awk -F'\t' -v i="$i" -v f="$f" -v label="${labels[$i]}" '
      function median(a, n,   j, k, t) {
        for (j = 2; j <= n; j++) for (k = j; k > 1 && a[k - 1] > a[k]; k--) { t = a[k]; a[k] = a[k - 1]; a[k - 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
      }
      $1 == i && $2 == f { n++; c[n] = $4; s[n] = $5; q[n] = $5 / $4; list = list sprintf("%s%.2f", n > 1 ? " / " : "", $5 / $4) }
      END { printf "%-42s %-9s %10.2f %10.2f %8.2f   %s\n", label, f, median(c, n), median(s, n), median(q, n), list }
    ' "$results"
  done
done
