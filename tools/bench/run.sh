#!/usr/bin/env bash
# Builds Release and runs the benchmarks; each prints its figure with the
# ratio to its anchor measured in the same run.
# Usage: run.sh [SECONDS per phase] [all|register|upload]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${LOUPE_BENCH_BUILD_DIR:-$ROOT/build-release}
"$ROOT/tools/setup.sh" > /dev/null
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLOUPE_BUILD_TESTS=ON > /dev/null
ninja -C "$BUILD" loupe-server loupe registry_bench verify_bench log_bench closest_bench \
  http_bench postgres_bench postgres_startup_bench s3_bench identify_bench
"$BUILD/tools/bench/registry_bench" "${1:-5}" "${2:-all}"
LOUPE_BIN="$BUILD/client/loupe" "$BUILD/tools/bench/verify_bench" 3
"$BUILD/tools/bench/log_bench" "${1:-5}" 1000000
"$BUILD/tools/bench/postgres_bench" "${1:-5}" 1000000
"$BUILD/tools/bench/postgres_startup_bench" 10000000
/usr/bin/python3 "$ROOT/tools/bench/geometry_bench.py" "$BUILD/client/loupe" "$BUILD/tools/bench/closest_bench"
"$BUILD/tools/bench/http_bench" "${1:-5}"
"$BUILD/tools/bench/s3_bench" 100 2
# Identification: 10,000 twins, 1,000 + 1,000 scans, 20 groups of 3, 20
# resized, 100,000 signatures (about an hour; LOUPE_IDENTIFY_SCALE to
# override, e.g. "2000 300 10 10 100000").
"$BUILD/tools/bench/identify_bench" ${LOUPE_IDENTIFY_SCALE:-10000 1000 20 20 100000}
