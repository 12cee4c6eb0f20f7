#!/usr/bin/env bash
# Configures and builds vlo into DIR (default build/) with the extra cmake arguments given.
#   tools/build.sh [DIR] [-DOPTION=VALUE ...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
