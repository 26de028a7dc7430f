#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit, property, fixture and CLI
# tests, and the tests against a real Kafka-compatible broker and a real ClickHouse,
# which it starts (installing them the first time: the broker builds in ~12 minutes,
# then is cached under ~/.cache/wowlogs; ClickHouse comes from Debian's packages), plus
# the schema's DDL and the dashboards' queries on a current ClickHouse engine (chdb, from
# PyPI), the static checks of the production stack (deploy/checks/stack.sh, which also
# installs nginx and schemathesis), a browser test in Debian's headless Chromium, and a
# ClickHouse cluster test (three servers and Debian's ZooKeeper, started by the test).
# Usage: deploy/local/test.sh        (from anywhere; needs cargo)
#
# Tests read the real combat logs from ../shared/fixtures (override with WOWLOGS_FIXTURES).
set -euo pipefail
cd "$(dirname "$0")/../.."

fixtures="${WOWLOGS_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"
if [ ! -d "$fixtures" ]; then
  echo "error: combat-log fixtures not found at $fixtures (set WOWLOGS_FIXTURES)" >&2
  exit 1
fi
export WOWLOGS_FIXTURES="$fixtures"

# One build per run: incremental artifacts would only double the target directory.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# A full disk shows up much later as ClickHouse failing inserts in the middle of a test;
# say so up front (the measured footprint of a cold run is in docs/local-stack.md).
need_gib="${WOWLOGS_TEST_MIN_FREE_GIB:-4}"
target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target_dir"
for dir in "$target_dir" "${TMPDIR:-/tmp}"; do
  free_kib="$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')"
  if [ "$free_kib" -lt $((need_gib * 1024 * 1024)) ]; then
    echo "error: only $((free_kib / 1024)) MiB free under $dir; the tests need about ${need_gib} GiB" >&2
    echo "       (free space, or set WOWLOGS_TEST_MIN_FREE_GIB if you know a warm run needs less)" >&2
    exit 1
  fi
done

# Fresh servers for the tests that talk to Kafka and ClickHouse: an in-memory broker
# (built once, cached) and a ClickHouse with a throwaway data directory.
state="$(mktemp -d)"
broker_port="${WOWLOGS_TEST_BROKER_PORT:-19092}"
clickhouse_http="${WOWLOGS_TEST_CLICKHOUSE_HTTP_PORT:-18123}"
clickhouse_tcp="${WOWLOGS_TEST_CLICKHOUSE_TCP_PORT:-19000}"
stop_servers() {
  deploy/local/broker.sh stop --state "$state" || true
  deploy/local/clickhouse.sh stop --state "$state" || true
  rm -rf "$state"
}
trap stop_servers EXIT
echo "==> starting the local broker (tansu)"
export WOWLOGS_TEST_BROKERS="$(deploy/local/broker.sh start --memory --port "$broker_port" --state "$state")"
echo "==> starting the local ClickHouse"
export WOWLOGS_TEST_CLICKHOUSE="$(deploy/local/clickhouse.sh start --http-port "$clickhouse_http" --tcp-port "$clickhouse_tcp" --state "$state")"
# Where grafana grant writes guild users for that server (18.16 keeps users in files).
export WOWLOGS_TEST_CLICKHOUSE_USERS_DIR="$state/clickhouse/users.d"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> ClickHouse DDL on a current engine (chdb)"
python3 -c "import chdb" 2>/dev/null || python3 -m pip install --quiet chdb-core
python3 deploy/checks/clickhouse_ddl_current.py
echo "==> production stack: static checks (compose, images, env, Prometheus, Alertmanager, Grafana, Kubernetes)"
deploy/checks/stack.sh
echo "==> headless Chromium for the browser test (Debian's package)"
deploy/local/install-chromium.sh
echo "==> ZooKeeper for the ClickHouse cluster test (Debian's package)"
deploy/local/install-zookeeper.sh
echo "==> cargo test (every test, the ones marked #[ignore] for needing these servers included)"
log="$state/cargo-test.log"
cargo test --workspace --locked --no-fail-fast -- --include-ignored 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
