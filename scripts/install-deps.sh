#!/usr/bin/env bash
# Installs the system packages hookhost builds, tests and benchmarks with (Debian 12).
# Idempotent: a package already present is not reinstalled; safe to run on every CI start.
#   WITH_TESTS=0       only what building and `hookhost demo` need (scripts/demo.sh)
#   WITH_CONTAINERS=0  leaves out podman & co.; the container test then says it skipped
#   WITH_BENCH=1       adds wrk and nginx for bench/
# Services the packages bring (nginx, prometheus) are not started: a policy-rc.d refuses it during
# the install.
set -euo pipefail
# Building and the demo: the C libraries hookhost links (OpenSSL) and opens (libcurl), pkg-config.
pkgs=(libcurl4-openssl-dev libssl-dev pkg-config)
# Installed without their recommendations: only the one tool in them is wanted.
lean=()
if [ "${WITH_TESTS:-1}" = 1 ]; then
  # The end-to-end suite: Python (a venv with pytest and independent signers from PyPI), curl,
  # fuse (the power-cut tests' lazyfs), nginx and haproxy (the load-balancer tests), openssl (TLS test certificates).
  pkgs+=(python3 python3-venv curl fuse libfuse2 nginx haproxy openssl)
  # The operator console's tests drive a real browser: headless Chromium through its WebDriver
  # (Selenium from Tests/e2e/requirements.txt talks to it).
  pkgs+=(chromium chromium-driver)
  # The container test (podman builds and runs the image; debootstrap makes its base once, cached
  # in .build/container/). On by default; WITH_CONTAINERS=0 skips these and the test says why.
  [ "${WITH_CONTAINERS:-1}" = 1 ] && pkgs+=(podman runc debootstrap uidmap slirp4netns libcap2-bin)
  # promtool checks container/alerts.yml; the package's server is neither wanted nor started, and
  # it recommends node-exporter and its collectors (more services), hence lean.
  lean+=(prometheus)
fi
[ "${WITH_BENCH:-0}" = 1 ] && pkgs+=(wrk nginx)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
missing_lean=()
for p in "${lean[@]}"; do installed "$p" || missing_lean+=("$p"); done
if [ $(( ${#missing[@]} + ${#missing_lean[@]} )) -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing: ${missing[*]} ${missing_lean[*]}" >&2
  # Debian starts a service when its package is installed (nginx on :80, prometheus on :9090 under
  # systemd); the tests and benchmarks start their own nginx on loopback ports and need only
  # prometheus's promtool, so refuse that for this install.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  trap '[ "$made_policy" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  $SUDO apt-get update -qq
  if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if [ ${#missing_lean[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing_lean[@]}" >/dev/null
    # Not at the next boot either: the package enables its server (systemd or not running).
    if [[ " ${missing_lean[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null; then
      $SUDO systemctl disable --quiet prometheus.service 2>/dev/null || true
    fi
  fi
fi
