#!/usr/bin/env bash
# Runs a development Loupe registry on a fresh machine: installs the
# dependencies, builds (Release), creates a data directory with a development
# config and tokens (printed once; kept in DATA/dev-tokens.env), starts
# loupe-server in the foreground and prints the next commands to try.
# Running it again reuses the build, the data and the tokens.
#
# Environment (all optional):
#   LOUPE_DATA_DIR   data directory      (default: <repo>/data/dev)
#   LOUPE_LISTEN     gRPC listen address (default: 127.0.0.1:7400)
#   LOUPE_HTTP_LISTEN HTTP gateway address (default: 127.0.0.1:7480)
#   LOUPE_BUILD_DIR  build directory     (default: <repo>/build-release)
#   LOUPE_NO_BUILD=1 skip install and build; use the binaries in LOUPE_BUILD_DIR
#   LOUPE_CONFIG_EXTRA a file appended once to the new loupe.conf (e.g. a
#                    storage { postgres {...} } or assets { s3 {...} } block)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LOUPE_BUILD_DIR:-$ROOT/build-release}
DATA=${LOUPE_DATA_DIR:-$ROOT/data/dev}
LISTEN=${LOUPE_LISTEN:-127.0.0.1:7400}
HTTP_LISTEN=${LOUPE_HTTP_LISTEN:-127.0.0.1:7480}

if [ "${LOUPE_NO_BUILD:-0}" != 1 ]; then
  "$ROOT/tools/setup.sh"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DLOUPE_BUILD_TESTS=OFF > /dev/null
  ninja -C "$BUILD" loupe-server loupe
fi
SERVER="$BUILD/server/loupe-server"
LOUPE="$BUILD/client/loupe"

# A development CA and certificates, so that the registry speaks TLS.
"$ROOT/tools/dev_tls.sh" "$DATA/tls" studio-aurum bench admin
"$SERVER" init-dev "$DATA" --listen "$LISTEN" --tls-dir "$DATA/tls"
if [ -n "${LOUPE_CONFIG_EXTRA:-}" ] && ! grep -q '^# LOUPE_CONFIG_EXTRA' "$DATA/loupe.conf"; then
  { echo "# LOUPE_CONFIG_EXTRA"; cat "$LOUPE_CONFIG_EXTRA"; } >> "$DATA/loupe.conf"
fi
# A data directory made before TLS was the default: give it the certificates.
if ! grep -qE '^(tls \{|allow_plaintext)' "$DATA/loupe.conf"; then
  printf 'tls {\n  cert_file: "%s"\n  key_file: "%s"\n  client_ca_file: "%s"\n}\n' \
    "$DATA/tls/server.pem" "$DATA/tls/server.key" "$DATA/tls/ca.pem" \
    >> "$DATA/loupe.conf"
  echo "run.sh: $DATA/loupe.conf predates TLS; added the development certificates"
fi

PORT=${LISTEN##*:}
cat <<NEXT

Loupe registry starting on $LISTEN (data in $DATA). In another terminal:

  export PATH="$BUILD/client:\$PATH" LOUPE_SERVER=localhost:$PORT
  export LOUPE_CA="$DATA/tls/ca.pem"   # TLS: the development CA
  set -a; . "$DATA/dev-tokens.env"; set +a
  export LOUPE_TOKEN=\$LOUPE_TOKEN_STUDIO_AURUM
  python3 "$ROOT/tools/gen/ring_stl.py" ring.stl
  python3 "$ROOT/tools/gen/ring_stl.py" ring-size8.stl --inner-diameter 18.19
  loupe piece create --studio aurum --reference A-1001 --kind ring --cad ring.stl
  loupe version add PIECE_ID --reason resize --note "US 7 -> 8" --cad ring-size8.stl
  loupe version list PIECE_ID
  loupe asset get SHA256 --piece PIECE_ID -o copy.stl && cmp copy.stl ring.stl
  loupe cert issue PIECE_ID -o cert.json
  loupe verify cert.json --root "$DATA/keys/root.json" --file ring-size8.stl
  loupe log audit --root "$DATA/keys/root.json" --entries --save checkpoint.txt
  LOUPE_KEY_PASSPHRASE=secret loupe owner keygen -o owner.key
  loupe owner set PIECE_ID owner.key.pub && loupe status show PIECE_ID

  In a browser (trust $DATA/tls/ca.pem, or accept the warning):
  https://localhost:${HTTP_LISTEN##*:}/verify/CERTIFICATE_ID (the verify page),
  https://localhost:${HTTP_LISTEN##*:}/api/v1/certificates/CERTIFICATE_ID (JSON),
  /checkpoint and /metrics; curl --cacert "$DATA/tls/ca.pem" https://localhost:${HTTP_LISTEN##*:}/healthz.
  Mutual TLS instead of a token: LOUPE_CERT=$DATA/tls/client-bench.pem
  LOUPE_KEY=$DATA/tls/client-bench.key (the bench principal).

  (PIECE_ID and SHA256 are printed by the commands above; add --json for
  scripts; every command has --help.) Stop the registry with Ctrl-C.

NEXT
exec "$SERVER" --config "$DATA/loupe.conf" --listen "$LISTEN" \
  --http-listen "$HTTP_LISTEN"
