#!/usr/bin/env bash
# Makes the runtime base image `localhost/hookhost-base:bookworm` without a registry: a minimal
# Debian 12 root filesystem from debootstrap holding the host's runtime libraries, imported into
# podman. It stands in for debian:bookworm-slim + the Containerfile's apt-get step (which needs a
# registry and network inside the build), so local builds pass `--build-arg INSTALL_PACKAGES=0`.
#
# Cached: the rootfs tarball in .build/container/base.tar (CI caches .build/), the image in
# podman's storage. Usage: container/local-base.sh [MIRROR]   (default: the machine's apt mirror)
# BASE_FLAVOR=python adds python3 (the `with-python` image): localhost/hookhost-base:bookworm-python.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/container/containers.conf}
flavor=${BASE_FLAVOR:-}
extra=""
case "$flavor" in
  "") ;;
  python) extra=",python3" ;;
  *) echo "BASE_FLAVOR: expected nothing or python, got '$flavor'" >&2; exit 2 ;;
esac
image=localhost/hookhost-base:bookworm${flavor:+-$flavor}
cache=.build/container/base${flavor:+-$flavor}.tar
if podman image exists "$image"; then echo "$image exists" >&2; exit 0; fi
if [ ! -s "$cache" ]; then
  mirror=${1:-}
  if [ -z "$mirror" ]; then
    # The Debian archive among the apt sources (not -security, not third-party repositories).
    mirror=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
             | head -1 | awk '{print $2}' || true)
  fi
  mirror=${mirror:-http://deb.debian.org/debian}
  root=$(mktemp -d /tmp/hookhost-rootfs.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  echo "debootstrap bookworm from $mirror (a few minutes, once)" >&2
  debootstrap --variant=minbase --include=libcurl4,libssl3,ca-certificates,libcap2-bin$extra bookworm "$root" "$mirror" >&2
  # What debian:bookworm-slim also drops: caches, docs, the apt lists.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
  mkdir -p "$(dirname "$cache")"
  tar -C "$root" -cf "$cache.tmp" . && mv "$cache.tmp" "$cache"
fi
podman import --change 'CMD ["/bin/bash"]' "$cache" "$image" >&2
echo "$image imported" >&2
