#!/usr/bin/env bash
# The project's test command: dependencies, local broker and schema registry,
# sanitizer build, every ctest test (extra arguments go to ctest, e.g.
# `tests/run.sh -L unit`), then the fuzz smoke run (tests/fuzz/run.sh). Non-zero on any failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${INV_BUILD_DIR:-build-san}"
JOBS="${INV_JOBS:-2}"

step() { printf '\n=== %s\n' "$*" >&2; }

step "dependencies"
deploy/local/install-deps.sh

step "local broker"
deploy/local/broker.sh start

step "local schema registry"
deploy/local/registry.sh start

# Sanitizers: fail on the first error with a stack. LeakSanitizer works in
# this sandbox (checked), so leaks fail tests too. Caller's settings win.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:print_stacktrace=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:color=never}"
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in tests/support
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:color=never}"

step "configure $BUILD (ASan+UBSan, Debug)"
cmake -S . -B "$BUILD" -DINV_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug

step "build"
cmake --build "$BUILD" -j"$JOBS"

failed=()

step "ctest $*"
ctest --test-dir "$BUILD" --output-on-failure -j"$JOBS" "$@" || failed+=(ctest)

step "fuzz (tests/fuzz/run.sh)"
bash tests/fuzz/run.sh || failed+=(fuzz)

if ((${#failed[@]})); then
  step "FAILED: ${failed[*]}"
  exit 1
fi
step "all tests passed"
