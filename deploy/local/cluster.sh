#!/usr/bin/env bash
# Starts and stops a small local ClickHouse cluster: ZooKeeper (Debian's `zookeeper`)
# and three `clickhouse-server` processes (Debian's 18.16), each with its own data
# directory and ports on 127.0.0.1, forming the cluster `wowlogs`:
#
#   shard 1: node 1 and node 2 (two replicas of the same data)
#   shard 2: node 3
#
#   deploy/local/cluster.sh start [--state DIR] [--base-port P]
#   deploy/local/cluster.sh stop  [--state DIR]
#   deploy/local/cluster.sh status [--state DIR]
#   deploy/local/cluster.sh stop-node N [--state DIR]    (one server down, the rest up)
#   deploy/local/cluster.sh start-node N [--state DIR]
#
# `start` prints node 1's HTTP URL once every server answers, with the `default` user's
# credentials (every user has a password, made at the first start and kept in
# DIR/cluster/passwords.env: lib.sh's clickhouse_passwords); `wowlogs migrate
# --cluster wowlogs` against it creates the replicated tables on every node. Ports: P
# for ZooKeeper, then P+10N+1 (HTTP), P+10N+2 (native), P+10N+3 (replication) for node
# N (default P = 28100). State lives in DIR/cluster/ (default .local-stack/).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command="${1:-}"; shift || true
node=""
state="${WOWLOGS_STATE:-$here/../../.local-stack}" base_port=28100
while [ $# -gt 0 ]; do
  case "$1" in
    --state) state="$2"; shift ;;
    --base-port) base_port="$2"; shift ;;
    1|2|3) node="$1" ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$state/cluster"
dir="$(cd "$state/cluster" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

# The ports are fixed at the first start (kept in DIR/cluster/base-port).
[ -f "$dir/base-port" ] || echo "$base_port" > "$dir/base-port"
base_port="$(cat "$dir/base-port")"
zk_port="$base_port"
http_port() { echo $((base_port + 10 * $1 + 1)); }
tcp_port() { echo $((base_port + 10 * $1 + 2)); }
interserver_port() { echo $((base_port + 10 * $1 + 3)); }
# Every user's password (made at the first start), and a node's URL with the `default`
# user's credentials.
passwords="$dir/passwords.env"
node_url() { clickhouse_url "$passwords" "$(http_port "$1")"; }
shard_of() { if [ "$1" -le 2 ]; then echo 01; else echo 02; fi; }

install() {
  "$here/install-clickhouse.sh"
  "$here/install-zookeeper.sh"
}

start_zookeeper() {
  local pidfile="$dir/zookeeper.pid"
  running "$pidfile" && return 0
  mkdir -p "$dir/zookeeper/data"
  cat > "$dir/zookeeper/zoo.cfg" <<EOF
tickTime=2000
dataDir=$dir/zookeeper/data
clientPort=$zk_port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok
EOF
  java -Xmx256m -cp "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar" \
    -Dzookeeper.log.dir="$dir/zookeeper" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zookeeper/zoo.cfg" \
    >"$dir/zookeeper/out" 2>&1 &
  echo $! > "$pidfile"
  LOG_FILE="$dir/zookeeper/out" wait_until "$pidfile" zookeeper_ok
}

zookeeper_ok() {
  # A connection accepted while the server is still starting may never answer.
  [ "$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$zk_port; echo ruok >&3; cat <&3" 2>/dev/null)" = imok ]
}

# The cluster's layout, ZooKeeper and this node's macros and ports, merged over the
# packaged config.xml (ClickHouse reads config.d/ next to the main file).
write_node_config() {
  local n="$1" data="$dir/node$1"
  mkdir -p "$data/config.d" "$data/tmp" "$data/user_files" "$data/format_schemas" "$data/users.d"
  cp /etc/clickhouse-server/config.xml "$data/config.xml"
  # Every user with a password (the cluster's, made at its first start: lib.sh).
  clickhouse_passwords "$passwords"
  packaged_users "$passwords" "$data/users.xml"
  with_passwords "$here/../clickhouse/users.d/services.xml" "$passwords" "$data/users.d/services.xml"
  local replica password
  password="$(sed -n 's/^WOWLOGS_LOCAL_CLICKHOUSE_PASSWORD=//p' "$passwords")"
  replica() {
    echo "<replica><host>127.0.0.1</host><port>$(tcp_port "$1")</port><user>default</user><password>$password</password></replica>"
  }
  cat > "$data/config.d/cluster.xml" <<EOF
<yandex>
  <path>$data/</path>
  <tmp_path>$data/tmp/</tmp_path>
  <user_files_path>$data/user_files/</user_files_path>
  <format_schema_path>$data/format_schemas/</format_schema_path>
  <users_config>$data/users.xml</users_config>
  <logger><log>$data/server.log</log><errorlog>$data/server.err.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$(http_port "$n")</http_port>
  <tcp_port>$(tcp_port "$n")</tcp_port>
  <interserver_http_port>$(interserver_port "$n")</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <zookeeper><node><host>127.0.0.1</host><port>$zk_port</port></node></zookeeper>
  <macros><cluster>wowlogs</cluster><shard>$(shard_of "$n")</shard><replica>node$n</replica></macros>
  <remote_servers>
    <wowlogs>
      <shard><internal_replication>true</internal_replication>$(replica 1)$(replica 2)</shard>
      <shard><internal_replication>true</internal_replication>$(replica 3)</shard>
    </wowlogs>
  </remote_servers>
</yandex>
EOF
}

start_node() {
  local n="$1" data="$dir/node$1" pidfile="$dir/node$1.pid"
  running "$pidfile" && return 0
  [ -f "$data/config.d/cluster.xml" ] || write_node_config "$n"
  clickhouse-server --config-file="$data/config.xml" >"$data/out" 2>&1 &
  echo $! > "$pidfile"
  LOG_FILE="$data/server.err.log" wait_until "$pidfile" curl -fs "$(node_url "$n")/?query=SELECT%201"
}

if { [ "$command" = stop-node ] || [ "$command" = start-node ]; } && [ -z "$node" ]; then
  echo "$command: which node (1, 2 or 3)?" >&2; exit 2
fi

case "$command" in
  start)
    install
    start_zookeeper
    for n in 1 2 3; do start_node "$n"; done
    node_url 1
    ;;
  stop)
    for n in 1 2 3; do stop_pidfile "$dir/node$n.pid"; done
    stop_pidfile "$dir/zookeeper.pid"
    ;;
  stop-node)
    stop_pidfile "$dir/node$node.pid"
    ;;
  start-node)
    start_node "$node"
    node_url "$node"
    ;;
  status)
    up=0
    for n in 1 2 3; do
      if running "$dir/node$n.pid"; then echo "node $n: running at http://127.0.0.1:$(http_port "$n")"; up=$((up + 1));
      else echo "node $n: stopped"; fi
    done
    if running "$dir/zookeeper.pid"; then echo "zookeeper: running on 127.0.0.1:$zk_port"; else echo "zookeeper: stopped"; fi
    [ "$up" = 3 ]
    ;;
  *) echo "usage: $0 start|stop|status [--state DIR] [--base-port P] | stop-node N | start-node N" >&2; exit 2 ;;
esac
