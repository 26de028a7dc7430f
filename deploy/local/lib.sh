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

# A fresh random secret (48 hex digits).
random_secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

# The passwords of a local ClickHouse, made at its state directory's first start and
# kept in file $1 (mode 600) as NAME=VALUE lines: WOWLOGS_LOCAL_CLICKHOUSE_PASSWORD for
# the `default` user (the schema owner and the tests), and every password that
# deploy/clickhouse/ names with from_env (the services' users, Grafana's, the guild
# reader). No local server runs with a known or empty password.
clickhouse_passwords() {
  local file="$1" config
  config="$(dirname "${BASH_SOURCE[0]}")/../clickhouse"
  [ -s "$file" ] && return 0
  (
    umask 077
    {
      echo "WOWLOGS_LOCAL_CLICKHOUSE_PASSWORD=$(random_secret)"
      grep -rho 'from_env="[A-Z_]*"' "$config" | sed 's/from_env="\(.*\)"/\1/' | sort -u |
        while read -r name; do echo "$name=$(random_secret)"; done
    } > "$file.partial"
  )
  mv "$file.partial" "$file"
}

# Copies ClickHouse configuration file $1 to $3 for 18.16 (root element <yandex>),
# each <password from_env="NAME"/> replaced by NAME's value in passwords file $2.
with_passwords() {
  local source="$1" passwords="$2" target="$3" script="" name value
  while IFS='=' read -r name value; do
    script+="s|<password from_env=\"$name\"/>|<password>$value</password>|;"
  done < "$passwords"
  sed -e "$script" -e 's|<clickhouse>|<yandex>|; s|</clickhouse>|</yandex>|' "$source" > "$target"
}

# The packaged users.xml (`default` and `readonly`, both without a password) copied to
# $2 with the `default` password of passwords file $1 for both.
packaged_users() {
  local password
  password="$(sed -n 's/^WOWLOGS_LOCAL_CLICKHOUSE_PASSWORD=//p' "$1")"
  sed -e "s|<password></password>|<password>$password</password>|" /etc/clickhouse-server/users.xml > "$2"
}

# The local ClickHouse's URL at port $2 with the `default` user's credentials of
# passwords file $1 (http://default:PASSWORD@127.0.0.1:PORT): what every wowlogs
# command and test takes as its ClickHouse URL.
clickhouse_url() {
  echo "http://default:$(sed -n 's/^WOWLOGS_LOCAL_CLICKHOUSE_PASSWORD=//p' "$1")@127.0.0.1:$2"
}
