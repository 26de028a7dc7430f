# Process helpers shared by the deploy/local scripts (sourced, not run).

# True when the pid in file $1 is alive.
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Stops the process in pid file $1: TERM, up to 10 s for it to exit, then KILL.
stop_pidfile() {
  if running "$1"; then
    local pid
    pid="$(cat "$1")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

# Waits up to 30 s for command "$2..." to succeed while the process in pid file $1
# lives; on failure prints log file $LOG_FILE's tail and returns 1.
wait_until() {
  local pidfile="$1"; shift
  for _ in $(seq 1 150); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! running "$pidfile"; then
      echo "the process exited; see ${LOG_FILE:-its log}" >&2
      [ -n "${LOG_FILE:-}" ] && tail -20 "$LOG_FILE" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "no answer within 30 s; see ${LOG_FILE:-its log}" >&2
  return 1
}

# Installs Debian packages "$@" (with sudo unless root), quietly, after refreshing the
# package lists; what it does goes to stderr.
apt_install() {
  echo "installing $* from Debian's packages" >&2
  local sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
