#!/usr/bin/env python3
"""Static checks of the production stack, which cannot run here (no Docker engine, no
cluster): docker-compose.yml, .env.example, the Dockerfile, the Grafana provisioning
and the rendered Kubernetes manifests.

Usage: python3 deploy/checks/stack.py <rendered-k8s.yaml> <rendered-k8s-clickhouse-cluster.yaml>
  (needs PyYAML and jsonschema; the compose schema comes from check-jsonschema's
  vendored copy of the Compose Specification; test.sh installs them in a venv)
Prints one line per check group and 'stack: N passed, M failed'; exits non-zero on any
failure.
"""
import json
import pathlib
import re
import sys

import jsonschema
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema

root = pathlib.Path(__file__).resolve().parents[2]
passed = 0
failures = []


def check(ok, message):
    global passed
    if ok:
        passed += 1
    else:
        failures.append(message)


# --- .env.example: the documented variables ------------------------------------------
env_example = (root / ".env.example").read_text()
documented = set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]+)=", env_example, re.M))

# --- What the services read: clap `env = "..."` and std::env::var in library code ----
# The test kit (platform/testkit) is a dev-dependency: its variables are the tests' own,
# documented in docs/development.md, not the services'.
sources = [
    p
    for p in root.glob("**/src/**/*.rs")
    if "target" not in p.parts and "fuzz" not in p.parts and "testkit" not in p.parts
]
read_by_code = set()
for path in sources:
    text = path.read_text()
    read_by_code.update(re.findall(r'env\s*=\s*"([A-Z][A-Z0-9_]+)"', text))
    read_by_code.update(re.findall(r'env::var(?:_os)?\("([A-Z][A-Z0-9_]+)"\)', text))
read_by_code.discard("USER")  # the operator's login name, for the audit log
read_by_code.discard("HOME")  # the player's home, where `wowlogs watch` looks by default
# The OpenTelemetry variables the exporter reads (cli/src/telemetry.rs lists them).
telemetry = (root / "cli/src/telemetry.rs").read_text()
read_by_code.update(re.findall(r"`(OTEL_[A-Z_]+)`", telemetry))
for name in sorted(read_by_code):
    check(name in documented, f".env.example does not document {name}, which the services read")

# --- docker-compose.yml ---------------------------------------------------------------
compose_text = (root / "docker-compose.yml").read_text()
compose = yaml.safe_load(compose_text)
schema = get_builtin_schema("vendor.compose-spec")
validator = jsonschema.validators.validator_for(schema)(schema)
errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
for error in errors:
    failures.append(f"docker-compose.yml: {'/'.join(map(str, error.path))}: {error.message}")
passed += not errors

interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose_text))
# No known secret: every password and secret of .env.example is empty (deploy/secrets.sh
# fills them), and Compose refuses to start without each.
for name, value in re.findall(r"^([A-Z][A-Z0-9_]*(?:PASSWORD|SECRET))=(.*)$", env_example, re.M):
    check(value == "", f".env.example gives {name} a value: secrets have no defaults")
    check(f"${{{name}:?" in compose_text, f"docker-compose.yml does not require {name}")
# Services without authentication are not published beyond the host, nor Grafana, which
# is reached through the entry point (TLS) at /grafana/.
for service in ("prometheus", "alertmanager", "grafana"):
    for port in compose["services"][service].get("ports", []):
        check(str(port).startswith("127.0.0.1:"), f"docker-compose.yml publishes {service} on every interface: {port}")
check("--web.enable-lifecycle" not in compose_text, "docker-compose.yml turns on Prometheus's lifecycle API")
grafana_env = compose["services"]["grafana"]["environment"]
template = (root / "deploy/nginx/wowlogs.conf.template").read_text()
check(str(grafana_env.get("GF_SERVER_SERVE_FROM_SUB_PATH")) == "true"
      and str(grafana_env.get("GF_SERVER_ROOT_URL", "")).endswith("/grafana/")
      and "location /grafana/" in template
      and compose["services"]["proxy"]["environment"].get("WOWLOGS_GRAFANA_UPSTREAM") == "grafana:3000",
      "Grafana is served from /grafana/ behind the entry point")
