#!/usr/bin/env bash
# Installs ClickHouse from Debian's packages (18.16) if it is not there yet. The system
# service is not used: deploy/local/clickhouse.sh runs the server with the project's
# own data directory on 127.0.0.1.
set -euo pipefail
if command -v clickhouse-server >/dev/null 2>&1 && command -v clickhouse-client >/dev/null 2>&1; then
  exit 0
fi
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
apt_install clickhouse-server clickhouse-client
