#!/usr/bin/env bash
# Starts and stops the local Kafka-compatible broker (tansu) on 127.0.0.1.
#
#   deploy/local/broker.sh start [--memory] [--port PORT] [--state DIR]
#   deploy/local/broker.sh stop  [--state DIR]
#   deploy/local/broker.sh status [--state DIR]
#
# --memory keeps everything in memory (tests); otherwise topics, data and committed
# offsets live in DIR/broker.db and survive restarts. DIR defaults to .local-stack/.
# Prints the bootstrap address (127.0.0.1:PORT) once the broker accepts connections.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command="${1:-}"; shift || true
port=9092 memory=0 state="${WOWLOGS_STATE:-$here/../../.local-stack}"
while [ $# -gt 0 ]; do
  case "$1" in
    --memory) memory=1 ;;
    --port) port="$2"; shift ;;
    --state) state="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$state"
state="$(cd "$state" && pwd)"
pidfile="$state/broker.pid"

# shellcheck source=lib.sh
. "$here/lib.sh"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case "$command" in
  start)
    if running "$pidfile"; then echo "broker already running (pid $(cat "$pidfile"))" >&2; cat "$state/broker.addr"; exit 0; fi
    if [ "$memory" = 1 ]; then kind=memory engine="memory://tansu/"; else kind=sqlite engine="sqlite://broker.db"; fi
    bin="$("$here/install-broker.sh" "$kind")"
    # The sqlite path is relative to the working directory: run inside the state dir.
    (cd "$state" && exec "$bin" broker \
        --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine "$engine" >"$state/broker.log" 2>&1) &
    echo $! > "$pidfile"
    echo "127.0.0.1:$port" > "$state/broker.addr"
    LOG_FILE="$state/broker.log" wait_until "$pidfile" port_open "$port"
    echo "127.0.0.1:$port"
    ;;
  stop)
    stop_pidfile "$pidfile"
    ;;
  status)
    if running "$pidfile"; then echo "running (pid $(cat "$pidfile")) at $(cat "$state/broker.addr")"; else echo "stopped"; exit 1; fi
    ;;
  *) echo "usage: $0 start [--memory] [--port PORT] [--state DIR] | stop | status" >&2; exit 2 ;;
esac
