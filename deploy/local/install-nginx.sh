#!/usr/bin/env bash
# Installs nginx from Debian's packages if it is not there yet. The system service is not
# used: deploy/local/proxy.sh runs nginx with the project's own configuration.
set -euo pipefail
if command -v nginx >/dev/null 2>&1 && command -v envsubst >/dev/null 2>&1; then
  exit 0
fi
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
apt_install nginx gettext-base
