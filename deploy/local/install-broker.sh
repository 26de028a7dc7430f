#!/usr/bin/env bash
# Installs the local Kafka-compatible broker (tansu 0.6.0, from crates.io, with the
# patches in deploy/local/patches/) once and caches it.
# Usage: deploy/local/install-broker.sh [memory|sqlite]
#   prints the path of a tansu binary with that storage engine (default: memory)
#
# The build takes ~12 minutes on 2 cores, so the binary is cached under
# ${WOWLOGS_CACHE:-~/.cache/wowlogs}/tansu-0.6.0-<patches>[-memory]/bin and reused. Built
# from the published crate's own Cargo.lock (newer dependency versions break the build),
# with only the engine asked for: `dynostore` (memory://, the tests' and the default
# stack's) or also `libsql` (sqlite://, WOWLOGS_BROKER_STORAGE=sqlite), which adds SQLite
# and more of tansu's own code to compile (BENCHMARKS.md, "A newcomer's first run"). A
# binary with both engines serves either.
#
# The patches (each says what it fixes and how it was found; docs/local-stack.md):
#   tansu-storage-0.6.0-fetch-inside-batch.patch  a fetch starting inside a record batch
#     skipped the rest of that batch, so a consumer resuming at a committed offset lost
#     records (Kafka returns the whole batch and the client skips what it did not ask for);
#     and the fetch loop continues after the last batch returned, not after as many
#     records as it holds counted from the offset asked for.
#   tansu-storage-0.6.0-fetch-no-sleep-when-answered.patch  every fetch answer was held
#     back by half of the consumer's fetch.wait.max.ms even when it had records.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version=0.6.0
patches=(tansu-storage-0.6.0-fetch-inside-batch tansu-storage-0.6.0-fetch-no-sleep-when-answered)
cache="${WOWLOGS_CACHE:-$HOME/.cache/wowlogs}"
# The cache directory names the patches' content: a changed patch builds anew.
digest="$(cd "$here/patches" && cat "${patches[@]/%/.patch}" | sha256sum | cut -c1-12)"
engine="${1:-memory}"
# Both engines keep the directory name of the builds before there was a choice.
both="$cache/tansu-$version-$digest"
case "$engine" in
  memory) features=dynostore; root="$both-memory" ;;
  sqlite) features=dynostore,libsql; root="$both" ;;
  *) echo "usage: $0 [memory|sqlite]" >&2; exit 2 ;;
esac
for built in "$root" "$both"; do
  if [ -x "$built/bin/tansu" ]; then
    echo "$built/bin/tansu"
    exit 0
  fi
done
bin="$root/bin/tansu"
echo "building tansu $version ($engine engine) with ${#patches[@]} patch(es) into $root (about 12 minutes on 2 cores, once)" >&2
build="$cache/tansu-build-src"
rm -rf "$build"
mkdir -p "$build" "$root"
# The published sources of tansu and of each patched crate.
for crate in tansu tansu-storage; do
  curl -fsSL "https://static.crates.io/crates/$crate/$crate-$version.crate" | tar -xz -C "$build"
done
for patch in "${patches[@]}"; do
  patch -s -p0 -d "$build" < "$here/patches/$patch.patch"
done
# tansu builds against the patched crate: a [patch] of crates.io, and the lock file entry
# made a path entry (what cargo itself would write), so `--locked` still holds.
cat >> "$build/tansu-$version/Cargo.toml" <<EOF

[patch.crates-io]
tansu-storage = { path = "../tansu-storage-$version" }
EOF
python3 - "$build/tansu-$version/Cargo.lock" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
text, n = re.subn(r'(name = "tansu-storage"\nversion = "[^"]+"\n)source = "[^"]+"\nchecksum = "[^"]+"\n', r"\1", text)
assert n == 1, "tansu-storage's entry not found in Cargo.lock"
open(path, "w").write(text)
PY
# A private target dir so an interrupted build resumes instead of starting over.
CARGO_TARGET_DIR="$cache/tansu-build" cargo install --path "$build/tansu-$version" --locked \
  --features "$features" --root "$root" >&2
rm -rf "$cache/tansu-build" "$build"
echo "$bin"
