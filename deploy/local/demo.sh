#!/usr/bin/env bash
# The main job, end to end on this machine, no Docker: start the local stack (the
# Kafka-compatible broker, ClickHouse, the upload service and both consumer groups),
# upload two real raid logs over HTTP (a kill and a wipe), bulk-import an arena with the
# CLI, and show what they became: the upload status, the raw rows, the fights and
# players in ClickHouse, the guild's view through the query API, why the wipe was lost
# (boss health, the first death and its recap, the deadliest abilities, pull over pull),
# the guild's progress plan (a roster, weekly item-level targets, a member's progress
# and gear priorities, the officers' overview), a live session (`wowlogs watch` following
# a folder while `wowlogs replay` writes a real log into it as the game would, each match
# printed as it appears in the API), and the full report of `wowlogs analyze` (the same core the encounter consumer runs).
# Usage: deploy/local/demo.sh        (the first run builds the broker: ~12 minutes, once)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
fixtures="${WOWLOGS_FIXTURES:-$(cd "$root/.." && pwd)/shared/fixtures}"
raid="$fixtures/classic_sod_1.15.1_gnomeregan_raid.txt"
wipe="$fixtures/retail_midnight_12.0_raid_manaforge_dimensius_wipe_slice.txt"
arena="$fixtures/retail_tww_11.0.2_dummies_skirmish.txt"

# The why-we-wiped view below is read with jq (Debian's package, installed if missing).
if ! command -v jq >/dev/null 2>&1; then
  # shellcheck source=lib.sh
  . "$here/lib.sh"
  apt_install jq
fi

echo "==> starting the local stack"
"$here/stack.sh" start
export WOWLOGS_BROKERS="127.0.0.1:${WOWLOGS_BROKER_PORT:-9092}"
state="${WOWLOGS_STATE:-$root/.local-stack}"
# The local ClickHouse with its `default` user's password (every user has one).
export WOWLOGS_CLICKHOUSE_URL="$(cat "$state/clickhouse.url")"
# Everything goes through the one HTTPS entry point (nginx), its certificate checked.
entry="$(cat "$state/proxy.url")"
tls=(--cacert "$state/proxy/ca.crt")
key="$(cat "$state/demo-api-key")"
guild="$(cat "$state/demo-guild-id")"
wowlogs="$root/target/release/wowlogs"

# upload FILE [FIELD...]: POST it to the upload route, then wait for its status.
upload() {
  local file="$1"; shift
  echo "==> uploading $(basename "$file") over HTTP"
  local answer upload_id status
  answer="$(curl -fsS "${tls[@]}" -X POST -H "Authorization: Bearer $key" -F "file=@$file" "$@" "$entry/api/v1/logs/upload")"
  echo "$answer"
  upload_id="$(printf '%s' "$answer" | sed -n 's/.*"upload_id":"\([^"]*\)".*/\1/p')"
  for _ in $(seq 1 100); do
    status="$(curl -fsS "${tls[@]}" -H "Authorization: Bearer $key" "$entry/api/v1/uploads/$upload_id")"
    case "$status" in *'"status":"processing"'*) sleep 0.3 ;; *) break ;; esac
  done
  echo "$status"
}
# Its timestamps (`M/D`) carry no year: the upload says which (else the most recent date
# not after the upload would be taken).
upload "$raid" -F "year=2024"
upload "$wipe"

echo "==> bulk-importing $(basename "$arena") with the CLI (guild $guild)"
"$wowlogs" import --quiet --guild "$guild" "$arena"

clickhouse="$WOWLOGS_CLICKHOUSE_URL"
query() { curl -fsS "$clickhouse/?database=wowlogs" --data-binary "$1"; }
# wait_for SQL N: until the count SQL returns reaches N (30 s at most).
wait_for() {
  for _ in $(seq 1 60); do
    [ "$(query "$1")" -ge "$2" ] && return 0
    sleep 0.5
  done
  echo "warning: $1 did not reach $2" >&2
}

echo "==> what reached ClickHouse (the events sink)"
wait_for "SELECT count() FROM combat_events FINAL WHERE guild_id = $guild" 30603
query "SELECT log_id, state, lines, events, dead_letters FROM logs FINAL WHERE guild_id = $guild FORMAT PrettyCompactNoEscapes"
query "SELECT event_type, count() AS events, sum(amount) AS amount FROM combat_events FINAL WHERE guild_id = $guild GROUP BY event_type ORDER BY events DESC LIMIT 8 FORMAT PrettyCompactNoEscapes"

