#!/usr/bin/env bash
# Compares this tree's speed with an earlier revision's on the same workloads, interleaved: a
# structural change shows with it that it kept W0-W4 within its tolerance. Each round runs the
# revision, then this tree (the order flips every round so neither always runs first), each run
# pinned to one core; at the end, per figure, both medians and the median of the per-round
# ratios (this tree / the revision: a round's two runs fall in the same period of the machine's
# speed, so their ratio is the figure to trust, as in bench/compare.sh).
#
#   bench/compare-revisions.sh REVISION [WORKLOADS [ROUNDS [REPS [SCALE]]]]
#     REVISION   a commit, tag or branch; checked out as a detached worktree under .build/revisions/
#     WORKLOADS  comma-separated (default W0,W1,W2,W3,W4)
#     ROUNDS     interleaved rounds (default 5); REPS runs per program per round, median (default 5)
#     SCALE      workload size (default 1)
#   PIN_CPU=N pins to core N (default 1, or 0 on a one-core machine); PIN_CPU= (empty) does not pin.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
revision=${1:?usage: bench/compare-revisions.sh REVISION [W0,W1,W2,W3,W4 [rounds [reps [scale]]]]}
IFS=, read -r -a workloads <<<"${2:-W0,W1,W2,W3,W4}"
rounds=${3:-5} reps=${4:-5} scale=${5:-1}
[[ $rounds =~ ^[1-9][0-9]*$ && $reps =~ ^[1-9][0-9]*$ ]] || { echo "compare-revisions.sh: rounds and reps are positive integers" >&2; exit 2; }

sha=$(git -C "$root" rev-parse --verify --quiet "$revision^{commit}") || { echo "compare-revisions.sh: no commit '$revision'" >&2; exit 2; }
base=$root/.build/revisions/${sha:0:12}
if [[ ! -d $base ]]; then
  mkdir -p "$root/.build/revisions"
  git -C "$root" worktree add --detach --quiet "$base" "$sha"
fi

default_cpu=1; (( $(nproc) < 2 )) && default_cpu=0
pin=()
if [[ -n ${PIN_CPU-$default_cpu} ]] && command -v taskset >/dev/null; then pin=(taskset -c "${PIN_CPU-$default_cpu}"); fi

# The figures each workload's `sharpmm bench --json` reports (the same names in every revision
# since the JSON output exists).
figures() {
  case ${1^^} in
    W0) echo pair_ns ;;
    W1) echo alloc_ns free_ns ;;
    W2|W2O9) echo step_ns ;;
    W3|W3T|W3H) echo pair_ns ;;
    W4) echo map_ns walk_ns hit_ns unmap_ns ;;
    *) echo "compare-revisions.sh: unknown workload '$1'" >&2; exit 2 ;;
  esac
}
for w in "${workloads[@]}"; do figures "$w" >/dev/null; done

# Build both tools now, not inside a round.
"$base/sharpmm" help >/dev/null
"$root/sharpmm" help >/dev/null

# A top-level number from a one-line JSON object (peers' nested figures dropped first).
field() { sed -E 's/"peers":\{.*\}//' <<<"$1" | grep -oE "\"$2\":-?[0-9.eE+]+" | head -1 | cut -d: -f2; }

results=$(mktemp)
trap 'rm -f "$results"' EXIT
run() { # tree workload -> one JSON line
  "${pin[@]}" "$1/sharpmm" bench "$2" --json --reps "$reps" --scale "$scale" 2>/dev/null | tail -1
}
echo "== ${workloads[*]}: $rounds interleaved rounds of $revision (${sha:0:12}) and this tree, $reps runs each, scale $scale${pin:+, pinned: ${pin[*]}}"
for ((r = 1; r <= rounds; r++)); do
  for w in "${workloads[@]}"; do
    if ((r % 2)); then old=$(run "$base" "$w"); new=$(run "$root" "$w")
    else new=$(run "$root" "$w"); old=$(run "$base" "$w"); fi
    line="round $r $w:"
    for f in $(figures "$w"); do
      o=$(field "$old" "$f"); n=$(field "$new" "$f")
      [[ -n $o && -n $n ]] || { echo "compare-revisions.sh: $w printed no $f" >&2; exit 1; }
      echo "$w $f $o $n" >>"$results"
      line+=" $f $o -> $n"
    done
    echo "$line"
  done
done

echo
printf '%-4s %-9s %12s %12s %14s\n' "" figure "${revision:0:12}" "this tree" "median ratio"
awk '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { k = $1 " " $2; if (!(k in seen)) { seen[k] = 1; order[++count] = k }
    old[k] = old[k] " " $3; new[k] = new[k] " " $4; if ($3 > 0) ratio[k] = ratio[k] " " ($4 / $3) }
  END { for (i = 1; i <= count; i++) { k = order[i]; split(k, p, " ")
          printf "%-4s %-9s %12.2f %12.2f %13.3fx\n", p[1], p[2], median(old[k]), median(new[k]), median(ratio[k]) } }
' "$results"
