#!/usr/bin/env bash
# The main job, end to end on this machine: build wowlogs, analyze a real raid log
# and show every fight with its players, deaths and death recap.
# Usage: deploy/local/demo.sh [LOG...]   (default: the Classic Gnomeregan raid fixture)
set -euo pipefail
cd "$(dirname "$0")/../.."

fixtures="${WOWLOGS_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"
if [ "$#" -eq 0 ]; then
  set -- "$fixtures/classic_sod_1.15.1_gnomeregan_raid.txt" "$fixtures/retail_tww_11.0.2_dummies_skirmish.txt"
fi

echo "==> building wowlogs (release)"
cargo build --release --locked --bin wowlogs
echo "==> wowlogs analyze $*"
# The fixtures' dates: the Classic raid is from March 2024.
./target/release/wowlogs analyze --year "${WOWLOGS_YEAR:-2024}" "$@"
