#!/usr/bin/env bash
# setup-browser.sh: install Debian's `chromium` for the browser tests (laws/browser.test.ts,
# laws/web-example.test.ts), which drive it headless over the DevTools protocol (puppeteer-core;
# no browser download).
#
#   1. /usr/bin/chromium (or $PARTAX_CHROMIUM) runs already: nothing to do.
#   2. Not root, or no apt-get: say so, exit 0 (the browser tests then skip, saying why).
#   3. apt-get install -y chromium (after apt-get update when the package lists do not know it).
# Always exits 0: a missing browser is not a CI failure, only fewer tests run.
set -uo pipefail

say() { echo "setup-browser: $*"; }
chromium="${PARTAX_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$chromium" ] && "$chromium" --version >/dev/null 2>&1; then
  say "$("$chromium" --version 2>/dev/null) is already installed; nothing to do."
  exit 0
fi
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/apt-preflight.sh"
apt_preflight chromium "The browser tests will be skipped." || exit 0

export DEBIAN_FRONTEND=noninteractive
log=/tmp/setup-browser-apt.log
if ! apt-get install -y -q chromium >"$log" 2>&1; then
  apt-get update -q >>"$log" 2>&1
  if ! apt-get install -y -q chromium >>"$log" 2>&1; then
    tail -n 20 "$log"
    say "installing chromium failed (log above). The browser tests will be skipped."
    exit 0
  fi
fi
if "$chromium" --version >/dev/null 2>&1; then
  say "installed $("$chromium" --version 2>/dev/null)"
else
  say "chromium installed but $chromium does not run. The browser tests will be skipped."
fi
exit 0
