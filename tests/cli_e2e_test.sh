#!/usr/bin/env bash
# End to end as a person would do it: tools/run.sh starts a development
# registry; the loupe CLI creates a piece with a real STL file, adds a resize
# version, lists the versions and downloads the file byte-identical; refusals
# give the documented exit codes; certificates carry log proofs; owners
# transfer with signed, single-use transfers; stolen and revoked pieces fail
# verification; an auditor checks the log; a second tools/run.sh reuses the
# data.
# With MODE s3-rocksdb or s3-postgres, asset bytes go to a bucket of a real
# Swift (s3api) that SERVICES (loupe_test_services) starts, over RocksDB or
# a real PostgreSQL; the downloaded file is also read from the bucket.
# Usage: cli_e2e_test.sh LOUPE_SERVER_BIN LOUPE_BIN [MODE SERVICES_BIN]
set -euo pipefail
SERVER_BIN=$1
LOUPE=$2
MODE=${3:-default}
SERVICES_BIN=${4:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$(dirname "$SERVER_BIN")/.." && pwd)
WORK=$(mktemp -d)
RUN_PID=""
SERVICES_PID=""
cleanup() {
  [ -n "$RUN_PID" ] && kill -TERM "$RUN_PID" 2>/dev/null && wait "$RUN_PID" 2>/dev/null
  [ -n "$SERVICES_PID" ] && kill -TERM "$SERVICES_PID" 2>/dev/null && wait "$SERVICES_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- run.log" >&2; cat "$WORK/run.log" >&2 || true; exit 1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# The log is removed before the start (not truncated by the background job,
# which may run after the first look and leave the old run's lines to be
# read), and the wait is for the gateway's line, written after the gRPC one.
# MODE s3-*: Swift (and PostgreSQL), then the config block run.sh appends.
start_services() {
  case "$MODE" in
    default) return ;;
    s3-rocksdb) "$SERVICES_BIN" --swift --env "$WORK/services.env" 2> "$WORK/services.log" & ;;
    s3-postgres) "$SERVICES_BIN" --swift --postgres --env "$WORK/services.env" 2> "$WORK/services.log" & ;;
    *) echo "unknown MODE $MODE" >&2; exit 2 ;;
  esac
  SERVICES_PID=$!
  for _ in $(seq 1200); do
    [ -f "$WORK/services.env" ] && break
    kill -0 "$SERVICES_PID" 2>/dev/null || { cat "$WORK/services.log" >&2; exit 1; }
    sleep 0.1
  done
  . "$WORK/services.env"
  printf '%s\n' "$LOUPE_TEST_S3_SECRET" > "$WORK/s3-secret"
  {
    printf 'assets { s3 { endpoint: "%s" bucket: "%s" access_key_id: "%s" secret_access_key_file: "%s" } }\n' \
      "$LOUPE_TEST_S3_ENDPOINT" "$LOUPE_TEST_S3_BUCKET" "$LOUPE_TEST_S3_KEY_ID" "$WORK/s3-secret"
    [ "$MODE" = s3-postgres ] && printf 'storage { postgres { url: "%s" apply_migrations: true } }\n' "$LOUPE_TEST_PG_URL"
    true
  } > "$WORK/extra.conf"
  export LOUPE_CONFIG_EXTRA="$WORK/extra.conf"
}

# The object the bucket holds for sha256 $1, written to $2 (curl signs).
bucket_get() {
  local user; user=$(python3 -c "import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=''))" "$LOUPE_TEST_S3_KEY_ID")
  curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
    "${LOUPE_TEST_S3_ENDPOINT/\/\////$user:$LOUPE_TEST_S3_SECRET@}/$LOUPE_TEST_S3_BUCKET/assets/$1" -o "$2"
}

