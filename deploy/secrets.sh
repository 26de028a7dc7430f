#!/usr/bin/env bash
# Writes .env for `docker compose` from .env.example with a fresh random value for every
# secret the example leaves empty (the ClickHouse users' passwords, Grafana's admin
# password, the WebSocket ticket secret): no deployment starts with a known password.
# An existing .env is never overwritten.
# Usage: deploy/secrets.sh [PATH]      (default: .env next to docker-compose.yml)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${1:-$root/.env}"
if [ -e "$target" ]; then
  echo "error: $target exists; remove it first to generate new secrets" >&2
  exit 1
fi
secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
umask 077
while IFS= read -r line; do
  case "$line" in
    [A-Z]*_PASSWORD= | WOWLOGS_WS_TICKET_SECRET=) printf '%s%s\n' "$line" "$(secret)" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$root/.env.example" > "$target"
echo "wrote $target (mode 600): every secret is new; keep the file out of version control"
