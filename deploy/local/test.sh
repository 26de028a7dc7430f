#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit, property, fixture and CLI tests.
# Usage: deploy/local/test.sh        (from anywhere; needs only cargo)
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

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo test"
cargo test --workspace --locked
