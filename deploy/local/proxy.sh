#!/usr/bin/env bash
# Starts and stops the local entry point: nginx from Debian's packages in front of the
# upload service and the query API, with TLS from a self-signed certificate made here
# (or your own: WOWLOGS_TLS_CERT, WOWLOGS_TLS_KEY), from deploy/nginx/wowlogs.conf.template.
#
#   deploy/local/proxy.sh start [--https-port P] [--http-port P] [--uploads HOST:PORT[,HOST:PORT...]]
#                               [--query-api HOST:PORT[,...]] [--grafana HOST:PORT] [--max-upload SIZE]
#                               [--state DIR]
#
# Several addresses are replicas of one service, balanced by nginx (compose and
# Kubernetes name one Service instead).
#   deploy/local/proxy.sh stop  [--state DIR]
#
# Prints the HTTPS URL once nginx answers. The certificate, DIR/proxy/tls.crt, is signed
# by a private CA of the machine's own, DIR/proxy/ca.crt (clients that check it:
# curl --cacert DIR/proxy/ca.crt, wowlogs watch --cacert DIR/proxy/ca.crt).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command="${1:-}"; shift || true
https_port=8443 http_port=8080 uploads=127.0.0.1:8081 query_api=127.0.0.1:8082 max_upload=4g
# No Grafana runs in the local stack: /grafana/ answers 502 unless one listens here.
grafana=127.0.0.1:3000
state="${WOWLOGS_STATE:-$here/../../.local-stack}"
while [ $# -gt 0 ]; do
  case "$1" in
    --https-port) https_port="$2"; shift ;;
    --http-port) http_port="$2"; shift ;;
    --uploads) uploads="$2"; shift ;;
    --query-api) query_api="$2"; shift ;;
    --grafana) grafana="$2"; shift ;;
    --max-upload) max_upload="$2"; shift ;;
    --state) state="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$state"
state="$(cd "$state" && pwd)"
dir="$state/proxy"
pidfile="$state/proxy.pid"
# shellcheck source=lib.sh
. "$here/lib.sh"

case "$command" in
  start)
    if running "$pidfile"; then cat "$state/proxy.url"; exit 0; fi
    "$here/install-nginx.sh"
    mkdir -p "$dir/temp"
    cert="${WOWLOGS_TLS_CERT:-$dir/tls.crt}" key="${WOWLOGS_TLS_KEY:-$dir/tls.key}"
    # A private CA of this machine's own (ca.crt: what clients trust) and the server's
    # certificate signed by it; tls.crt is the full chain (the server's, then the CA's).
    # TLS clients that refuse a CA certificate used as a server's (rustls: `wowlogs
    # watch`) need the two apart.
    if [ -z "${WOWLOGS_TLS_CERT:-}" ] && { [ ! -s "$cert" ] || [ ! -s "$dir/ca.crt" ]; }; then
      openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=wowlogs local CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
      openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$key" -out "$dir/tls.csr" 2>/dev/null
      printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
        > "$dir/tls.ext"
      openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 365 \
        -extfile "$dir/tls.ext" -out "$dir/server.crt" 2>/dev/null
      cat "$dir/server.crt" "$dir/ca.crt" > "$cert"
      chmod 600 "$key" "$dir/ca.key"
    fi
    # Render the template as the official image does: only these names are replaced.
    # Replicas: "a,b" becomes "a; server b", one `server` line each in the upstream.
    WOWLOGS_UPLOAD_UPSTREAM="${uploads//,/; server }" WOWLOGS_QUERY_API_UPSTREAM="${query_api//,/; server }" \
    WOWLOGS_GRAFANA_UPSTREAM="$grafana" \
    WOWLOGS_PROXY_HTTP_LISTEN="127.0.0.1:$http_port" WOWLOGS_PROXY_HTTPS_LISTEN="127.0.0.1:$https_port" \
    WOWLOGS_PUBLIC_HTTPS_PORT="$https_port" \
    WOWLOGS_TLS_CERT="$cert" WOWLOGS_TLS_KEY="$key" WOWLOGS_PROXY_MAX_UPLOAD="$max_upload" \
      envsubst "$(printf '${%s} ' WOWLOGS_UPLOAD_UPSTREAM WOWLOGS_QUERY_API_UPSTREAM WOWLOGS_GRAFANA_UPSTREAM WOWLOGS_PROXY_HTTP_LISTEN \
        WOWLOGS_PROXY_HTTPS_LISTEN WOWLOGS_PUBLIC_HTTPS_PORT WOWLOGS_TLS_CERT WOWLOGS_TLS_KEY WOWLOGS_PROXY_MAX_UPLOAD)" \
      < "$here/../nginx/wowlogs.conf.template" > "$dir/wowlogs.conf"
    cat > "$dir/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $pidfile;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/temp/body;
    proxy_temp_path $dir/temp/proxy;
    fastcgi_temp_path $dir/temp/fastcgi;
    uwsgi_temp_path $dir/temp/uwsgi;
    scgi_temp_path $dir/temp/scgi;
    default_type application/octet-stream;
    include $dir/wowlogs.conf;
}
CONF
    nginx -t -q -c "$dir/nginx.conf" -p "$dir" 2>"$dir/check.log" || { cat "$dir/check.log" >&2; exit 1; }
    nginx -c "$dir/nginx.conf" -p "$dir" >"$dir/nginx.out" 2>&1 &
    url="https://127.0.0.1:$https_port"
    echo "$url" > "$state/proxy.url"
    # nginx writes its own pid file; wait for it, then for an answer.
    for _ in $(seq 1 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
    LOG_FILE="$dir/error.log" wait_until "$pidfile" curl -s -o /dev/null --cacert "$cert" "$url/health/live"
    echo "$url"
    ;;
  stop)
    stop_pidfile "$pidfile"
    ;;
  *) echo "usage: $0 start [--https-port P] [--http-port P] [--uploads H:P] [--query-api H:P] [--max-upload SIZE] [--state DIR] | stop" >&2; exit 2 ;;
esac
