#!/usr/bin/env bash
# The local stack on 127.0.0.1, without Docker: the broker (tansu, in memory; set
# WOWLOGS_BROKER_STORAGE=sqlite to keep its data in .local-stack/), ClickHouse (schema migrated), the upload service (`wowlogs serve`) and
# both consumer groups (`wowlogs consume events-sink` and `wowlogs consume encounters`:
# the topics into ClickHouse).
#
#   deploy/local/stack.sh start     build, start everything, print the URLs
#
# The public entry point is nginx on https://127.0.0.1:8443 (http :8080 redirects), with
# a certificate signed by a private CA of its own, .local-stack/proxy/ca.crt (curl --cacert …); the
# services' own ports stay on loopback for operators and tests.
#   deploy/local/stack.sh stop      stop everything (data stays in .local-stack/)
#   deploy/local/stack.sh status
#
# Environment: WOWLOGS_PRODUCER_LISTEN (default 127.0.0.1:8081),
# WOWLOGS_QUERY_API_LISTEN (default 127.0.0.1:8082), WOWLOGS_BROKER_PORT (default 9092),
# WOWLOGS_HTTPS_PORT (default 8443), WOWLOGS_HTTP_PORT (default 8080).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
state="${WOWLOGS_STATE:-$root/.local-stack}"
mkdir -p "$state"
port="${WOWLOGS_BROKER_PORT:-9092}"
listen="${WOWLOGS_PRODUCER_LISTEN:-127.0.0.1:8081}"
api_listen="${WOWLOGS_QUERY_API_LISTEN:-127.0.0.1:8082}"
export WOWLOGS_BROKERS="127.0.0.1:$port"
wowlogs="$root/target/release/wowlogs"

# shellcheck source=lib.sh
. "$here/lib.sh"

