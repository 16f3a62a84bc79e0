#!/usr/bin/env bash
# Two builds of inv-stock on the same input, in turn: bench_keeper.sh's
# throughput phase (movements/s from the start, movements/s after start-up,
# movements per CPU-s, peak anonymous RSS) with each build's programs,
# old/new/old/new..., then each run and the new/old ratios, pair by pair and
# over all runs.
#
#   tests/bench/bench_compare.sh OLD_BIN NEW_BIN [MOVEMENTS] [ROUNDS]
#
# OLD_BIN and NEW_BIN are bin directories of two Release builds, each with
# inv-stock, invctl and bench_preload; MOVEMENTS (default 400000, the stock
# take included) per run, ROUNDS (default 2) old/new pairs. Alternating in
# one sitting is what makes a ratio mean something on a shared machine whose
# speed drifts within the hour. Other bench_keeper.sh knobs pass through
# (BENCH_BROKERS, INV_BENCH_KEEPER_ARGS), except INV_BENCH_PHASES and
# INV_BENCH_BIN, which this script sets.
#
# Not a test: it prints figures (docs/BENCHMARKS.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if (($# < 2)); then
  echo "usage: tests/bench/bench_compare.sh OLD_BIN NEW_BIN [MOVEMENTS] [ROUNDS]" >&2
  exit 2
fi
OLD="$(cd "$1" && pwd)" NEW="$(cd "$2" && pwd)"
N="${3:-400000}" ROUNDS="${4:-2}"
for b in "$OLD" "$NEW"; do
  for p in inv-stock invctl bench_preload; do
    [[ -x "$b/$p" ]] || { echo "bench_compare: $b/$p: not found" >&2; exit 2; }
  done
done
OUT="$(mktemp /tmp/bench-compare-XXXXXX)"
trap 'rm -f "$OUT"' EXIT

run() { # label bin -> appends "label movements/s movements-per-CPU-s anon-MiB steady-movements/s" to $OUT
  local lines
  lines=$(INV_BENCH_BIN="$2" INV_BENCH_PHASES=throughput "$ROOT/tests/bench/bench_keeper.sh" "$N" | grep '^keeper: .* movements/s')
  sed "s/^/$1: /" <<<"$lines"
  awk -v l="$1" '{
    for (i = 1; i <= NF; i++) {
      if ($(i + 1) == "movements/s," && $2 != "after") r = $i
      if ($(i + 1) == "movements/s" && $2 == "after") s = $i
      if ($(i + 1) == "movements" && $(i + 2) == "per" && $(i + 3) == "CPU-s),") c = substr($i, 2)
      if ($i == "anonymous" && $(i - 1) == "(peak") a = $(i + 1)
    }
  } END { print l, r, c, a, s }' <<<"$lines" >>"$OUT"
}

for ((r = 1; r <= ROUNDS; r++)); do
  run old "$OLD"
  run new "$NEW"
done
awk '
  $1 == "old" { o[++no] = $2; oc[no] = $3; oa[no] = $4; os[no] = $5; so += $2; soc += $3; soa += $4; sos += $5 }
  $1 == "new" { n[++nn] = $2; nc[nn] = $3; na[nn] = $4; ns[nn] = $5; sn += $2; snc += $3; sna += $4; sns += $5 }
  END {
    for (i = 1; i <= nn && i <= no; i++)
      printf "pair %d: new/old movements/s %.3f, after start-up %.3f, movements per CPU-s %.3f, peak anonymous RSS %.3f\n", i, n[i] / o[i], ns[i] / os[i], nc[i] / oc[i], na[i] / oa[i]
    printf "mean old: %.0f movements/s, %.0f after start-up, %.0f per CPU-s, %.1f MiB\n", so / no, sos / no, soc / no, soa / no
    printf "mean new: %.0f movements/s, %.0f after start-up, %.0f per CPU-s, %.1f MiB\n", sn / nn, sns / nn, snc / nn, sna / nn
    printf "new/old over all runs: movements/s %.3f, after start-up %.3f, movements per CPU-s %.3f, peak anonymous RSS %.3f\n", (sn / nn) / (so / no), (sns / nn) / (sos / no), (snc / nn) / (soc / no), (sna / nn) / (soa / no)
  }' "$OUT"
