#!/usr/bin/env bash
# Starts and stops a local ClickHouse on 127.0.0.1 with a data directory of its own.
#
#   deploy/local/clickhouse.sh start [--http-port P] [--tcp-port P] [--state DIR]
#   deploy/local/clickhouse.sh stop  [--state DIR]
#   deploy/local/clickhouse.sh status [--state DIR]
#
# Prints the HTTP URL once the server answers queries, with the `default` user's
# credentials (http://default:PASSWORD@127.0.0.1:PORT: every wowlogs command and test
# takes it as is). Every user has a password, made at the state directory's first start
# and kept in DIR/clickhouse/passwords.env (mode 600; the services' users under the
# names deploy/clickhouse/ gives them). Data lives in DIR/clickhouse/ (default
# .local-stack/).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command="${1:-}"; shift || true
http_port=8123 tcp_port=9000 state="${WOWLOGS_STATE:-$here/../../.local-stack}"
while [ $# -gt 0 ]; do
  case "$1" in
    --http-port) http_port="$2"; shift ;;
    --tcp-port) tcp_port="$2"; shift ;;
    --state) state="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$state"
state="$(cd "$state" && pwd)"
data="$state/clickhouse"
pidfile="$state/clickhouse.pid"
# shellcheck source=lib.sh
. "$here/lib.sh"

case "$command" in
  start)
    if running "$pidfile"; then cat "$state/clickhouse.url"; exit 0; fi
    "$here/install-clickhouse.sh"
    mkdir -p "$data/tmp" "$data/user_files" "$data/format_schemas" "$data/users.d"
    # Passwords for every user, made at this state directory's first start (see
    # clickhouse_passwords in lib.sh): the packaged users (`default`, on loopback),
    # the services' own users and limits (deploy/clickhouse/users.d/services.xml) and
    # Grafana's; the guild reader may read every database here, since each test has
    # databases of its own (production names wowlogs's two).
    passwords="$data/passwords.env"
    clickhouse_passwords "$passwords"
    packaged_users "$passwords" "$data/users.xml"
    with_passwords "$here/../clickhouse/users.d/services.xml" "$passwords" "$data/users.d/services.xml"
    with_passwords "$here/../clickhouse/users.d/grafana.xml" "$passwords" "$data/users.d/grafana.xml.full"
    awk '/<wowlogs_guild_reader>/ { reader = 1 } reader && /<allow_databases>/ { skip = 1 }
         !skip { print } skip && /<\/allow_databases>/ { skip = 0 } /<\/wowlogs_guild_reader>/ { reader = 0 }' \
      "$data/users.d/grafana.xml.full" > "$data/users.d/grafana.xml"
    rm "$data/users.d/grafana.xml.full"
    reader_password="$(sed -n 's/^WOWLOGS_CLICKHOUSE_GUILD_READER_PASSWORD=//p' "$passwords")"
    # The packaged config (read next to its config.d/) with the guild reader cluster
    # on this server's port, then our paths and ports, listening on loopback only.
    mkdir -p "$data/config.d"
    cp /etc/clickhouse-server/config.xml "$data/config.xml"
    cat > "$data/config.d/guild-reader.xml" <<EOF
<yandex>
  <remote_servers>
    <wowlogs_guild_reader>
      <shard><replica><host>127.0.0.1</host><port>$tcp_port</port><user>wowlogs_guild_reader</user><password>$reader_password</password></replica></shard>
    </wowlogs_guild_reader>
  </remote_servers>
</yandex>
EOF
    clickhouse-server --config-file="$data/config.xml" -- \
      --path="$data/" --tmp_path="$data/tmp/" --user_files_path="$data/user_files/" \
      --format_schema_path="$data/format_schemas/" --users_config="$data/users.xml" \
      --logger.log="$data/server.log" --logger.errorlog="$data/server.err.log" \
      --listen_host=127.0.0.1 --http_port="$http_port" --tcp_port="$tcp_port" \
      --interserver_http_port=0 >"$state/clickhouse.out" 2>&1 &
    echo $! > "$pidfile"
    url="$(clickhouse_url "$passwords" "$http_port")"
    (umask 077; echo "$url" > "$state/clickhouse.url"; chmod 600 "$state/clickhouse.url")
    LOG_FILE="$data/server.err.log" wait_until "$pidfile" curl -fs "$url/?query=SELECT%201"
    echo "$url"
    ;;
  stop)
    stop_pidfile "$pidfile"
    ;;
  status)
    if running "$pidfile"; then echo "running (pid $(cat "$pidfile")) at $(cat "$state/clickhouse.url")"; else echo "stopped"; exit 1; fi
    ;;
  *) echo "usage: $0 start [--http-port P] [--tcp-port P] [--state DIR] | stop | status" >&2; exit 2 ;;
esac
