//! The query API's and the dashboards' benchmark data set: 100 guilds, each with its own
//! synthetic log, loaded into ClickHouse the way the consumers would (see `load`); kept
//! between runs in database `wowlogs_bench_api` (`WOWLOGS_BENCH_RELOAD=1` redoes it).

#![allow(dead_code)]

#[path = "../../../query-api/tests/support/load.rs"]
mod load;

use std::io::BufReader;
use std::time::Instant;
use wowlogs_store::rows::Count;
use wowlogs_store::{StoreSettings, migrate};
use wowlogs_synth::{SynthConfig, SynthFormat, generate};
use wowlogs_tenancy::{Actor, NewGuild, Registry};

pub const GUILDS: i64 = 100;
pub const DATABASE: &str = "wowlogs_bench_api";

/// A number from the environment, or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name} is a number")))
}

/// The data set's settings on `WOWLOGS_BENCH_CLICKHOUSE`.
pub fn store() -> StoreSettings {
    let url = wowlogs_testkit::bench_clickhouse();
    StoreSettings::new(url, DATABASE)
}

/// Loads the guilds' logs unless a previous run did; returns the events stored.
pub async fn load(store: &StoreSettings, events_wanted: u64) -> u64 {
    let client = store.client();
    let stored = |client: clickhouse::Client| async move {
        client.query("SELECT count() AS n FROM combat_events").fetch_one::<Count>().await.map_or(0, |c| c.n)
    };
    let reload = std::env::var_os("WOWLOGS_BENCH_RELOAD").is_some();
    if !reload && stored(client.clone()).await >= events_wanted {
        // Kept from an earlier run: its schema brought up to date (tables a newer
        // migration adds stay empty until WOWLOGS_BENCH_RELOAD=1).
        migrate(store).await.unwrap();
        return stored(client).await;
    }
    store.server_client().query(&format!("DROP DATABASE IF EXISTS {DATABASE}")).execute().await.unwrap();
    migrate(store).await.unwrap();
    let registry = Registry::new(store.clone());
    let actor = Actor::new("bench", "");
    // ~337 bytes of synthetic log per event (1 GiB: 3,186,316 events), plus a margin.
    let bytes_per_guild = events_wanted * 345 / GUILDS as u64;
    let started = Instant::now();
    let mut events = 0;
    for i in 0..GUILDS {
        let guild = NewGuild {
            name: format!("Bench Guild {i:03}"),
            server: "Stormrage".into(),
            region: "US".into(),
            faction: "Horde".into(),
            ..NewGuild::default()
        };
        let guild = registry.create_guild(&guild, &actor).await.unwrap();
        let mut config = SynthConfig::new(SynthFormat::V22, bytes_per_guild);
        config.seed = 1000 + i as u64;
        config.start_ms += i * 86_400_000;
        let mut log = Vec::with_capacity(bytes_per_guild as usize + (1 << 20));
        generate(&config, &mut log).unwrap();
        let mut input = BufReader::new(log.as_slice());
        let loaded =
            load::load_log(&client, guild.guild_id, 1_000_000 + i, &format!("bench-{i}"), &mut input, true)
                .await;
        events += loaded.events;
        eprintln!(
            "guild {:3}: {} events, {} fights ({events} events in {:.0} s)",
            guild.guild_id,
            loaded.events,
            loaded.fights,
            started.elapsed().as_secs_f64()
        );
    }
    events
}
