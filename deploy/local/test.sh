#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit, property, fixture and CLI
# tests, and the tests against a real Kafka-compatible broker, which it starts (and
# installs the first time: ~12 minutes, then cached under ~/.cache/wowlogs).
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

# A fresh in-memory broker for the tests that talk to Kafka (built once, cached).
state="$(mktemp -d)"
broker_port="${WOWLOGS_TEST_BROKER_PORT:-19092}"
stop_servers() { deploy/local/broker.sh stop --state "$state" || true; rm -rf "$state"; }
trap stop_servers EXIT
echo "==> starting the local broker (tansu)"
export WOWLOGS_TEST_BROKERS="$(deploy/local/broker.sh start --memory --port "$broker_port" --state "$state")"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo test"
log="$state/cargo-test.log"
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
