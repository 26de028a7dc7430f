#!/usr/bin/env bash
# The main job, end to end on this machine, no Docker: start the local stack (the
# Kafka-compatible broker, ClickHouse, the upload service and both consumer groups),
# upload a real raid log over HTTP, bulk-import another with the CLI, and show what they
# became: the upload status, the raw rows, the fights and players in ClickHouse, the
# guild's view through the query API, and the full report of `wowlogs analyze` (the
# same core the encounter consumer runs).
# Usage: deploy/local/demo.sh        (the first run builds the broker: ~12 minutes, once)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
fixtures="${WOWLOGS_FIXTURES:-$(cd "$root/.." && pwd)/shared/fixtures}"
raid="$fixtures/classic_sod_1.15.1_gnomeregan_raid.txt"
arena="$fixtures/retail_tww_11.0.2_dummies_skirmish.txt"

echo "==> starting the local stack"
"$here/stack.sh" start
export WOWLOGS_BROKERS="127.0.0.1:${WOWLOGS_BROKER_PORT:-9092}"
state="${WOWLOGS_STATE:-$root/.local-stack}"
# Everything goes through the one HTTPS entry point (nginx), its certificate checked.
entry="$(cat "$state/proxy.url")"
tls=(--cacert "$state/proxy/tls.crt")
key="$(cat "$state/demo-api-key")"
guild="$(cat "$state/demo-guild-id")"
wowlogs="$root/target/release/wowlogs"

echo "==> uploading $(basename "$raid") over HTTP"
# Its timestamps (`M/D`) carry no year: the upload says which (else the most recent date
# not after the upload would be taken).
answer="$(curl -fsS "${tls[@]}" -X POST -H "Authorization: Bearer $key" -F "file=@$raid" -F "year=2024" "$entry/api/v1/logs/upload")"
echo "$answer"
upload_id="$(printf '%s' "$answer" | sed -n 's/.*"upload_id":"\([^"]*\)".*/\1/p')"
for _ in $(seq 1 100); do
  status="$(curl -fsS "${tls[@]}" -H "Authorization: Bearer $key" "$entry/api/v1/uploads/$upload_id")"
  case "$status" in *'"status":"processing"'*) sleep 0.3 ;; *) break ;; esac
done
echo "$status"

echo "==> bulk-importing $(basename "$arena") with the CLI (guild $guild)"
"$wowlogs" import --quiet --guild "$guild" "$arena"

clickhouse="${WOWLOGS_CLICKHOUSE_URL:-http://127.0.0.1:8123}"
query() { curl -fsS "$clickhouse/?database=wowlogs" --data-binary "$1"; }
# wait_for SQL N: until the count SQL returns reaches N (30 s at most).
wait_for() {
  for _ in $(seq 1 60); do
    [ "$(query "$1")" -ge "$2" ] && return 0
    sleep 0.5
  done
  echo "warning: $1 did not reach $2" >&2
}

echo "==> what reached ClickHouse (the events sink)"
wait_for "SELECT count() FROM combat_events FINAL WHERE guild_id = $guild" 26712
query "SELECT log_id, state, lines, events, dead_letters FROM logs FINAL WHERE guild_id = $guild FORMAT PrettyCompactNoEscapes"
query "SELECT event_type, count() AS events, sum(amount) AS amount FROM combat_events FINAL WHERE guild_id = $guild GROUP BY event_type ORDER BY events DESC LIMIT 8 FORMAT PrettyCompactNoEscapes"

echo "==> the fights in ClickHouse (the encounter consumer)"
wait_for "SELECT count() FROM encounters FINAL WHERE guild_id = $guild" 2
query "SELECT name, kind, if(kill = 1, 'kill', if(kill = 0, 'wipe/loss', '-')) AS outcome, round(duration_ms / 1000, 1) AS seconds, start FROM encounters FINAL WHERE guild_id = $guild ORDER BY start_ms FORMAT PrettyCompactNoEscapes"
query "SELECT e.name AS fight, p.name AS player, p.class, round(p.dps) AS dps, round(p.hps) AS hps, p.deaths FROM encounter_players AS p FINAL ANY INNER JOIN (SELECT guild_id, log_id, start_line, name FROM encounters FINAL WHERE guild_id = $guild) AS e USING (guild_id, log_id, start_line) WHERE p.guild_id = $guild ORDER BY fight, dps DESC LIMIT 10 FORMAT PrettyCompactNoEscapes"

echo "==> the guild's view through the query API (GET /api/v1/encounters/stats, /progress, /encounters)"
curl -fsS "${tls[@]}" -H "Authorization: Bearer $key" "$entry/api/v1/encounters/stats"; echo
curl -fsS "${tls[@]}" -H "Authorization: Bearer $key" "$entry/api/v1/progress"; echo
curl -fsS "${tls[@]}" -H "Authorization: Bearer $key" "$entry/api/v1/encounters?limit=5" | head -c 1500; echo

echo "==> the operator's view of every guild (GET /api/v1/admin/guilds with the instance-admin key)"
operator_key="$(cat "$state/instance-admin-key")"
curl -fsS "${tls[@]}" -H "Authorization: Bearer $operator_key" "$entry/api/v1/admin/guilds"; echo

echo "==> the full report of the same logs, with no servers: wowlogs analyze"
"$wowlogs" analyze --year 2024 "$raid" "$arena"
echo
echo "The stack keeps running: deploy/local/stack.sh stop"
