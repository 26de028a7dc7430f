//! Hostile uploads beside a victim guild: the victim's log lands whole and as `analyze`
//! reports it, the hostile guild's rows land or are dead-lettered, and the consumers stay
//! up within their memory bound. Real binaries, real broker and ClickHouse.

mod support;

use std::io::Write;
use std::time::Duration;
use support::probe::free_port;
use support::*;

/// A log of `lines` lines of about 60 KiB each: spell damage whose spell name is 60,000
/// characters (the parser's line limit is 64 KiB).
fn huge_events(dir: &std::path::Path, lines: usize) -> std::path::PathBuf {
    let path = dir.join("huge.txt");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let name = "x".repeat(60_000);
    for i in 0..lines {
        let (minute, second) = (i / 60 % 60, i % 60);
        writeln!(
            file,
            "1/1/2025 20:{minute:02}:{second:02}.000  SPELL_DAMAGE,Player-1-A,\"A\",0x511,0x0,Creature-0-1-2-3-4-5,\"Dummy\",0xa48,0x0,1,\"{name}\",0x4,100,100,-1,4,0,0,0,nil,nil,nil"
        )
        .unwrap();
    }
    file.flush().unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse: deploy/local/test.sh runs it"]
async fn events_of_64_kib_keep_the_consumers_memory_bounded_and_the_victim_whole() {
    let dir = tempfile::tempdir().unwrap();
    let hostile_file = huge_events(dir.path(), 3_000);
    let victim_file = fixture("classic_sod_1.15.1_gnomeregan_raid.txt");
    let (hostile, victim) = (analyze(&hostile_file), analyze(&victim_file));
    assert_eq!(hostile.events, 3_000);
    let base = 9_000_000 + i64::from(std::process::id() % 100_000) * 10;
    let database = unique("wowlogs_test_hostile");
    let store = store(&clickhouse(), &database);
    // Default batch settings: 100,000 rows would be ~12 GB of these rows; the byte
    // bound (16 MiB of records a batch) and the bounded prefetch hold memory. Measured:
    // 610–750 MiB for both groups in one (debug) process. Issue 14's target of 512 MiB
    // per consumer is not met yet: this test holds the bound that is.
    let port = free_port();
    let consumers =
        ConsumerProcess::start_all(&unique("hostile"), &unique("host"), &clickhouse(), &database, port);
    let hostile_import = start_import(base, std::slice::from_ref(&hostile_file));
    let victim_import = start_import(base + 1, std::slice::from_ref(&victim_file));
    finish(victim_import, "victim import");
    finish(hostile_import, "hostile import");
    wait_for_guild(&store, base + 1, &[&victim], Duration::from_secs(300)).await;
    wait_for_guild(&store, base, &[&hostile], Duration::from_secs(300)).await;
    let peak = consumers.peak_rss();
    eprintln!("consume all peak RSS with 3,000 events of 60 KB: {} MiB", peak >> 20);
    assert!(peak < 1 << 30, "peak RSS {} MiB", peak >> 20);
    let victim_fights =
        count(&store, &format!("SELECT count() FROM encounters FINAL WHERE guild_id = {}", base + 1)).await;
    assert_eq!(victim_fights as usize, victim.fights.len());
    consumers.stop();
}
