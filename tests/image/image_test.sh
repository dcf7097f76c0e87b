#!/usr/bin/env bash
# `make image-test`: build the Dockerfile's images from the working tree and test them as uid 1000.
#   tests/image/image_test.sh CACHE PYTHON
# Needs root (debootstrap, buildah's chroot isolation) and apt-get (buildah and debootstrap come from
# Debian's packages); elsewhere it says why it skips and exits 0.
set -euo pipefail
cache=$(realpath -m "$1")
python=$2
if [ "$(id -u)" != 0 ]; then
    echo "SKIP image-test: not root (debootstrap and buildah's chroot isolation need root); nothing was built or tested"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "SKIP image-test: no apt-get to install buildah and debootstrap from; nothing was built or tested"
    exit 0
fi
missing=""
for tool in buildah debootstrap; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
if [ -n "$missing" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
cd "$(dirname "$0")/../.."
started=$(date +%s)
"$python" -m tests.image.containers "$cache"
FLYTELITE_IMAGE_CACHE="$cache" "$python" -m pytest -q -p no:cacheprovider tests/image
echo "image-test: passed in $(( $(date +%s) - started )) s"