echo "==> the fights in ClickHouse (the encounter consumer)"
wait_for "SELECT count() FROM encounters FINAL WHERE guild_id = $guild" 3
query "SELECT name, kind, if(kill = 1, 'kill', if(kill = 0, 'wipe/loss', '-')) AS outcome, round(duration_ms / 1000, 1) AS seconds, start FROM encounters FINAL WHERE guild_id = $guild ORDER BY start_ms FORMAT PrettyCompactNoEscapes"
query "SELECT e.name AS fight, p.name AS player, p.class, round(p.dps) AS dps, round(p.hps) AS hps, p.deaths FROM encounter_players AS p FINAL ANY INNER JOIN (SELECT guild_id, log_id, start_line, name FROM encounters FINAL WHERE guild_id = $guild) AS e USING (guild_id, log_id, start_line) WHERE p.guild_id = $guild ORDER BY fight, dps DESC LIMIT 10 FORMAT PrettyCompactNoEscapes"

echo "==> the guild's view through the query API (GET /api/v1/encounters/stats, /progress, /encounters)"
curl -fsS "${tls[@]}" -H "Authorization: Bearer $key" "$entry/api/v1/encounters/stats"; echo
curl -fsS "${tls[@]}" -H "Authorization: Bearer $key" "$entry/api/v1/progress"; echo
curl -fsS "${tls[@]}" -H "Authorization: Bearer $key" "$entry/api/v1/encounters?limit=5" | head -c 1500; echo

echo "==> why did we wipe on Dimensius? (GET /api/v1/encounters/{id}/abilities, /deaths, /encounters/pulls, /players)"
api() { curl -fsS "${tls[@]}" -H "Authorization: Bearer $key" "$entry$1"; }
wipe_id="$(api "/api/v1/encounters?encounter_id=3135&outcome=wipe&limit=1" | jq -r '.data.encounters[0].id')"
# `count(n; word)`: "1 hit", "3 hits".
plural='def count(n; word): "\(n) \(word)\(if n == 1 then "" else "s" end)";'
api "/api/v1/encounters/$wipe_id/abilities" | jq -r "$plural"'
  .data.encounter as $e
  | "\($e.name) (\($e.difficulty_name)): \($e.outcome) after \($e.duration_ms / 1000) s",
    "  bosses at the end: " + ([.data.bosses[] | "\(.name) \(.pct * 10 | round / 10)% (\(.current_hp) of \(.max_hp))"] | join(", ")),
    "  hurt the raid most:",
    (.data.damage_taken[:5][] | "    \(.ability): \(.amount) damage, \(count(.hits; "hit")) on \(count(.players; "player")), \(count(.killing_blows; "death"))")'
api "/api/v1/encounters/$wipe_id/deaths?per_page=1" | jq -r '
  .data.deaths[0]
  | "  first death: \(.player_name) at \(.fight_time_ms / 1000) s, \(.killing_blow.ability) by \(.killing_blow.source_name) (\(.killing_blow.amount), \(.killing_blow.overkill) overkill); the seconds before, newest first:",
    (.recap[:6][] | "    -\(.before_death_ms / 1000) s  \(.kind) \(.amount) \(.ability) (\(.source_name)), health \(.hp // "?") of \(.max_hp // "?")")'
api "/api/v1/encounters/pulls?encounter_id=3135&difficulty=14" | jq -r "$plural"'
  "  pull over pull (best: \(.data.best_pull_id)):",
  (.data.pulls[] | "    #\(.number) \(.start): \(.outcome), boss \(.boss_pct * 10 | round / 10)%, \(.duration_ms / 1000) s, \(count(.deaths; "death")), first: \(.first_death.player_name // "-"), raid DPS \(.raid_dps | round)")'
api "/api/v1/encounters/$wipe_id/players" | jq -r '
  .data.players[0]
  | "  top damage, \(.name): " + ([.abilities[] | select(.kind == "damage")][:4] | map("\(.ability) \(.amount) (\(.crit_rate * 100 | round)% crit)") | join(", ")),
    "    auras longest up: " + (.auras[:4] | map("\(.aura) \(.uptime_pct)%") | join(", "))'

echo "==> the guild's progress plan (PUT /api/v1/guilds/{id}/progress/roster, /roadmap, /message as the guild master)"
progress="$entry/api/v1/guilds/$guild/progress"
put() { curl -fsS "${tls[@]}" -X PUT -H "Authorization: Bearer $key" -H "Content-Type: $1" --data-binary "$2" "$progress/$3" >/dev/null; }
# The Dimensius raiders (their item levels are Midnight's, 108-168), one with an alt.
put text/csv 'character,rank,main,class
Xamymage-Kazzak-EU,0,,Mage
Zipper-Agamaggan-EU,4,Xamymage-Kazzak-EU,Mage
Kissyfrotte-Elune-EU,1,,Druid
Deyanm-Draenor-EU,1,,Monk
Tasadin-Thrall-EU,2,,Warrior
Eruani-Drak'"'"'thul-EU,2,,Demon Hunter
Cadburyy-Ravencrest-EU,3,,Death Knight
Rodas-Magtheridon-EU,3,,Death Knight
Brunix-Aggra(Português)-EU,3,,Shaman' roster
put application/json '{"targets": [
  {"week_start": "2026-02-04", "item_level": 120, "label": "Manaforge Normal"},
  {"week_start": "2026-02-11", "item_level": 125, "label": "Heroic"},
  {"week_start": "2026-02-18", "item_level": 130},
  {"week_start": "2026-02-25", "item_level": 135, "label": "Dimensius Heroic"}]}' roadmap
