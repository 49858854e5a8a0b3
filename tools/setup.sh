#!/usr/bin/env bash
# Installs every build and test dependency of Loupe from Debian packages.
# Idempotent: packages already present are skipped, so it is fine to run again.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libsodium-dev libssl-dev libboost-dev zlib1g-dev
  libgtest-dev libgmock-dev libcli11-dev nlohmann-json3-dev
  clang-format clang libclang-rt-14-dev python3-nacl python3-open3d python3-yaml
  nodejs chromium wrk nginx-light openssl curl libcurl4-openssl-dev
  postgresql-15 libpqxx-dev libpq-dev
  libocct-data-exchange-dev libocct-modeling-algorithms-dev
  libocct-foundation-dev libocct-modeling-data-dev lib3mf-dev admesh
  libtinygltf-dev fonts-ipafont-gothic
  swift-proxy swift-object swift-container swift-account python3-swift
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The verify page's front-end files and the browser test's driver come
# from the npm registry, pinned by server/http/web/package-lock.json.
install_web() {
  local web
  web="$(cd "$(dirname "$0")/.." && pwd)/server/http/web"
  if [ ! -d "$web/node_modules/three" ] || [ "$web/package-lock.json" -nt "$web/node_modules" ]; then
    echo "setup: npm ci in $web"
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$web/node_modules"
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  install_web
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_web
echo "setup: done"
