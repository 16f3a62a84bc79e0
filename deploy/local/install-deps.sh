#!/usr/bin/env bash
# Installs the build, test and local-broker dependencies from Debian, then the
# Python test venv. Idempotent: when everything is present it does nothing and
# touches no network.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

PKGS=(
  build-essential cmake pkg-config
  librdkafka-dev libavro-dev liblmdb-dev lmdb-utils libjansson-dev libmicrohttpd-dev
  libcurl4-openssl-dev
  kcat openjdk-17-jre-headless maven unzip curl
  clang libclang-rt-14-dev clang-format
  tmux python3-venv
  openssl systemd
  prometheus
  chromium chromium-driver wrk
)

missing=()
for p in "${PKGS[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
  [[ "$status" == installed ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=()
  [[ $(id -u) -eq 0 ]] || SUDO=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

"$ROOT/tests/support/venv.sh"
