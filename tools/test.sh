#!/usr/bin/env bash
# The whole test suite: a normal build with warnings as errors, then again under
# AddressSanitizer + UndefinedBehaviorSanitizer. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== build (warnings as errors)"
tools/build.sh build -DVLO_WERROR=ON
echo "== tests"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 120

echo "== build with ASan + UBSan"
tools/build.sh build-asan -DVLO_WERROR=ON -DVLO_SANITIZE=ON -DVLO_BENCH=OFF
echo "== tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 300
echo "== all tests passed"