# New Grafana users never become Viewers of the main organisation (the operators' data).
check(str(compose["services"]["grafana"]["environment"].get("GF_USERS_AUTO_ASSIGN_ORG")) == "false",
      "docker-compose.yml: Grafana adds new users to the main organisation (GF_USERS_AUTO_ASSIGN_ORG)")
for name in sorted(interpolated):
    check(name in documented, f"docker-compose.yml reads ${{{name}}}, which .env.example does not document")


def resolve(value):
    """A compose value with ${VAR:-default} / ${VAR:?error} / ${VAR} replaced by the default."""
    return re.sub(r"\$\{[A-Z0-9_]+(?::?[-?]([^}]*))?\}", lambda m: m.group(1) or "", str(value))


def pinned(image):
    name, _, tag = resolve(image).rpartition(":")
    return bool(name) and bool(tag) and tag != "latest" and re.search(r"\d", tag) is not None


one_shot = {"migrate", "seed-targets", "topics"}
# Services that read the host itself, read-only: the node exporter its filesystems (disk
# and memory metrics), Alloy the containers' log files; every other mount is a named
# volume or a file of this repository.
host_readers = {"node-exporter", "alloy"}
# Runs on a schedule and serves nothing: no port to check; a failed run exits (and is
# restarted), a finished one is on the audit trail.
scheduled = {"retention", "backup"}
wowlogs_services = {"migrate", "seed-targets", "topics", "producer", "consumers", "query-api", "retention", "backup"}
for name, service in compose["services"].items():
    check(pinned(service.get("image", "")), f"service {name}: image {service.get('image')} is not pinned to a version")
    check("restart" in service, f"service {name}: no restart policy")
    limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
    check("memory" in limits and "cpus" in limits, f"service {name}: no cpu and memory limits")
    if name in one_shot:
        check(service.get("restart") == "no", f"one-shot {name} must not restart")
    elif name in scheduled:
        check(service.get("restart") == "unless-stopped", f"scheduled {name} must come back after a failed run")
    else:
        check("healthcheck" in service, f"service {name}: no health check")
    if name in wowlogs_services:
        for variable in service.get("environment", {}):
            check(variable in read_by_code, f"service {name} sets {variable}, which no wowlogs code reads")
    for mount in service.get("volumes", []):
        source = mount.split(":")[0]
        if source.startswith("./"):
            check((root / source).exists(), f"service {name} mounts {source}, which does not exist")
        elif name in host_readers and source.startswith("/"):
            check(":ro" in mount, f"service {name} must mount the host's {source} read-only")
        else:
            check(source in (compose.get("volumes") or {}), f"service {name}: volume {source} is not a named volume")
consumers = compose["services"]["consumers"]
check("container_name" not in consumers and "ports" not in consumers,
      "consumers must scale (--scale consumers=3): no container_name, no host ports")
prometheus = yaml.safe_load((root / "deploy/prometheus/prometheus.yml").read_text())
jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
check(jobs.get("consumers", {}).get("dns_sd_configs", [{}])[0].get("names") == ["consumers"],
      "Prometheus must find every consumers replica through DNS")
print(f"compose: {len(compose['services'])} services, {len(interpolated)} variables, {len(read_by_code)} read by the code")

# --- docs/operations.md against docker-compose.yml --------------------------------------
# Every address the operations guide tells a compose user to reach from the host is one
# compose publishes, and every port its service table gives without "internal" is too.
def published_ports(service):
    ports = set()
    for entry in service.get("ports", []):
        parts = resolve(str(entry)).split(":")
        ports.add(int(parts[-2]) if len(parts) >= 2 else int(parts[-1]))
    return ports


every_published = {port for service in compose["services"].values() for port in published_ports(service)}
operations = (root / "docs/operations.md").read_text()
for scheme, port in re.findall(r"\b(https?)://localhost(?::(\d+))?", operations):
    port = int(port) if port else (443 if scheme == "https" else 80)
    check(port in every_published, f"docs/operations.md sends compose users to localhost:{port}, which compose does not publish")
