#!/usr/bin/env bash
# Installs the optional Fashion-MNIST dataset (Debian's dataset-fashion-mnist: the IDX .gz files
# under /usr/share/datasets/fashion-mnist) so that its tests run instead of being skipped.
# Never fails: without root or apt, or offline, the Fashion-MNIST tests skip with a message.
set -u
if dpkg -s dataset-fashion-mnist >/dev/null 2>&1; then
  echo "setup-data: dataset-fashion-mnist is installed"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-data: not root or no apt-get: Fashion-MNIST tests will be skipped (install with: apt-get install dataset-fashion-mnist)"
  exit 0
fi
if ! apt-get install -y --no-install-recommends dataset-fashion-mnist >/tmp/setup-data.log 2>&1; then
  apt-get update >>/tmp/setup-data.log 2>&1 || true
  apt-get install -y --no-install-recommends dataset-fashion-mnist >>/tmp/setup-data.log 2>&1 \
    || { echo "setup-data: could not install dataset-fashion-mnist (see /tmp/setup-data.log); its tests will be skipped"; exit 0; }
fi
echo "setup-data: installed dataset-fashion-mnist"
