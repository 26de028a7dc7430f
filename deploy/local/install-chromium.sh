#!/usr/bin/env bash
# Installs Debian's headless Chromium for the browser tests (cli/tests/browser.rs) if it
# is not there yet. Tests start it themselves with an empty profile and no network.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
apt_install chromium