for name, port_cell in re.findall(r"^\| `([a-z-]+)` \| [^\n]*\| ([^|\n]*) \|$", operations, re.M):
    if name not in compose["services"] or "internal" in port_cell or not port_cell.strip():
        continue
    for port in re.findall(r"(?:^|[\s,:])(\d{2,5})\b", re.sub(r"\d+\.\d+\.\d+\.\d+:", "", port_cell)):
        check(int(port) in published_ports(compose["services"][name]),
              f"docs/operations.md gives {name} port {port}, which compose does not publish for it")

# --- Dockerfile -----------------------------------------------------------------------
dockerfile = (root / "Dockerfile").read_text()
stages = re.findall(r"^FROM\s+(\S+)", dockerfile, re.M)
for image in stages:
    check(pinned(image), f"Dockerfile: FROM {image} is not pinned to a version")
users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
check(bool(users) and not users[-1].startswith(("root", "0")), "Dockerfile: the runtime image must run as a non-root USER")
check(len(stages) >= 2, "Dockerfile: multi-stage (build, runtime)")
ignored = (root / ".dockerignore").read_text().split()
check("target" in ignored, ".dockerignore must leave out target/")

# --- Grafana --------------------------------------------------------------------------
provisioned = yaml.safe_load((root / "grafana/provisioning/datasources/wowlogs.yml").read_text())
uids = {source["uid"] for source in provisioned["datasources"]}
dashboard_uids = []
for path in sorted((root / "grafana/dashboards").glob("*.json")):
    board = json.loads(path.read_text())
    dashboard_uids.append(board["uid"])
    panels = list(board["panels"]) + [p for row in board["panels"] for p in row.get("panels", [])]
    used = [t["datasource"]["uid"] for p in panels for t in p.get("targets", [])]
    used += [v["datasource"]["uid"] for v in board["templating"]["list"] if "datasource" in v]
    for uid in used:
        check(uid in uids, f"{path.name}: data source {uid} is not provisioned")
    ids = [p["id"] for p in panels]
    check(len(ids) == len(set(ids)), f"{path.name}: panel ids repeat")
check(len(dashboard_uids) == len(set(dashboard_uids)), "dashboard uids repeat")
print(f"grafana: {len(dashboard_uids)} dashboards, data sources {sorted(uids)}")

# --- Loki and Alloy ---------------------------------------------------------------------
# Neither can run here (Loki is AGPL and not packaged; Alloy is not packaged): what can be
# checked is that each file is well formed and that the pieces name each other rightly.
loki_config = yaml.safe_load((root / "deploy/loki/loki.yaml").read_text())
loki_service = compose["services"].get("loki", {})
check(any(m.startswith("./deploy/loki/loki.yaml:") for m in loki_service.get("volumes", [])),
      "loki: compose must mount deploy/loki/loki.yaml")
check(f"-config.file={next((m.split(':')[1] for m in loki_service.get('volumes', []) if m.startswith('./deploy/loki/')), '')}"
      in loki_service.get("command", []), "loki: -config.file names the mounted file")
data_mount = next((m.split(":")[1] for m in loki_service.get("volumes", []) if m.split(":")[0] == "loki-data"), None)
check(data_mount is not None and loki_config["common"]["path_prefix"].startswith(data_mount),
      f"loki: path_prefix {loki_config['common']['path_prefix']} is on the loki-data volume ({data_mount})")
for key in ("chunks_directory", "rules_directory"):
    check(loki_config["common"]["storage"]["filesystem"][key].startswith(str(data_mount)), f"loki: {key} on the volume")
schemas = loki_config["schema_config"]["configs"]
check(schemas[-1]["store"] == "tsdb" and schemas[-1]["schema"] == "v13",
      "loki: the newest schema is tsdb v13 (structured metadata needs it)")
limits = loki_config["limits_config"]
check(limits.get("allow_structured_metadata") is True, "loki: Alloy sends structured metadata; allow it")
compactor = loki_config["compactor"]
check(not compactor.get("retention_enabled") or compactor.get("delete_request_store") == "filesystem",
      "loki: retention needs compactor.delete_request_store")
check(re.fullmatch(r"\d+h", limits.get("retention_period", "")) is not None, "loki: a retention period in hours")
loki_port = loki_config["server"]["http_listen_port"]
check(str(loki_port) in loki_service["healthcheck"]["test"][-1], "loki: the health check asks the HTTP port")


