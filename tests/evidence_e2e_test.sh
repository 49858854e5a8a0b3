#!/usr/bin/env bash
# Checks as evidence, end to end through the CLI (issue 20, section 1): a
# jeweler records a check of a repair on the registry; the studio cites it
# in the repair version; the certificate carries it and `loupe verify`
# checks its signature and log inclusion offline; tampered evidence fails.
# The server's refusals: a failed check without the studio's reason, a
# check for another purpose, a replayed check of another piece, a check of
# a version that is no longer the parent.
# Usage: evidence_e2e_test.sh LOUPE_SERVER_BIN LOUPE_BIN
set -euo pipefail
SERVER_BIN=$1
LOUPE=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$(dirname "$SERVER_BIN")/.." && pwd)
WORK=$(mktemp -d)
RUN_PID=""
cleanup() {
  [ -n "$RUN_PID" ] && kill -TERM "$RUN_PID" 2>/dev/null && wait "$RUN_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- run.log" >&2; tail -20 "$WORK/run.log" >&2 || true; exit 1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

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
HTTP_PORT=$(sed -n 's/.*HTTP gateway on port \([0-9]*\).*/\1/p' "$WORK/run.log")
[ -n "$PORT" ] && [ -n "$HTTP_PORT" ] || fail "the registry did not start"
export LOUPE_SERVER=127.0.0.1:$PORT LOUPE_CA="$WORK/data/tls/ca.pem"
set -a; . "$WORK/data/dev-tokens.env"; set +a
export LOUPE_TOKEN=$LOUPE_TOKEN_STUDIO_AURUM
ROOT_JSON="$WORK/data/keys/root.json"
cd "$WORK"
python3 "$ROOT/tools/gen/ring_stl.py" ring.stl
python3 "$ROOT/tools/gen/ring_stl.py" repaired.stl   # The repair: as designed.
python3 "$ROOT/tools/gen/ring_stl.py" resized.stl --inner-diameter 18.19
bench() { LOUPE_TOKEN=$LOUPE_TOKEN_BENCH "$LOUPE" "$@"; }
recorded() { sed -n 's/.*recorded: \(ck_[0-9a-f]*\) .*/\1/p' "$1"; }

ID=$("$LOUPE" --json piece create --studio aurum --reference EV-1 --kind ring \
     --title "Evidence ring" --cad ring.stl | json 'd["piece_id"]')
OTHER=$("$LOUPE" --json piece create --studio aurum --reference EV-2 --kind ring \
     --title "Another ring" --cad ring.stl | json 'd["piece_id"]')

# The jeweler records checks; each gets an id and a log entry.
bench check "$ID" repaired.stl --purpose repair --record > pass.txt \
  || fail "passing check: $(cat pass.txt)"
PASS=$(recorded pass.txt)
[ -n "$PASS" ] && grep -q "(log entry [0-9]*)" pass.txt || fail "no check id: $(cat pass.txt)"
set +e
bench check "$ID" resized.stl --purpose repair --record > failed.txt
[ $? -eq 1 ] || fail "a failed check did not exit 1: $(cat failed.txt)"
FAILED=$(recorded failed.txt)
[ -n "$FAILED" ] || fail "failed check not recorded: $(cat failed.txt)"
bench check "$OTHER" repaired.stl --purpose repair --record > other.txt
REPLAY=$(recorded other.txt)
bench check "$ID" resized.stl --purpose resize --record > resize.txt
RESIZE=$(recorded resize.txt)

# Refusals, each naming the field.
refused() {  # WHAT PATTERN ARGS...
  local what=$1 pattern=$2; shift 2
  "$LOUPE" version add "$ID" "$@" > out.txt 2> err.txt
  [ $? -eq 1 ] && grep -q -- "$pattern" err.txt || fail "$what: $(cat out.txt err.txt)"
}
refused "failed check without a reason" "version.evidence\[0\].override_reason" \
  --reason repair --evidence "$FAILED"
refused "check for another purpose" "is a resize check" \
  --reason repair --evidence "$RESIZE"
refused "replayed check of another piece" "is a check of piece $OTHER" \
  --reason repair --evidence "$REPLAY"
refused "unknown check" "NOT_FOUND" \
  --reason repair --evidence ck_00000000000000000000000000000000
set -e

# The repair cites the passing check and publishes its heat map.
"$LOUPE" geometry compare repaired.stl ring.stl --purpose repair --picture heat.png > /dev/null
"$LOUPE" version add "$ID" --reason repair --note "claw re-tipped" --scan repaired.stl \
  --evidence "$PASS" --heat-map "$PASS=heat.png" > add.txt || fail "repair: $(cat add.txt)"
grep -q "^evidence  $PASS: repair check against version 1 within 0.050 mm: PASS" add.txt \
  || fail "version show: $(cat add.txt)"
# The next repair cannot cite a check of version 1 any more.
set +e
refused "check of a version that is no longer the parent" "not this version's parent 2" \
  --reason resize --evidence "$RESIZE"
set -e

# The certificate carries it; verify checks it offline.
"$LOUPE" cert issue "$ID" -o cert.json > /dev/null
"$LOUPE" verify cert.json --root "$ROOT_JSON" > verify.txt || fail "verify: $(cat verify.txt)"
grep -q "evidence: $PASS: repair check against version 1" verify.txt \
  && grep -q "signed check verified, logged: entry" verify.txt \
  || fail "verify shows no evidence: $(cat verify.txt)"

# Tampered evidence fails: a changed number in the signed check, the check
# left out, the check re-signed by a key the registry never had.
tamper() {  # PYTHON-STATEMENT OUT
  python3 - "$1" cert.json "$2" <<'PY'
import base64, json, sys
b = json.load(open(sys.argv[2]))
e = b["evidence"][0]["check"]
p = json.loads(base64.b64decode(e["payload"]))
exec(sys.argv[1])
json.dump(b, open(sys.argv[3], "w"))
PY
}
tamper 'p["max_abs_nm"] = 1; e["payload"] = base64.b64encode(json.dumps(p, separators=(",", ":"), sort_keys=True).encode()).decode()' numbers.json
tamper 'del b["evidence"]' dropped.json
tamper 'e["signatures"][0]["sig"] = base64.b64encode(bytes(64)).decode()' forged.json
set +e
for f in numbers dropped forged; do
  "$LOUPE" verify $f.json --root "$ROOT_JSON" > verify.txt
  [ $? -eq 1 ] && grep -q "INVALID: evidence\[0\] ($PASS)" verify.txt \
    || fail "tampered evidence ($f) verified: $(cat verify.txt)"
done
set -e

# The verify page says it in plain words and shows the heat map.
CERT_ID=$(json 'd["id"]' < <("$LOUPE" --json cert list "$ID" | tail -1))
get() { python3 -c "import ssl,sys,urllib.request as u
c=ssl.create_default_context(cafile='$LOUPE_CA')
sys.stdout.buffer.write(u.urlopen('https://127.0.0.1:$HTTP_PORT'+sys.argv[1],context=c).read())" "$1"; }
get "/verify/$CERT_ID" > page.html
grep -q "Repaired on 20[0-9-]* by bench: checked against the original within 0.05 mm ([0-9.]* % of the surface; largest difference 0" page.html \
  || fail "verify page: $(grep -o '<ul class="evidence".*' page.html || cat page.html)"
HEAT=$(sha256sum heat.png | cut -d' ' -f1)
get "/verify/$CERT_ID/heat-map/$HEAT" | cmp - heat.png || fail "heat map not served"
echo "evidence_e2e: 1 passed, 0 failed"
