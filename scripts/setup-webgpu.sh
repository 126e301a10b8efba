#!/usr/bin/env bash
# setup-webgpu.sh: make Dawn (npm `webgpu`) find a WebGPU adapter on a machine without a GPU,
# by installing Mesa's lavapipe (software Vulkan) from Debian bookworm-backports.
#
#   1. If scripts/webgpu-probe.mjs already finds an adapter: nothing to do.
#   2. Not root, or no apt-get, or no /etc/apt/sources.list.d/debian.sources: say so, exit 0
#      (the WebGPU laws then skip themselves, visibly).
#   3. Else write /etc/apt/sources.list.d/backports.sources: the first stanza of debian.sources
#      with `Suites:` set to bookworm-backports (same URIs and Signed-By), then
#      apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers,
#      and probe again.
# Always exits 0: a missing WebGPU adapter is not a CI failure, only fewer laws run.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
probe() { node "$here/webgpu-probe.mjs"; }
say() { echo "setup-webgpu: $*"; }

if probe; then
  say "a WebGPU adapter is already available; nothing to install."
  exit 0
fi

. "$here/apt-preflight.sh"
apt_preflight "mesa-vulkan-drivers (lavapipe)" "WebGPU laws will be skipped." || exit 0

src_dir=/etc/apt/sources.list.d
debian_sources="$src_dir/debian.sources"
backports_sources="$src_dir/backports.sources"
if [ ! -f "$debian_sources" ]; then
  say "no $debian_sources (not a deb822 Debian image?): cannot add bookworm-backports. WebGPU laws will be skipped."
  exit 0
fi

if [ ! -f "$backports_sources" ]; then
  # First stanza (up to the first blank line), with the Suites line replaced.
  awk 'NF == 0 { exit } /^Suites:/ { print "Suites: bookworm-backports"; next } { print }' \
    "$debian_sources" > "$backports_sources.tmp"
  if ! grep -q '^Suites: bookworm-backports$' "$backports_sources.tmp"; then
    rm -f "$backports_sources.tmp"
    say "could not derive a backports stanza from $debian_sources. WebGPU laws will be skipped."
    exit 0
  fi
  mv "$backports_sources.tmp" "$backports_sources"
  say "wrote $backports_sources:"
  sed 's/^/  /' "$backports_sources"
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -q >/tmp/setup-webgpu-apt.log 2>&1; then
  tail -n 20 /tmp/setup-webgpu-apt.log
  say "apt-get update failed (log above). WebGPU laws will be skipped."
  exit 0
fi
if ! apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers >>/tmp/setup-webgpu-apt.log 2>&1; then
  tail -n 20 /tmp/setup-webgpu-apt.log
  say "installing mesa-vulkan-drivers from bookworm-backports failed (log above). WebGPU laws will be skipped."
  exit 0
fi
say "installed $(dpkg-query -W -f='mesa-vulkan-drivers ${Version}' mesa-vulkan-drivers 2>/dev/null)"

if probe; then
  say "WebGPU adapter available (lavapipe)."
else
  say "lavapipe installed but Dawn still finds no adapter. WebGPU laws will be skipped."
fi
exit 0
