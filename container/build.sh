#!/usr/bin/env bash
# The image in one command, with no registry: builds hookhost, makes the runtime base with
# debootstrap (container/local-base.sh, cached), stages the binary (and the example functions)
# and runs `podman build --target prebuilt`. Users with a registry can use the Containerfile's
# own stages instead (`podman build --format docker -f container/Containerfile .`).
#
#   container/build.sh [--examples] [--python] [--debug] [--tag NAME]
#     --examples  bake the example functions into /functions
#     --python    a base with python3, for Python handlers (the default image has sh and bash only)
#     --debug     the debug build and the Swift libraries it links (fast; the tests use it)
#                 instead of a release build with --static-swift-stdlib
#     --tag NAME  image name (default: localhost/hookhost:latest, :python with --python)
# Needs root (or a working rootless podman), podman, runc and debootstrap (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
examples=0 python=0 debug=0 tag=""
while [ $# -gt 0 ]; do
  case "$1" in
    --examples) examples=1 ;;
    --python) python=1 ;;
    --debug) debug=1 ;;
    --tag) shift; tag=${1:?--tag needs a name} ;;
    --tag=*) tag=${1#--tag=} ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "container/build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$tag" ] || { [ "$python" = 1 ] && tag=localhost/hookhost:python || tag=localhost/hookhost:latest; }
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/container/containers.conf}
for tool in podman debootstrap; do
  command -v "$tool" >/dev/null || { echo "container/build.sh: $tool is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

ctx=$(mktemp -d "${TMPDIR:-/tmp}/hookhost-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/container/prebuilt/bin" "$ctx/container/prebuilt/lib" "$ctx/container/prebuilt/functions"
if [ "$debug" = 1 ]; then
  echo "== swift build (debug)" >&2
  swift build --product hookhost >&2
  bin=.build/debug/hookhost
  # The Swift runtime libraries the debug binary links (those outside the system's directories).
  ldd "$bin" | awk '$3 ~ /^\// {print $3}' | grep -vE '^/(usr/)?lib(64)?/' | while read -r lib; do cp "$lib" "$ctx/container/prebuilt/lib/"; done
else
  echo "== swift build -c release --static-swift-stdlib" >&2
  swift build -c release --static-swift-stdlib --product hookhost >&2
  bin=.build/release/hookhost
fi
cp "$bin" "$ctx/container/prebuilt/bin/hookhost"
if [ "$examples" = 1 ]; then
  echo "== example functions" >&2
  SWIFT_BUILD_FLAGS=--static-swift-stdlib Functions/build.sh "$ctx/container/prebuilt/functions" >&2
fi
flavor=""; [ "$python" = 1 ] && flavor=python
echo "== runtime base" >&2
BASE_FLAVOR=$flavor container/local-base.sh >&2
base=localhost/hookhost-base:bookworm${flavor:+-$flavor}
echo "== podman build $tag" >&2
# Docker format: the OCI image format has no HEALTHCHECK, podman would drop it.
podman build -q --format docker -f container/Containerfile --target prebuilt \
  --build-arg RUNTIME_IMAGE="$base" --build-arg INSTALL_PACKAGES=0 -t "$tag" "$ctx" >&2
echo "$tag"
