#!/usr/bin/env bash
# Installs ClickHouse from Debian's packages (18.16) if it is not there yet. The system
# service is not used: deploy/local/clickhouse.sh runs the server with the project's
# own data directory on 127.0.0.1.
set -euo pipefail
if command -v clickhouse-server >/dev/null 2>&1 && command -v clickhouse-client >/dev/null 2>&1; then
  exit 0
fi
echo "installing clickhouse-server and clickhouse-client from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=""
[ "$(id -u)" = 0 ] || sudo_cmd="sudo"
$sudo_cmd apt-get update -qq >&2
$sudo_cmd apt-get install -y -qq clickhouse-server clickhouse-client >&2
