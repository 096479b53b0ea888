#!/usr/bin/env bash
# Installs Debian's Chromium for the browser test of the Temporal Web UI, when it is missing.
# Needs root and apt (as on the project's machines); elsewhere it says so and the test fails
# with a message that names this script.
set -euo pipefail
exec 1>&2
[[ -x /usr/bin/chromium ]] && exit 0
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "scripts/setup-browser.sh: install Debian's chromium package (needs root and apt-get)"
  exit 0
fi
echo "scripts/setup-browser.sh: installing chromium from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium >/dev/null
