#!/usr/bin/env bash
# Installs the local Kafka-compatible broker (tansu 0.6.0, from crates.io) once and caches it.
# Usage: deploy/local/install-broker.sh     prints the path of the tansu binary
#
# The build takes ~12 minutes on 2 cores, so the binary is cached under
# ${WOWLOGS_CACHE:-~/.cache/wowlogs}/tansu-0.6.0/bin and reused. `--locked` is required
# (newer dependency versions break the build) and so is `dynostore` (the memory:// engine).
set -euo pipefail
version=0.6.0
cache="${WOWLOGS_CACHE:-$HOME/.cache/wowlogs}"
root="$cache/tansu-$version"
bin="$root/bin/tansu"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$root"
echo "building tansu $version into $root (about 12 minutes, once)" >&2
# A private target dir so an interrupted build resumes instead of starting over.
CARGO_TARGET_DIR="$cache/tansu-build" cargo install "tansu@$version" --locked \
  --features dynostore,libsql --root "$root" >&2
rm -rf "$cache/tansu-build"
echo "$bin"
