#!/usr/bin/env bash
# Creates a development certificate authority and certificates for a local
# registry (openssl), so that the development default is encrypted:
#   DIR/ca.pem, DIR/ca.key           the development CA (10 years)
#   DIR/server.pem, DIR/server.key   for localhost, 127.0.0.1 and ::1
#   DIR/client-NAME.pem, .key        client certificates (CN=NAME) for
#                                    mutual TLS, one per NAME given
# Usage: dev_tls.sh DIR [NAME...]. Existing files are kept.
set -euo pipefail
DIR=${1:?usage: dev_tls.sh DIR [NAME...]}
shift
mkdir -p "$DIR"
cd "$DIR"
umask 077
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2> /dev/null; }
if [ ! -f ca.pem ]; then
  key ca.key
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -out ca.pem \
    -subj "/CN=Loupe development CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
fi
issue() {  # name subject extensions
  [ -f "$1.pem" ] && return
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 825 -sha256 -extfile "$1.ext" -out "$1.pem" 2> /dev/null
  rm -f "$1.csr" "$1.ext"
}
issue server "/CN=localhost" \
  "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature"
for name in "$@"; do
  issue "client-$name" "/CN=$name" \
    "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature"
done
chmod 0644 ca.pem server.pem client-*.pem 2> /dev/null || true