def alloy_blocks(text):
    """The Alloy file's top-level blocks {(component, label): body}, its comments and
    strings understood well enough to balance braces; fails on anything unbalanced."""
    without_comments = re.sub(r'("(?:[^"\\]|\\.)*")|//[^\n]*', lambda m: m.group(1) or "", text)
    blocks, depth, start, header = {}, 0, 0, None
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[{}]', without_comments):
        token = match.group(0)
        if token == "{":
            if depth == 0:
                header = without_comments[start:match.start()].strip().splitlines()[-1].strip()
                body_start = match.end()
            depth += 1
        elif token == "}":
            depth -= 1
            check(depth >= 0, "alloy: a } closes nothing")
            if depth == 0:
                found = re.fullmatch(r'([a-z_][a-z0-9_.]*)\s+"([a-z0-9_]+)"', header)
                check(found is not None, f"alloy: top-level block {header!r} is not component \"label\"")
                if found:
                    blocks[(found.group(1), found.group(2))] = without_comments[body_start:match.start()]
                start = match.end()
    check(depth == 0, "alloy: unbalanced braces")
    return blocks


alloy_text = (root / "deploy/alloy/config.alloy").read_text()
blocks = alloy_blocks(alloy_text)
components = {"local.file_match", "loki.source.file", "loki.process", "loki.write"}
for component, label in blocks:
    check(component in components, f"alloy: unexpected component {component}")
for ref_component, ref_label, export in re.findall(r"\b((?:local|loki)\.[a-z_.]+?)\.([a-z0-9_]+)\.(receiver|targets)\b",
                                                   alloy_text):
    check((ref_component, ref_label) in blocks, f"alloy: {ref_component}.{ref_label}.{export} names no block")
write = blocks.get(("loki.write", "local"), "")
url = re.search(r'url\s*=\s*"http://([a-z0-9-]+):(\d+)/loki/api/v1/push"', write)
check(url is not None and url.group(1) == "loki" and int(url.group(2)) == loki_port,
      "alloy: loki.write pushes to the compose loki service's port")
alloy_service = compose["services"].get("alloy", {})
check("/etc/alloy/config.alloy" in alloy_service.get("command", [])
      and "./deploy/alloy/config.alloy:/etc/alloy/config.alloy:ro" in alloy_service.get("volumes", []),
      "alloy: compose runs the mounted deploy/alloy/config.alloy")
log_glob = re.search(r'"__path__"\s*=\s*"([^"]+)"', alloy_text).group(1)
mounted = [m.split(":")[1] for m in alloy_service.get("volumes", []) if m.endswith(":ro")]
check(any(log_glob.startswith(m + "/") for m in mounted), f"alloy: {log_glob} is under a read-only mount")
check(not any("docker.sock" in m for m in alloy_service.get("volumes", [])), "alloy: no Docker socket")
attribute = re.search(r'attrs\.\\"([^"\\]+)\\"', alloy_text).group(1)
logging_labels = compose["x-wowlogs-service"]["logging"]["options"].get("labels", "")
check(attribute in logging_labels.split(","), f"alloy reads attrs.{attribute}; the services' logging must add it")
produced = set()
for stage in ("stage.labels", "stage.structured_metadata"):
    for body in re.findall(re.escape(stage) + r"\s*\{\s*values\s*=\s*\{([^}]*)\}", blocks.get(("loki.process", "wowlogs"), "")):
        produced |= set(re.findall(r"([a-z_]+)\s*=", body))
produced.discard("filename")
# Every label or metadata name a dashboard's LogQL filters or groups on is one Alloy sends.
for path in sorted((root / "grafana/dashboards").glob("*.json")):
    board = json.loads(path.read_text())
    panels = list(board["panels"]) + [p for row in board["panels"] for p in row.get("panels", [])]
    for panel in panels:
        for target in panel.get("targets", []):
            if target.get("datasource", {}).get("uid") != "loki":
                continue
            expr = target["expr"]
            names = set(re.findall(r"[{,]\s*([a-z_]+)\s*=~?", expr))
            names |= set(re.findall(r"\|\s*([a-z_]+)\s*(?:!=|=~|!~|=)", expr))
            names |= {n.strip() for group in re.findall(r"by \(([^)]*)\)", expr) for n in group.split(",")}
            unknown = names - produced
            check(not unknown, f"{path.name}: {panel['title']!r} reads {sorted(unknown)}, which Alloy does not send")
