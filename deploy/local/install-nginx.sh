#!/usr/bin/env bash
# Installs nginx from Debian's packages if it is not there yet. The system service is not
# used: deploy/local/proxy.sh runs nginx with the project's own configuration.
set -euo pipefail
if command -v nginx >/dev/null 2>&1 && command -v envsubst >/dev/null 2>&1; then
  exit 0
fi
echo "installing nginx and gettext-base (envsubst) from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=""
[ "$(id -u)" = 0 ] || sudo_cmd="sudo"
$sudo_cmd apt-get update -qq >&2
$sudo_cmd apt-get install -y -qq nginx gettext-base >&2
