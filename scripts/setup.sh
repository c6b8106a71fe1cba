#!/usr/bin/env bash
# Installs everything slaf needs to build and test on Debian 12, idempotently (run as root).
set -euo pipefail
PKGS=(build-essential cmake ninja-build ccache pkg-config
      libzstd-dev liblz4-dev libxxhash-dev libsimdjson-dev
      libgtest-dev libgmock-dev libbenchmark-dev
      clang-14 libclang-rt-14-dev
      python3-numpy python3-scipy python3-h5py python3-anndata
      libhdf5-dev zlib1g-dev
      libcurl4-openssl-dev nginx-light openssl curl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup: all packages present"
