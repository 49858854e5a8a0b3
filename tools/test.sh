#!/usr/bin/env bash
# Installs the dependencies, builds everything and runs every test (unit,
# integration against a real loupe-server, the SIGKILL crash test and the
# CLI end-to-end test through tools/run.sh). Exit status is ctest's.
#
# Then every unit and integration test again, built by clang with
# AddressSanitizer and UndefinedBehaviorSanitizer (LeakSanitizer on; any
# report fails the test; LOUPE_SANITIZE=0 skips it) except the browser
# test (its time is Chromium's; the server's HTTP code is exercised under
# the sanitizers by the HTTP tests), and a short fuzz run of every mesh
# reader (clang, libFuzzer, ASan/UBSan; LOUPE_FUZZ_SECONDS each, default
# 20; 0 skips all fuzzing) and of every parser of untrusted input
# (LOUPE_FUZZ_PARSER_SECONDS each, default 10).
#
# Between the two: every benchmark of tools/bench/, briefly, its figures
# not judged (a broken benchmark fails the run).
#
# --quick: a developer's loop: one incremental build and the unit tests
# (no integration tests, benchmarks, sanitizer build or fuzzing). CI and
# a full check run tools/test.sh without it.
#
# Environment: LOUPE_BUILD_DIR (default <repo>/build), LOUPE_BUILD_TYPE
# (default RelWithDebInfo), CTEST_PARALLEL_LEVEL (default 2), LOUPE_WERROR
# (ON: compiler warnings fail every build; .ci/run sets it; default OFF).
# Each stage prints its elapsed time ("stage: ... after N s").
set -euo pipefail
QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: tools/test.sh [--quick]" >&2; exit 2 ;;
  esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LOUPE_BUILD_DIR:-$ROOT/build}
WERROR=${LOUPE_WERROR:-OFF}

STARTED=$SECONDS
stage() { echo "stage: $1 after $((SECONDS - STARTED)) s"; }

"$ROOT/tools/setup.sh"
stage "setup done"
# Line tables only (-g1): stack traces keep file and line, and the build
# takes a quarter less time than with full debug information.
cmake -S "$ROOT" -B "$BUILD" -G Ninja \
  -DCMAKE_BUILD_TYPE="${LOUPE_BUILD_TYPE:-RelWithDebInfo}" -DLOUPE_BUILD_TESTS=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DLOUPE_WERROR="$WERROR"
ninja -C "$BUILD"
stage "build done"
if [ "$QUICK" = 1 ]; then
  (cd "$BUILD" && ctest --output-on-failure -LE integration \
    -j "${CTEST_PARALLEL_LEVEL:-2}")
  exit 0
fi
(cd "$BUILD" && ctest --output-on-failure -j "${CTEST_PARALLEL_LEVEL:-2}")
stage "tests done"

# Every benchmark, briefly and without judging its figures, so that one
# cannot break unnoticed (tools/bench/run.sh is the real, Release run).
echo "benchmarks: each briefly (figures not judged here)"
"$BUILD/tools/bench/registry_bench" 0.5 all
LOUPE_BIN="$BUILD/client/loupe" "$BUILD/tools/bench/verify_bench" 0.5
"$BUILD/tools/bench/log_bench" 0.5 100000
"$BUILD/tools/bench/postgres_bench" 0.5 100000
"$BUILD/tools/bench/postgres_startup_bench" 100000
"$BUILD/tools/bench/s3_bench" 16 1
/usr/bin/python3 "$ROOT/tools/bench/geometry_bench.py" "$BUILD/client/loupe" \
  "$BUILD/tools/bench/closest_bench"
"$BUILD/tools/bench/http_bench" 1
# Identification: 60 twins, 20 + 20 scans, 2 groups, 2 resized, 20,000
# signatures (the full scale is tools/bench/run.sh's).
"$BUILD/tools/bench/identify_bench" 60 20 2 2 20000
"$BUILD/tools/bench/identify_calibration" 20 3
stage "benchmarks done"

