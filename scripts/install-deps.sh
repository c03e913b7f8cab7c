#!/usr/bin/env bash
# Installs the system packages hookhost builds, tests and benchmarks with (Debian 12).
# Idempotent: a package already present is not reinstalled; safe to run on every CI start.
set -euo pipefail
pkgs=(libcurl4-openssl-dev libssl-dev pkg-config python3 python3-venv curl fuse libfuse2)
[ "${WITH_BENCH:-0}" = 1 ] && pkgs+=(wrk nginx)
# nginx for the load-balancer test; openssl CLI for the TLS test's certificates.
pkgs+=(nginx openssl)
# The container test (podman builds and runs the image; debootstrap makes its base once, cached
# in .build/container/). On by default; WITH_CONTAINERS=0 skips these and the test says why.
[ "${WITH_CONTAINERS:-1}" = 1 ] && pkgs+=(podman runc debootstrap uidmap slirp4netns libcap2-bin)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