put application/json '{"message": "Focus on DPS! Dimensius: spread for Devour, trinkets first."}' message
api "/api/v1/guilds/$guild/progress/message" | jq -r '"  the guild master says: \(.data.message)"'
api "/api/v1/guilds/$guild/progress/characters" | jq -r '
  "  this week'"'"'s target: \(.data.target) (roadmap of \(.data.source))",
  (.data.characters[] | "    \(.character)\(if .main then " (alt of \(.main))" else "" end): \(.message)")'
api "/api/v1/guilds/$guild/progress/character/Xamymage?realm=kazzak&region=eu" | jq -r '
  "  \(.data.character): item level \(.data.item_level) (\(.data.item_level_source)); lowest slots first:",
  "    " + (.data.gear_priorities[:5] | map("\(.slot) \(.item_level) (item \(.item_id))") | join(", ")),
  "    alts: " + (.data.alts | map("\(.character) \(.item_level // "?") \(.status)") | join(", "))'
echo "  the officers' overview (GET …/progress/members?sort=ilvl; a member's key gets 403):"
api "/api/v1/guilds/$guild/progress/members?sort=ilvl" | jq -r '
  "    \(.data.on_track) on track, \(.data.behind) behind, \(.data.unknown) unknown",
  (.data.members[] | "    \(.status | .[0:8] | . + (" " * (9 - length)))\(.item_level // "?")  \(.character) (\(.role // "?"), rank \(.rank))")'

echo "==> the operator's view of every guild (GET /api/v1/admin/guilds with the instance-admin key)"
operator_key="$(cat "$state/instance-admin-key")"
curl -fsS "${tls[@]}" -H "Authorization: Bearer $operator_key" "$entry/api/v1/admin/guilds"; echo

echo "==> live logging: wowlogs watch follows a Logs folder while wowlogs replay writes a real log into it as the game would"
# Five arena matches (about ten minutes of play) written at 20x speed, with CRLF line ends
# and pieces that cut lines; the watcher sends them through the entry point as they are
# written, and each match is printed when it appears in the API.
live="$fixtures/classic_tbc_2.5.1_arena_matches_cjk_pet_names.txt"
live_dir="$state/demo-live"
rm -rf "$live_dir"; mkdir -p "$live_dir/Logs"
"$wowlogs" watch "$live_dir/Logs" --server "$entry" --key "$key" --cacert "$state/proxy/ca.crt" \
  --state "$live_dir/watch.json" --close-after-secs 5 --exit-when-done --quiet &
watcher=$!
"$wowlogs" replay "$live" --into "$live_dir/Logs" --speed 20 --crlf --quiet >/dev/null &
replayer=$!
# The live log's upload id: the guild and the SHA-256 of the file's first line.
session="$(head -n 1 "$live" | tr -d '\r\n' | sha256sum | cut -c1-64)"
live_upload="live-$guild-${session:0:32}"
started=$(date +%s)
shown=0
last=0
while :; do
  running=0; kill -0 "$watcher" 2>/dev/null && running=1
  # (A log id is a 64-bit integer: read as text, not through jq's doubles.)
  log_id="$(api "/api/v1/uploads/$live_upload" 2>/dev/null | sed -n 's/.*"log_id":"\{0,1\}\([0-9]*\).*/\1/p' || true)"
  if [ -n "$log_id" ]; then
    pulls="$(api "/api/v1/encounters?log_id=$log_id&limit=50" | jq -c '.data.encounters | sort_by(.start)')"
    count="$(printf '%s' "$pulls" | jq length)"
    if [ "$count" -gt "$shown" ]; then
      printf '%s' "$pulls" | jq -r --argjson from "$shown" --argjson t "$(( $(date +%s) - started ))" \
        '.[$from:][] | "  +\($t)s  \(.name) (\(.match_type // .kind)): \(.outcome // (if .kill then "win" else "loss" end)) after \(.duration_ms / 1000 | floor) s"'
      shown="$count"
    fi
  fi
  # Once the watcher has closed the file, a last look after the consumers' batches.
  if [ "$running" = 0 ]; then [ "$last" = 1 ] && break; last=1; sleep 3; continue; fi
  sleep 1
done
wait "$replayer" || true
wait "$watcher" || echo "  (the watcher stopped with an error)"
api "/api/v1/uploads/$live_upload" | jq -c '{upload_id, status, lines: .logs[0].lines, events: .logs[0].events}'

echo "==> the full report of the same logs, with no servers: wowlogs analyze"
"$wowlogs" analyze --year 2024 "$raid" "$wipe" "$arena"
echo
echo "The stack keeps running: deploy/local/stack.sh stop"