if [ "${LOUPE_SANITIZE:-1}" != 0 ]; then
  SAN_BUILD=${LOUPE_SANITIZE_BUILD_DIR:-$ROOT/build-asan}
  # clang, -O1 and line tables: instrumented code compiles in half
  # GCC's time; no benchmarks (none runs here).
  cmake -S "$ROOT" -B "$SAN_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
    -DLOUPE_BUILD_TESTS=ON -DLOUPE_BUILD_BENCH=OFF -DLOUPE_SANITIZE=ON \
    -DLOUPE_WERROR="$WERROR" > /dev/null
  ninja -C "$SAN_BUILD"
  stage "sanitizer build done"
  echo "sanitizers: every test but the browser's under ASan, UBSan and LeakSanitizer"
  (cd "$SAN_BUILD" && \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    LSAN_OPTIONS=suppressions="$ROOT/tools/lsan.supp":print_suppressions=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 LOUPE_LOAD_SECONDS=10 \
    ctest --output-on-failure --timeout 900 -LE browser \
      -j "${CTEST_PARALLEL_LEVEL:-2}")
  stage "sanitizer tests done"
fi

FUZZ_SECONDS=${LOUPE_FUZZ_SECONDS:-20}
if [ "$FUZZ_SECONDS" -gt 0 ]; then
  FUZZ_BUILD=${LOUPE_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
  cmake -S "$ROOT" -B "$FUZZ_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DLOUPE_BUILD_TESTS=OFF -DLOUPE_FUZZ=ON -DLOUPE_WERROR="$WERROR" > /dev/null
  # The mesh readers, then every parser of untrusted input (bundles, DSSE
  # envelopes, trust roots, checkpoints, owner payloads, tile paths) for
  # LOUPE_FUZZ_PARSER_SECONDS each: directory, target, seconds.
  PARSER_SECONDS=${LOUPE_FUZZ_PARSER_SECONDS:-10}
  TARGETS="geometry:stl:$FUZZ_SECONDS geometry:obj:$FUZZ_SECONDS
    geometry:ply:$FUZZ_SECONDS crypto:bundle:$PARSER_SECONDS
    crypto:dsse:$PARSER_SECONDS crypto:trust_root:$PARSER_SECONDS
    crypto:checkpoint:$PARSER_SECONDS crypto:owner_payload:$PARSER_SECONDS
    server/http:tile_path:$PARSER_SECONDS
    geometry/cad:step:$FUZZ_SECONDS geometry/cad:3mf:$FUZZ_SECONDS"
  ninja -C "$FUZZ_BUILD" $(for t in $TARGETS; do
    IFS=: read -r _ name _ <<< "$t"; echo "${name}_fuzzer"; done)
  for t in $TARGETS; do
    IFS=: read -r dir name seconds <<< "$t"
    corpus=$(mktemp -d)
    cp "$ROOT/$dir/fuzz/corpus/$name"/* "$corpus/"
    binary="$FUZZ_BUILD/${dir%/http}/${name}_fuzzer"
    echo "fuzz: $name, $seconds s"
    "$binary" -max_total_time="$seconds" \
      -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 "$corpus" 2>&1 \
      | grep -E "stat::number_of_executed_units|ERROR|SUMMARY" || true
    status=${PIPESTATUS[0]}
    rm -rf "$corpus"
    [ "$status" -eq 0 ] || { echo "fuzz: $name failed"; exit 1; }
  done
  # The witness protocol's parsers (crypto/fuzz/witness_fuzzer.cc).
  ninja -C "$FUZZ_BUILD" witness_fuzzer
  corpus=$(mktemp -d)
  cp "$ROOT/crypto/fuzz/corpus/witness"/* "$corpus/"
  echo "fuzz: witness protocol parsers, $FUZZ_SECONDS s"
  "$FUZZ_BUILD/crypto/witness_fuzzer" -max_total_time="$FUZZ_SECONDS" \
    -max_len=16384 -rss_limit_mb=2048 -print_final_stats=1 "$corpus" 2>&1 \
    | grep -E "stat::number_of_executed_units|ERROR|SUMMARY" || true
  status=${PIPESTATUS[0]}
  rm -rf "$corpus"
  [ "$status" -eq 0 ] || { echo "fuzz: the witness parsers failed"; exit 1; }
fi
stage "fuzzing done"
