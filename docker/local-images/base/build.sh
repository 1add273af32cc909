#!/usr/bin/env bash
# Debian bookworm base image for the local image builds, from the Debian mirror apt already uses
# on this machine (no image registry needed). Usage: build.sh IMAGE_TAG [LABEL=VALUE]
# A minbase root filesystem is bootstrapped into a temporary folder and imported as one layer.
set -euo pipefail
tag=${1:?usage: build.sh IMAGE_TAG [LABEL=VALUE]}
changes=(--change 'CMD ["/bin/bash"]')
if [ -n "${2:-}" ]; then changes+=(--change "LABEL $2"); fi
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$(mktemp -d /var/tmp/fintrade-bookworm.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
cat > "$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} bookworm-security main
SOURCES
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
tar --numeric-owner -C "$root" -c . | docker import "${changes[@]}" - "$tag" >/dev/null
echo "$tag"
