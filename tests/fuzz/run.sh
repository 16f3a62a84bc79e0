#!/usr/bin/env bash
# Builds the decoders' and the dedup log reader's libFuzzer targets with clang in a build directory of
# their own (build-fuzz, -DINV_FUZZ=ON) and runs each for a bounded time,
# starting from seeds made of tests/unit/codec_cases and
# tests/fuzz/rejected_seeds.txt. Fails on any crash, leak, sanitizer report
# or round-trip mismatch, and prints exec/s.
#
#   tests/fuzz/run.sh                  # 8 targets x 9 s = 72 s
#   INV_FUZZ_SECONDS=60 tests/fuzz/run.sh movement policy
#
# Environment: INV_FUZZ_SECONDS (per target, default 9), INV_FUZZ_BUILD
# (default <repo>/build-fuzz), INV_FUZZ_JOBS (build jobs, default nproc).
# Findings are written to $INV_FUZZ_BUILD/artifacts; the grown corpora stay
# in $INV_FUZZ_BUILD/corpus for the next run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${INV_FUZZ_BUILD:-$ROOT/build-fuzz}"
SECONDS_PER="${INV_FUZZ_SECONDS:-9}"
JOBS="${INV_FUZZ_JOBS:-$(nproc)}"
ALL=(event movement movement_fast policy stock_level reorder shortage reservation transfer channel_location availability
     reservation_status dedup_log)
if [[ $# -gt 0 ]]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi

command -v clang >/dev/null || { echo "run.sh: clang not found (apt-get install clang)" >&2; exit 2; }

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_C_COMPILER=clang -DINV_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target fuzz_seeds "${TARGETS[@]/#/fuzz_decode_}"

SEEDS="$BUILD/seeds"
rm -rf "$SEEDS"
"$BUILD/bin/fuzz_seeds" "$ROOT/tests/unit/codec_cases" "$SEEDS" "$ROOT/tests/fuzz/rejected_seeds.txt"
mkdir -p "$BUILD/artifacts"

status=0
summary=()
for t in "${TARGETS[@]}"; do
  corpus="$BUILD/corpus/$t"
  log="$BUILD/fuzz_decode_$t.log"
  mkdir -p "$corpus" "$SEEDS/${t%_fast}"
  echo "== fuzz_decode_$t: ${SECONDS_PER}s" >&2
  rc=0
  # movement_fast starts from the movement seeds
  "$BUILD/bin/fuzz_decode_$t" "$corpus" "$SEEDS/${t%_fast}" \
    -max_total_time="$SECONDS_PER" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
    -dict="$ROOT/tests/fuzz/json.dict" -artifact_prefix="$BUILD/artifacts/$t-" -print_final_stats=1 \
    >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  if [[ $rc -ne 0 ]]; then
    status=1
    echo "FAIL fuzz_decode_$t (exit $rc), log $log:" >&2
    grep -E "ERROR|SUMMARY|abort|round trip|does not|differs|Test unit written" "$log" | head -20 >&2
  fi
  summary+=("$(printf '%-26s %-4s %10s runs %8s exec/s' "fuzz_decode_$t" "$([[ $rc -eq 0 ]] && echo ok || echo FAIL)" "${runs:-?}" "${rate:-?}")")
done
printf '%s\n' "${summary[@]}"
exit $status
