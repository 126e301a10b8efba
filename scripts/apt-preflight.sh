# apt-preflight.sh: sourced by the setup-*.sh scripts. `apt_preflight WHAT SKIPPED` says why
# WHAT cannot be installed and returns 1 when this is not root or has no apt-get (SKIPPED: what
# then happens, e.g. "WebGPU laws will be skipped."); returns 0 when apt-get can run.
apt_preflight() {
  if [ "$(id -u)" != 0 ]; then
    say "not root: cannot install $1. $2"
    return 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    say "no apt-get on this machine: cannot install $1. $2"
    return 1
  fi
  return 0
}