case "${1:-}" in
  start)
    (cd "$root" && cargo build --release --locked --bin wowlogs >&2)
    # In memory by default: tansu's sqlite engine stalls consumer groups under load
    # (docs/local-stack.md, known limits). ClickHouse keeps the projections either way.
    storage=(--memory)
    [ "${WOWLOGS_BROKER_STORAGE:-memory}" = sqlite ] && storage=()
    "$here/broker.sh" start "${storage[@]}" --port "$port" --state "$state" >/dev/null
    "$wowlogs" topics create >/dev/null
    export WOWLOGS_CLICKHOUSE_URL="$("$here/clickhouse.sh" start --state "$state")"
    "$wowlogs" migrate >/dev/null
    "$wowlogs" progress seed-targets >/dev/null
    # The services log in as their own users, with the passwords clickhouse.sh made.
    passwords="$state/clickhouse/passwords.env"
    password_of() { sed -n "s/^$1=//p" "$passwords"; }
    ingest=(env WOWLOGS_CLICKHOUSE_USER=wowlogs_ingest
      "WOWLOGS_CLICKHOUSE_PASSWORD=$(password_of WOWLOGS_INGEST_CLICKHOUSE_PASSWORD)")
    api=(env WOWLOGS_CLICKHOUSE_USER=wowlogs_api
      "WOWLOGS_CLICKHOUSE_PASSWORD=$(password_of WOWLOGS_API_CLICKHOUSE_PASSWORD)")
    if [ ! -s "$state/demo-api-key" ]; then
      guild_id="$("$wowlogs" guild create --name Loothing --server Stormrage --region US --faction Alliance | sed -n 's/^created guild \([0-9]*\) .*/\1/p')"
      (umask 077 && "$wowlogs" api-key create --guild "$guild_id" --description "local demo" \
        --permissions upload,query,stream,admin --max-connections 10 2>/dev/null > "$state/demo-api-key")
      echo "$guild_id" > "$state/demo-guild-id"
    fi
    if [ ! -s "$state/instance-admin-key" ]; then
      (umask 077 && "$wowlogs" api-key create --instance-admin --description "local operator" \
        2>/dev/null > "$state/instance-admin-key")
    fi
    if ! running "$state/producer.pid"; then
      "${ingest[@]}" "$wowlogs" serve --listen "$listen" >"$state/producer.log" 2>&1 &
      echo $! > "$state/producer.pid"
      LOG_FILE="$state/producer.log" wait_until "$state/producer.pid" curl -fs "http://$listen/health/live"
    fi
    if ! running "$state/sink.pid"; then
      "${ingest[@]}" "$wowlogs" consume events-sink --instance-id local --metrics-addr 127.0.0.1:9464 >"$state/sink.log" 2>&1 &
      echo $! > "$state/sink.pid"
    fi
    if ! running "$state/encounters.pid"; then
      "${ingest[@]}" "$wowlogs" consume encounters --instance-id local --metrics-addr 127.0.0.1:9465 >"$state/encounters.log" 2>&1 &
      echo $! > "$state/encounters.pid"
    fi
    if ! running "$state/query-api.pid"; then
      "${api[@]}" "$wowlogs" query-api --listen "$api_listen" --log-format json --log info >"$state/query-api.log" 2>&1 &
      echo $! > "$state/query-api.pid"
      LOG_FILE="$state/query-api.log" wait_until "$state/query-api.pid" curl -fs "http://$api_listen/health/live"
    fi
    proxy_url="$("$here/proxy.sh" start --state "$state" --https-port "${WOWLOGS_HTTPS_PORT:-8443}" \
      --http-port "${WOWLOGS_HTTP_PORT:-8080}" --uploads "$listen" --query-api "$api_listen")"
    echo "entry point:    $proxy_url  (TLS: --cacert $state/proxy/ca.crt; uploads, /api/v1/..., /ws, /docs, /redoc, /health)"
    echo "broker:         $WOWLOGS_BROKERS (tansu, ${WOWLOGS_BROKER_STORAGE:-memory})"
    echo "clickhouse:     http://${WOWLOGS_CLICKHOUSE_URL#*@} (database wowlogs, data in $state/clickhouse; its URL with the default user's password in $state/clickhouse.url, every user's password in $passwords)"
    echo "upload service: http://$listen  (behind the entry point; metrics http://127.0.0.1:9461/metrics)"
    echo "consumers:      events sink http://127.0.0.1:9464/metrics, encounters http://127.0.0.1:9465/metrics"
    echo "query API:      http://$api_listen  (behind the entry point; metrics http://127.0.0.1:9462/metrics)"
    echo "demo guild:     $(cat "$state/demo-guild-id") \"Loothing\", API key in $state/demo-api-key"
    echo "operator:       instance-admin key in $state/instance-admin-key (/api/v1/admin/* only)"
    ;;
  stop)
    "$here/proxy.sh" stop --state "$state"
    stop_pidfile "$state/producer.pid"
    stop_pidfile "$state/query-api.pid"
    stop_pidfile "$state/sink.pid"
    stop_pidfile "$state/encounters.pid"
    "$here/broker.sh" stop --state "$state"
    "$here/clickhouse.sh" stop --state "$state"
    echo "stopped (data kept in $state)"
    ;;
  status)
    "$here/broker.sh" status --state "$state" || true
    "$here/clickhouse.sh" status --state "$state" || true
    if running "$state/proxy.pid"; then echo "entry point running at $(cat "$state/proxy.url")"; else echo "entry point stopped"; fi
    if running "$state/producer.pid"; then echo "upload service running at http://$listen"; else echo "upload service stopped"; fi
    if running "$state/query-api.pid"; then echo "query API running at http://$api_listen"; else echo "query API stopped"; fi
    if running "$state/sink.pid"; then echo "events sink running"; else echo "events sink stopped"; fi
    if running "$state/encounters.pid"; then echo "encounter consumer running"; else echo "encounter consumer stopped"; fi
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
