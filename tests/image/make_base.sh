#!/usr/bin/env bash
# A local stand-in for python:3.11-slim, made from Debian's packages (no container registry is reachable
# here): bookworm's Python 3.11 as a virtual environment at /usr/local, so python, pip and site-packages
# sit where the official image has them. Written once as $1/base.tar; a second call does nothing.
set -euo pipefail
cache=$1
mirror=${DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(\S*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
mirror=${mirror:-http://deb.debian.org/debian}
[ -s "$cache/base.tar" ] && exit 0
mkdir -p "$cache"
root=$(mktemp -d "$cache/rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log"; exit 1; }
chroot "$root" python3 -m venv /usr/local
# The official image's layout: python and pip on PATH under /usr/local, no apt lists, no pip cache.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/root/.cache
tar -C "$root" --numeric-owner -cf "$cache/base.tar.partial" .
mv "$cache/base.tar.partial" "$cache/base.tar"