loki_source = next((d for d in provisioned["datasources"] if d["uid"] == "loki"), {})
check(loki_source.get("url") == f"http://loki:{loki_port}", "grafana: the Loki data source points at the loki service")
print(f"loki and alloy: {len(blocks)} Alloy components, labels and metadata {sorted(produced)}")

# --- Kubernetes (rendered by kustomize) -----------------------------------------------
rendered = [doc for doc in yaml.safe_load_all(pathlib.Path(sys.argv[1]).read_text()) if doc]
kinds = {}
for doc in rendered:
    kinds.setdefault(doc["kind"], []).append(doc)
deployments = {d["metadata"]["name"]: d for d in kinds.get("Deployment", [])}
check(set(deployments) == {"wowlogs-producer", "wowlogs-consumers", "wowlogs-query-api"},
      f"k8s: deployments {sorted(deployments)}")
budgets = {p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for p in kinds.get("PodDisruptionBudget", [])}
for name, deployment in deployments.items():
    check(name in budgets, f"k8s: {name} has no PodDisruptionBudget")
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        check(container.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/health/live",
              f"k8s: {name} liveness probe is not /health/live")
        check(container.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/health/ready",
              f"k8s: {name} readiness probe is not /health/ready")
        check({"cpu", "memory"} <= set(container.get("resources", {}).get("requests", {})),
              f"k8s: {name} has no cpu and memory requests")
        check(pinned(container["image"]), f"k8s: {name} image {container['image']} is not pinned")
        secrets = [e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", [])
                   if "secretKeyRef" in e.get("valueFrom", {})]
        check(set(secrets) == {"wowlogs-secrets"}, f"k8s: {name} must take the ClickHouse password from wowlogs-secrets")
        shares = {"wowlogs-query-api": "WOWLOGS_QUERY_API_REPLICAS", "wowlogs-producer": "WOWLOGS_PRODUCER_REPLICAS"}
        if name in shares:
            told = [e.get("value") for e in container.get("env", []) if e["name"] == shares[name]]
            check(told == [str(deployment["spec"].get("replicas", 1))],
                  f"k8s: {name} runs {deployment['spec'].get('replicas', 1)} replicas but {shares[name]} says {told}")
        if deployment["spec"].get("replicas", 1) > 1 and name == "wowlogs-query-api":
            signed = [e for e in container.get("env", []) if e["name"] == "WOWLOGS_WS_TICKET_SECRET"]
            check(bool(signed) and "secretKeyRef" in signed[0].get("valueFrom", {}),
                  f"k8s: {name} runs several replicas: they need one WOWLOGS_WS_TICKET_SECRET from the Secret")
        check(any(source.get("configMapRef") for source in container.get("envFrom", [])), f"k8s: {name} has no ConfigMap")
        for variable in [e["name"] for e in container.get("env", [])]:
            check(variable in read_by_code, f"k8s: {name} sets {variable}, which no wowlogs code reads")
check("Secret" not in kinds, "k8s: secrets are referenced, never committed")
# Nothing reaches a pod that the policies do not name: a default deny, then each port
# named by the container that serves it.
policies = kinds.get("NetworkPolicy", [])
check(any(p["spec"]["podSelector"] == {} and p["spec"].get("ingress") is None and "Ingress" in p["spec"]["policyTypes"]
          for p in policies), "k8s: no default-deny NetworkPolicy for ingress")
served = {port["name"] for d in deployments.values() for c in d["spec"]["template"]["spec"]["containers"]
          for port in c.get("ports", [])}
for policy in policies:
    for rule in policy["spec"].get("ingress", []):
        for port in rule.get("ports", []):
            check(port["port"] in served, f"k8s: {policy['metadata']['name']} opens port {port['port']}, which no container names")
opened = {port["port"] for p in policies for rule in p["spec"].get("ingress", []) for port in rule.get("ports", [])}
check(opened == {"http", "metrics"}, f"k8s: the policies open {sorted(opened)}, not the HTTP and metrics ports")
for config in kinds.get("ConfigMap", []):
    for variable in config["data"]:
        check(variable in read_by_code, f"k8s: ConfigMap sets {variable}, which no wowlogs code reads")
