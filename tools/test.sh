#!/usr/bin/env bash
# Installs the dependencies, builds everything and runs every test (unit,
# integration against a real loupe-server, the SIGKILL crash test and the
# CLI end-to-end test through tools/run.sh). Exit status is ctest's.
#
# Environment: LOUPE_BUILD_DIR (default <repo>/build), LOUPE_BUILD_TYPE
# (default RelWithDebInfo), CTEST_PARALLEL_LEVEL (default 2).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LOUPE_BUILD_DIR:-$ROOT/build}

"$ROOT/tools/setup.sh"
cmake -S "$ROOT" -B "$BUILD" -G Ninja \
  -DCMAKE_BUILD_TYPE="${LOUPE_BUILD_TYPE:-RelWithDebInfo}" -DLOUPE_BUILD_TESTS=ON
ninja -C "$BUILD"
cd "$BUILD"
ctest --output-on-failure -j "${CTEST_PARALLEL_LEVEL:-2}"
