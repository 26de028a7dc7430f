//! The `wowlogs` binary as a user runs it.

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};
use wowlogs_testkit::fixture;

fn wowlogs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wowlogs")).args(args).output().expect("run wowlogs")
}

fn analyze_json(path: &Path) -> Vec<Value> {
    let out = wowlogs(&["analyze", "--format", "json", "--year", "2024", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn json_output_has_the_documented_shape() {
    let logs = analyze_json(&fixture("classic_sod_1.15.1_gnomeregan_raid.txt"));
    let log = &logs[0];
    for key in ["fights", "lines", "events", "errors"] {
        assert!(log.get(key).is_some(), "missing {key}");
    }
    assert_eq!(
        (log["lines"].as_u64(), log["events"].as_u64(), log["errors"].as_u64()),
        (Some(13_351), Some(13_351), Some(0))
    );
    let fight = &log["fights"][0];
    for key in
        ["kind", "name", "encounter_id", "difficulty", "kill", "start_ms", "duration_ms", "players", "deaths"]
    {
        assert!(fight.get(key).is_some(), "missing fight.{key}");
    }
    assert_eq!(fight["kind"], "encounter");
    assert_eq!(fight["name"], "Mekgineer Thermaplugg");
    assert_eq!(fight["kill"], true);
    let player = &fight["players"][0];
    for key in [
        "guid",
        "name",
        "class",
        "spec_id",
        "item_level",
        "damage_done",
        "healing_done",
        "overhealing",
        "absorbs_done",
        "damage_taken",
        "deaths",
        "casts",
    ] {
        assert!(player.get(key).is_some(), "missing player.{key}");
    }
    assert_eq!(player["name"], "Flakeshock-CrusaderStrike", "sorted by damage done");
}

#[test]
fn gzip_and_zip_give_the_same_fights_as_plain_text() {
    let plain = fixture("retail_tww_11.0.2_dummies_skirmish.txt");
    let text = std::fs::read(&plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("log.txt.gz");
    let mut encoder =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    encoder.write_all(&text).unwrap();
    encoder.finish().unwrap();
    let zipped = dir.path().join("Logs.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zipped).unwrap());
    zip.start_file("Logs/WoWCombatLog.txt", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(&text).unwrap();
    zip.finish().unwrap();

    let expected = analyze_json(&plain)[0]["fights"].clone();
    assert_eq!(analyze_json(&gz)[0]["fights"], expected);
    let from_zip = analyze_json(&zipped);
    assert_eq!(from_zip.len(), 1);
    assert!(from_zip[0]["file"].as_str().unwrap().ends_with("Logs.zip:Logs/WoWCombatLog.txt"));
    assert_eq!(from_zip[0]["fights"], expected);
}

#[test]
fn malformed_lines_are_counted_and_written_as_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mixed.txt");
    let mut text = std::fs::read_to_string(fixture("arena_3v3_tww_11.2.0.txt")).unwrap();
    text.push_str("8/30/2025 21:05:52.0008  SPELL_DAMAGE,Player-11-0E88FF6F,\"Mòòng\",0x548,0x0\n");
    text.push_str("not a log line\n");
    std::fs::write(&log, text).unwrap();
    let letters = dir.path().join("dead.ndjson");
    let out = wowlogs(&[
        "analyze",
        "--format",
        "json",
        "--dead-letters",
        letters.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["events"].as_u64(), report["errors"].as_u64()), (Some(32), Some(2)));
    assert_eq!(report["fights"].as_array().unwrap().len(), 1, "good lines still make the fight");
    let letters: Vec<Value> = std::fs::read_to_string(&letters)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(letters.len(), 2);
    assert_eq!((letters[0]["line"].as_i64(), letters[0]["code"].as_str()), (Some(33), Some("field_count")));
    assert_eq!(letters[0]["event"], "SPELL_DAMAGE");
    assert_eq!((letters[1]["line"].as_i64(), letters[1]["raw"].as_str()), (Some(34), Some("not a log line")));
}

#[test]
fn a_file_that_is_not_a_log_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("screenshot.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00").unwrap();
    let out = wowlogs(&["analyze", "--quiet", png.to_str().unwrap(), "/no/such/WoWCombatLog.txt"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("screenshot.png: no line is a combat-log event"), "{stderr}");
    assert!(stderr.contains("cannot open /no/such/WoWCombatLog.txt"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn a_raid_fight_reads_its_difficulty_by_name() {
    let log = fixture("retail_midnight_12.0_raid_manaforge_dimensius_wipe_slice.txt");
    let table = String::from_utf8(wowlogs(&["analyze", log.to_str().unwrap()]).stdout).unwrap();
    // ENCOUNTER_START 3135 "Dimensius, the All-Devouring" with difficulty 14: Normal.
    assert!(
        table.contains("Dimensius, the All-Devouring (encounter, id 3135, Normal) — WIPE in 0:21.0"),
        "{table}"
    );
}

/// Why did we wipe, in the table: how far the boss got, the first death's last seconds
/// and what hurt the raid most (the figures are read off the log in
/// core/encounters/tests/why_we_wiped.rs).
#[test]
fn a_wipe_shows_the_boss_health_the_first_deaths_recap_and_the_deadliest_abilities() {
    let log = fixture("retail_midnight_12.0_raid_manaforge_dimensius_wipe_slice.txt");
    let table = String::from_utf8(wowlogs(&["analyze", log.to_str().unwrap()]).stdout).unwrap();
    for expected in [
        "  Bosses at the end: Dimensius 94.9% (11,389,021 of 11,998,750)",
        "  First death, Xamymage-Kazzak-EU: the last seconds, newest first",
        "    -0.0s  -450,900 Oblivion (Dimensius), health 0 / 90,180",
        "    … 5 earlier lines (all of them: --format json)",
        "  Hurt the group most: Devour 552,157 (22 players); Oblivion 450,900 (1 player, 1 death);",
    ] {
        assert!(table.contains(expected), "{expected:?} in:\n{table}");
    }
    let json = analyze_json(&log);
    let fight = &json[0]["fights"][0];
    assert_eq!(fight["bosses"][0]["name"], "Dimensius");
    assert_eq!(fight["deaths"][0]["recap"].as_array().map(Vec::len), Some(13));
    let snippet = analyze_json(&fixture("retail_sl_9.2_raid_wipe_snippet.txt"));
    assert_eq!(snippet[0]["fights"][0]["boss_pct_missing"], "advanced_logging_off");
}

#[test]
fn the_table_shows_each_fight_with_its_outcome_and_death_recap() {
    let out = wowlogs(&[
        "analyze",
        "--year",
        "2024",
        fixture("classic_sod_1.15.1_gnomeregan_raid.txt").to_str().unwrap(),
    ]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("Mekgineer Thermaplugg (encounter, Gnomeregan, id 2940, difficulty 198) — KILL in 5:29.5, 2024-03-24 19:54:49 UTC"), "{table}");
    // Who interrupted and dispelled (the log's SPELL_INTERRUPT and SPELL_DISPEL lines).
    assert!(table.contains("  Interrupts: Meerah-CrusaderStrike 3\n"), "{table}");
    assert!(table.contains("  Dispels: Sury-CrusaderStrike 8, Reevs-CrusaderStrike 4\n"), "{table}");
    assert!(
        table.contains(
            "† Flakeshock-CrusaderStrike at 5:23.2 — Frozen Shrapnel by Frost Bomb (250, 121 overkill)"
        ),
        "{table}"
    );
}

#[test]
fn synth_writes_a_log_that_analyze_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("synth.txt");
    let out = wowlogs(&["synth", "--size", "1MiB", "--format", "v9", "--output", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pulls"));
    let report = &analyze_json(&log)[0];
    assert_eq!(report["errors"], 0);
    assert!(!report["fights"].as_array().unwrap().is_empty());
}

#[test]
fn analyze_on_several_threads_prints_what_it_prints_on_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("synth.txt");
    let out = wowlogs(&["synth", "--size", "6MiB", "--output", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let analyze = |threads: &str| {
        let out = wowlogs(&["analyze", "--format", "json", "--threads", threads, log.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let one = analyze("1");
    assert!(one.len() > 10_000, "a report with fights");
    assert!(analyze("3") == one, "--threads 3 printed something else than --threads 1");
}
