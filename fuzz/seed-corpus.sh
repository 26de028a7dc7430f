#!/usr/bin/env bash
# Seeds the fuzz corpus with slices of the real combat logs, so the fuzzer starts from
# every event shape and layout instead of random bytes. The corpus is not committed.
set -euo pipefail
cd "$(dirname "$0")"
fixtures="${WOWLOGS_FIXTURES:-$(cd ../.. && pwd)/shared/fixtures}"
mkdir -p corpus/parse_log
for log in "$fixtures"/*.txt; do
  name=$(basename "$log" .txt)
  # Chunks of 8 lines from across the file, including COMBATANT_INFO and fight ends.
  split -l 8 -d -a 5 "$log" "corpus/parse_log/$name-"
done
echo "seeded $(ls corpus/parse_log | wc -l) inputs from $fixtures"