scaled = [h["spec"]["scaleTargetRef"]["name"] for h in kinds.get("HorizontalPodAutoscaler", [])]
check(scaled == ["wowlogs-consumers"], f"k8s: the consumers scale horizontally (HPAs: {scaled})")
print(f"k8s: {sum(len(v) for v in kinds.values())} objects: {', '.join(sorted(kinds))}")

# --- Kubernetes with a ClickHouse cluster (the overlay, rendered) -----------------------
overlay = [doc for doc in yaml.safe_load_all(pathlib.Path(sys.argv[2]).read_text()) if doc]
by_kind = {}
for doc in overlay:
    by_kind.setdefault(doc["kind"], []).append(doc)
installations = by_kind.get("ClickHouseInstallation", [])
keepers = by_kind.get("ClickHouseKeeperInstallation", [])
check(len(installations) == 1 and len(keepers) == 1, "k8s cluster: one ClickHouseInstallation and one keeper")
if len(installations) == 1 and len(keepers) == 1:
    chi, chk = installations[0], keepers[0]
    settings = next(c for c in by_kind["ConfigMap"] if c["metadata"]["name"] == "wowlogs")["data"]
    clusters = chi["spec"]["configuration"]["clusters"]
    names = [c["name"] for c in clusters]
    check(settings.get("WOWLOGS_CLICKHOUSE_CLUSTER") in names,
          f"k8s cluster: WOWLOGS_CLICKHOUSE_CLUSTER names none of the installation's clusters {names}")
    layout = clusters[0]["layout"]
    check(layout.get("shardsCount", 1) >= 2 and layout.get("replicasCount", 1) >= 2,
          f"k8s cluster: at least two shards of two replicas ({layout})")
    # Distributed reads reach the shards as the asking user (a guild's row policies hold
    # on the shard-local tables), so the cluster has an inter-server secret from the Secret.
    secret = clusters[0].get("secret", {}).get("valueFrom", {}).get("secretKeyRef", {})
    check(secret.get("name") == "wowlogs-secrets" and secret.get("key"),
          f"k8s cluster: the cluster's inter-server secret comes from wowlogs-secrets ({secret})")
    # The operator's Service for an installation is clickhouse-<name>, for a keeper keeper-<name>.
    host = re.match(r"https?://([^.:/]+)", settings["WOWLOGS_CLICKHOUSE_URL"]).group(1)
    check(host == f"clickhouse-{chi['metadata']['name']}", f"k8s cluster: the services talk to {host}")
    keeper_hosts = [n["host"] for n in chi["spec"]["configuration"]["zookeeper"]["nodes"]]
    check(keeper_hosts == [f"keeper-{chk['metadata']['name']}"], f"k8s cluster: keeper hosts {keeper_hosts}")
    check(chk["spec"]["configuration"]["clusters"][0]["layout"]["replicasCount"] >= 3,
          "k8s cluster: three keeper replicas (one may be lost)")
    files = chi["spec"]["configuration"]["files"]
    for name in ("config.d/wowlogs.xml", "users.d/services.xml"):
        check(files.get(name) == (root / "deploy/clickhouse" / name).read_text(),
              f"k8s cluster: {name} differs from deploy/clickhouse/{name}")
    pod = chi["spec"]["templates"]["podTemplates"][0]["spec"]["containers"][0]
    given = {e["name"] for e in pod.get("env", [])}
    wanted = set(re.findall(r'from_env="([A-Z_]+)"', files.get("users.d/services.xml", "")))
    check(wanted <= given, f"k8s cluster: the ClickHouse pods lack {sorted(wanted - given)}")
    check(pinned(pod["image"]), f"k8s cluster: image {pod['image']} is not pinned")
    check(all(d["metadata"].get("namespace") == "wowlogs" for d in overlay if d["kind"] != "Namespace"),
          "k8s cluster: every object in the wowlogs namespace")
print(f"k8s with a ClickHouse cluster: {len(overlay)} objects")

for failure in failures:
    print(f"FAIL {failure}", file=sys.stderr)
print(f"stack: {passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