start_registry() {
  rm -f "$WORK/run.log"
  LOUPE_NO_BUILD=1 LOUPE_BUILD_DIR="$BUILD" LOUPE_DATA_DIR="$WORK/data" \
    LOUPE_LISTEN=127.0.0.1:0 LOUPE_HTTP_LISTEN=127.0.0.1:0 \
    "$ROOT/tools/run.sh" > "$WORK/run.log" 2>&1 &
  RUN_PID=$!
  for _ in $(seq 300); do
    grep -q "HTTP gateway on port" "$WORK/run.log" 2>/dev/null && break
    kill -0 "$RUN_PID" 2>/dev/null || break
    sleep 0.1
  done
  PORT=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$WORK/run.log")
  [ -n "$PORT" ] || fail "the registry did not start"
  export LOUPE_SERVER=127.0.0.1:$PORT LOUPE_CA="$WORK/data/tls/ca.pem"
  HTTP_PORT=$(sed -n 's/.*HTTP gateway on port \([0-9]*\).*/\1/p' "$WORK/run.log")
  [ -n "$HTTP_PORT" ] || fail "the HTTP gateway did not start"
}

start_services
start_registry
grep -q "LOUPE_TOKEN_STUDIO_AURUM=loupe_" "$WORK/run.log" || fail "tokens not printed"
grep -q "loupe piece create" "$WORK/run.log" || fail "next commands not printed"
set -a; . "$WORK/data/dev-tokens.env"; set +a
export LOUPE_TOKEN=$LOUPE_TOKEN_STUDIO_AURUM
cd "$WORK"
python3 "$ROOT/tools/gen/ring_stl.py" ring.stl
python3 "$ROOT/tools/gen/ring_stl.py" ring-size8.stl --inner-diameter 18.19
cat > facts.json <<'JSON'
{"assay": {"alloy": "18k rose gold", "fineness_per_mille": 750,
           "composition": {"Au": 0.75, "Cu": 0.2, "Ag": 0.05}},
 "ring_size": {"system": "RING_SIZE_SYSTEM_US", "value": "8",
               "inner_diameter_mm": 18.19}}
JSON

V1=$("$LOUPE" --json piece create --studio aurum --reference E2E-1 --kind ring \
     --title "E2E solitaire" --cad ring.stl)
ID=$(echo "$V1" | json 'd["piece_id"]')
SHA=$(echo "$V1" | json 'd["assets"][0]["sha256"]')
[ "$SHA" = "$(sha256sum ring.stl | cut -d' ' -f1)" ] || fail "recorded sha256 differs"

"$LOUPE" version add "$ID" --reason resize --note "US 7 -> 8" \
  --from facts.json --cad ring-size8.stl > add.txt
grep -q "version   2 of $ID (parent 1, resize)" add.txt || fail "resize version: $(cat add.txt)"

LIST=$("$LOUPE" --json version list "$ID")
[ "$(echo "$LIST" | json '",".join(v["reason"] for v in d["versions"])')" = \
  "VERSION_REASON_ORIGINAL,VERSION_REASON_RESIZE" ] || fail "version list: $LIST"
[ "$(echo "$LIST" | json 'd["versions"][1]["assay"]["alloy"]')" = "18k rose gold" ] \
  || fail "facts not recorded"
"$LOUPE" version list "$ID" | grep -q "^2  resize" || fail "human version list"

"$LOUPE" asset get "$SHA" --piece "$ID" -o copy.stl > /dev/null
cmp copy.stl ring.stl || fail "downloaded file differs"
if [ "$MODE" != default ]; then
  bucket_get "$SHA" bucket.stl || fail "the bucket holds no object for $SHA"
  cmp bucket.stl ring.stl || fail "the bucket's object differs"
fi
LOUPE_TOKEN=$LOUPE_TOKEN_BENCH "$LOUPE" asset get "$SHA" --piece "$ID" -o bench.stl > /dev/null
cmp bench.stl ring.stl || fail "granted jeweler's copy differs"

# A certificate of version 2, verified offline with the files.
"$LOUPE" cert issue "$ID" -o cert.json > /dev/null
CERT_ID=$(json 'd["id"]' < <("$LOUPE" --json cert list "$ID" | head -1))
page() { python3 -c "import ssl,sys,urllib.request as u
c=ssl.create_default_context(cafile='$LOUPE_CA')
try: print(u.urlopen('https://127.0.0.1:$HTTP_PORT/verify/'+sys.argv[1],context=c).read().decode())
except Exception as e: print(e.read().decode())" "$1"; }
page "$CERT_ID" > page.html; grep -q "<h1>Authentic</h1>" page.html || fail "verify page: $(cat page.html)"
"$LOUPE" verify cert.json --root "$WORK/data/keys/root.json" --file ring-size8.stl \
  > verify.txt || fail "certificate did not verify: $(cat verify.txt)"
grep -q "VALID: piece $ID version 2" verify.txt || fail "verify report: $(cat verify.txt)"

set +e
"$LOUPE" verify cert.json --root "$WORK/data/keys/root.json" --file ring.stl > verify.txt
[ $? -eq 1 ] && grep -q "MATCHES NO SUBJECT" verify.txt || fail "v1 file accepted for v2"
LOUPE_TOKEN=$LOUPE_TOKEN_INSURER "$LOUPE" asset get "$SHA" --piece "$ID" -o x.stl 2> err.txt
[ $? -eq 1 ] && grep -q PERMISSION_DENIED err.txt || fail "insurer read the design"
[ ! -e x.stl ] || fail "a refused download left a file"
# TLS by default: a plain-text client gets nowhere; over mutual TLS bench's
# client certificate stands in for its token.
LOUPE_CA= "$LOUPE" piece show "$ID" 2> err.txt
[ $? -eq 1 ] && grep -q UNAVAILABLE err.txt || fail "a plain-text client got through: $(cat err.txt)"
LOUPE_TOKEN= LOUPE_CERT="$WORK/data/tls/client-bench.pem" LOUPE_KEY="$WORK/data/tls/client-bench.key" \
  "$LOUPE" asset get "$SHA" --piece "$ID" -o via-mtls.stl || fail "bench over mutual TLS"
cmp via-mtls.stl ring.stl || fail "mutual TLS download differs"
# A piece's facts are public; its files are not.
LOUPE_TOKEN= "$LOUPE" piece show "$ID" > shown.txt || fail "public facts refused"
grep -q "E2E solitaire" shown.txt || fail "piece show without a token: $(cat shown.txt)"
LOUPE_TOKEN= "$LOUPE" asset get "$SHA" --piece "$ID" -o x.stl 2> err.txt
[ $? -eq 1 ] && grep -q UNAUTHENTICATED err.txt || fail "no token read the design"
LOUPE_TOKEN=wrong "$LOUPE" piece show "$ID" 2> err.txt
[ $? -eq 1 ] && grep -q UNAUTHENTICATED err.txt || fail "a wrong token accepted"
"$LOUPE" piece create --studio aurum 2> err.txt
[ $? -eq 2 ] || fail "missing flags not a usage error"
"$LOUPE" version add "$ID" --reason melt 2> err.txt
[ $? -eq 2 ] && grep -q "unknown reason" err.txt || fail "bad reason not a usage error"
"$LOUPE" --help > help.txt
[ $? -eq 0 ] && grep -q "Exit status" help.txt || fail "--help"
set -e

# The transparency log: the bundle's proof, a saved checkpoint, an audit.
ROOT_JSON="$WORK/data/keys/root.json"
grep -q "logged: entry" verify.txt 2>/dev/null || \
  "$LOUPE" verify cert.json --root "$ROOT_JSON" | grep -q "logged: entry" \
  || fail "bundle carries no log proof"
"$LOUPE" log checkpoint --root "$ROOT_JSON" -o saved-checkpoint.txt > /dev/null \
  || fail "log checkpoint"

# Owners: keys, the studio sets the first, a signed transfer, its replay.
export LOUPE_KEY_PASSPHRASE="owner passphrase"
"$LOUPE" owner keygen -o alice.key > /dev/null || fail "keygen"
"$LOUPE" owner keygen -o bob.key > /dev/null || fail "keygen 2"
# The encrypted key is created 0600 (it was 0644), whatever the umask.
[ "$(umask 000; "$LOUPE" owner keygen -o carol.key > /dev/null \
     && stat -c %a carol.key)" = 600 ] || fail "owner key file not mode 0600"
[ "$(stat -c %a alice.key)" = 600 ] || fail "owner key file not mode 0600"
"$LOUPE" owner keygen -o alice.key > /dev/null 2>&1 \
  && fail "keygen overwrote a key"
"$LOUPE" owner set "$ID" alice.key.pub > /dev/null || fail "owner set"
LOUPE_TOKEN= "$LOUPE" owner transfer "$ID" --key alice.key --to bob.key.pub \
  --save transfer.json > /dev/null || fail "transfer"
"$LOUPE" owner show "$ID" | grep -q "#2 $(cat bob.key.pub)" || fail "owner history"
set +e
LOUPE_TOKEN= "$LOUPE" owner submit transfer.json 2> err.txt
[ $? -eq 1 ] && grep -q "current owner" err.txt || fail "replayed transfer accepted: $(cat err.txt)"
# Bob reports it stolen (signed, no token); a transfer is then refused.
LOUPE_TOKEN= "$LOUPE" status stolen "$ID" --reason "police report 4711" \
  --owner-key bob.key > status.txt || fail "owner's stolen report"
grep -q "STOLEN (police report 4711; by owner)" status.txt || fail "status: $(cat status.txt)"
LOUPE_TOKEN= "$LOUPE" owner transfer "$ID" --key bob.key --to alice.key.pub 2> err.txt
[ $? -eq 1 ] && grep -q "reported stolen" err.txt || fail "stolen piece transferred: $(cat err.txt)"
page "$CERT_ID" > page.html; grep -q "<h1>Reported stolen</h1>" page.html || fail "verify page of a stolen piece: $(cat page.html)"
# A fresh stapled status makes offline verification fail, with the reason.
"$LOUPE" cert get "$(json 'd["id"]' < <("$LOUPE" --json cert list "$ID" | head -1))" \
  --staple-status -o stolen-cert.json > /dev/null
"$LOUPE" verify stolen-cert.json --root "$ROOT_JSON" --max-status-age 30d > verify.txt
[ $? -eq 1 ] && grep -q "piece STOLEN: police report 4711" verify.txt \
  || fail "stolen piece verified: $(cat verify.txt)"
# The owner's report is not the insurer's to clear (aurum names it as its
# insurer); the owner reports it recovered; the studio then revokes the
# certificates.
LOUPE_TOKEN=$LOUPE_TOKEN_INSURER "$LOUPE" status recovered "$ID" --reason "found" 2> err.txt
[ $? -eq 1 ] && grep -q "PERMISSION_DENIED.*reported stolen by owner" err.txt \
  || fail "insurer cleared the owner's theft report: $(cat err.txt)"
LOUPE_TOKEN= "$LOUPE" status recovered "$ID" --reason "found" --owner-key bob.key \
  > status.txt || fail "owner's recovery"
grep -q "ACTIVE (found; by owner)" status.txt || fail "status: $(cat status.txt)"
"$LOUPE" status revoke "$ID" --reason "issued in error" > /dev/null || fail "revoke"
"$LOUPE" cert get "$(json 'd["id"]' < <("$LOUPE" --json cert list "$ID" | head -1))" \
  --staple-status -o revoked-cert.json > /dev/null
"$LOUPE" verify revoked-cert.json --root "$ROOT_JSON" --max-status-age 30d > verify.txt
[ $? -eq 1 ] && grep -q "piece REVOKED: issued in error" verify.txt \
  || fail "revoked certificate verified: $(cat verify.txt)"
# The old bundle has no stapled status: --online asks the registry.
"$LOUPE" verify cert.json --root "$ROOT_JSON" --online > verify.txt
[ $? -eq 1 ] && grep -q "REVOKED" verify.txt || fail "--online: $(cat verify.txt)"
"$LOUPE" verify cert.json --root "$ROOT_JSON" --max-status-age 30d > verify.txt
[ $? -eq 1 ] && grep -q "none stapled" verify.txt || fail "--max-status-age without status"
"$LOUPE" status suspend "$ID" --reason "x" 2> err.txt
[ $? -eq 1 ] && grep -q "cannot suspend a piece that is revoked" err.txt || fail "revocation not final"
set -e
# The auditor: consistent with the checkpoint saved before all this, and the
# root recomputed from every entry.
"$LOUPE" log audit --root "$ROOT_JSON" --checkpoint saved-checkpoint.txt \
  --entries --save new-checkpoint.txt > audit.txt || fail "audit: $(cat audit.txt)"
grep -q "OK, .* consistent with the saved" audit.txt || fail "audit: $(cat audit.txt)"

# Geometry, offline: the resized ring measures as US 8; a broken file exits 1.
INSPECT=$("$LOUPE" --json geometry inspect ring-size8.stl --alloy 18k-rose)
[ "$(echo "$INSPECT" | json 'd["ring"]["sizes"]["US/Canada"]')" = "8" ] \
  || fail "geometry inspect: $INSPECT"
[ "$(echo "$INSPECT" | json 'd["watertight"]')" = "True" ] || fail "not watertight: $INSPECT"
head -c 1000 ring.stl > broken.stl
set +e
"$LOUPE" geometry inspect broken.stl 2> err.txt
[ $? -eq 1 ] && grep -q "truncated" err.txt || fail "broken mesh: $(cat err.txt)"
"$LOUPE" geometry inspect ring.stl --alloy mithril 2> err.txt
[ $? -eq 2 ] || fail "unknown alloy not a usage error"
# The checker: the resize passes as a resize and fails as a repair.
"$LOUPE" geometry compare ring-size8.stl ring.stl --purpose resize > cmp.txt
[ $? -eq 0 ] && grep -q "US/Canada 8" cmp.txt || fail "resize verdict: $(cat cmp.txt)"
"$LOUPE" geometry compare ring-size8.stl ring.stl --purpose repair --heatmap heat.ply \
  --picture heat.png > cmp.txt
[ $? -eq 1 ] && grep -q "FAIL: 95 % of the surface" cmp.txt || fail "repair verdict: $(cat cmp.txt)"
"$LOUPE" geometry inspect heat.ply > /dev/null || fail "heat map is not a readable PLY"
[ "$(head -c 4 heat.png | tail -c 3)" = "PNG" ] || fail "no PNG picture"
# On the registry: the original ring checked as a resize of version 2,
# signed; as the insurer, who may not read the files, refused.
LOUPE_TOKEN=$LOUPE_TOKEN_BENCH "$LOUPE" check "$ID" ring.stl --version 2 --purpose resize \
  -o check.json > cmp.txt
[ $? -eq 0 ] && grep -q "signed by the registry" cmp.txt && [ -s check.json ] \
  || fail "loupe check: $(cat cmp.txt)"
LOUPE_TOKEN=$LOUPE_TOKEN_INSURER "$LOUPE" check "$ID" ring.stl 2> err.txt
[ $? -eq 1 ] && grep -q PERMISSION_DENIED err.txt || fail "insurer checked the design"
"$LOUPE" geometry compare ring.stl ring.stl --purpose melt 2> err.txt
[ $? -eq 2 ] || fail "unknown purpose not a usage error"
# The studio names the piece's insurers; only insurer principals.
"$LOUPE" status insurers "$ID" bench 2> err.txt
[ $? -eq 1 ] && grep -q "insurers\[0\]: no ROLE_INSURER principal" err.txt \
  || fail "a jeweler named as insurer: $(cat err.txt)"
set -e
"$LOUPE" status insurers "$ID" insurer | grep -q "insurers insurer" || fail "status insurers"
"$LOUPE" piece show "$ID" | grep -q "^insurers  insurer" || fail "piece show lists no insurers"

# A second run reuses the data directory and its tokens.
kill -TERM "$RUN_PID"; wait "$RUN_PID" || true; RUN_PID=""
start_registry
grep -q "exists; keeping it" "$WORK/run.log" || fail "second run did not reuse the data"
"$LOUPE" piece show "$ID" | grep -q "version   2" || fail "piece lost across restart"
echo "cli_e2e: 1 passed, 0 failed"
