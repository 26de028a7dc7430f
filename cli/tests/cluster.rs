//! ClickHouse as a sharded, replicated cluster (`deploy/local/cluster.sh`: ZooKeeper and
//! three servers, shard 1 on nodes 1 and 2, shard 2 on node 3), against the real
//! broker: `wowlogs migrate --cluster`, the consumers and the query API configured with
//! `WOWLOGS_CLICKHOUSE_CLUSTER` and nothing else; a replica stopped in the middle of an
//! import. What the cluster holds is compared with what one server holds after reading
//! the same topics.

mod support;

use std::process::{Child, Command};
use std::time::Duration;
use support::probe::free_port;
use support::*;
use wowlogs_store::StoreSettings;

const CLUSTER: &str = "wowlogs";

/// A local cluster in a directory of its own, stopped when dropped.
struct Cluster {
    state: tempfile::TempDir,
    base_port: u16,
}

impl Cluster {
    fn start() -> Self {
        let state = tempfile::tempdir().unwrap();
        let base_port = free_block();
        run(Self::script(&state, "start").args(["--base-port", &base_port.to_string()]));
        Cluster { state, base_port }
    }

    fn script(state: &tempfile::TempDir, command: &str) -> Command {
        let mut script = Command::new(repo().join("deploy/local/cluster.sh"));
        script.arg(command).arg("--state").arg(state.path());
        script
    }

    /// Node `node`'s URL with the `default` user's password (the script made it at
    /// the first start).
    fn url(&self, node: u16) -> String {
        let passwords = std::fs::read_to_string(self.state.path().join("cluster/passwords.env")).unwrap();
        let password = passwords
            .lines()
            .find_map(|line| line.strip_prefix("WOWLOGS_LOCAL_CLICKHOUSE_PASSWORD="))
            .expect("the cluster's default password");
        format!("http://default:{password}@127.0.0.1:{}", self.base_port + 10 * node + 1)
    }

    fn stop_node(&self, node: u16) {
        run(Self::script(&self.state, "stop-node").arg(node.to_string()));
    }

    fn start_node(&self, node: u16) {
        run(Self::script(&self.state, "start-node").arg(node.to_string()));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Self::script(&self.state, "stop").output();
    }
}

/// A port P with P..P+40 free (ZooKeeper and three servers' ports sit in it), below
/// Linux's ephemeral ports (32768 and up by default): a node stopped and started again
/// must find its ports still free, and an outgoing connection once took one in between
/// (46922: "Address already in use" when node 2 came back).
fn free_block() -> u16 {
    for _ in 0..200 {
        let base = 20_000 + (free_port() % 120) * 100;
        let free = (base..base + 40).all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no block of 40 free ports");
}

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Rows of a guild in one server's shard-local table.
async fn local_rows(url: &str, database: &str, table: &str, guild: i64) -> u64 {
    count(&store(url, database), &format!("SELECT count() FROM {table}_local FINAL WHERE guild_id = {guild}"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local broker and ClickHouse, and starts a ClickHouse cluster: deploy/local/test.sh runs it"]
async fn a_sharded_replicated_cluster_holds_what_one_server_holds_and_a_replica_stopped_mid_import_loses_nothing()
 {
    let cluster = Cluster::start();
    // The services talk to node 3 (shard 2): shard 1's rows travel, and when node 2 is
    // stopped the Distributed tables must fail over to node 1.
    let entry = cluster.url(3);
    let cluster_env = [("WOWLOGS_CLICKHOUSE_CLUSTER", CLUSTER)];
    // Every command names the cluster: the consumers by environment, the others by flag.
    let database = unique("wowlogs_test_cluster");
    let cluster_args = [
        "--clickhouse-url".to_string(),
        entry.clone(),
        "--database".to_string(),
        database.clone(),
        "--clickhouse-cluster".to_string(),
        CLUSTER.to_string(),
    ];
    let said = run(wowlogs().arg("migrate").args(&cluster_args));
    assert!(said.contains("(cluster wowlogs): applied 0007"), "{said}");
    // The latest migration undone on every server (a rollback before an older binary), then
    // applied again.
    let previous = (wowlogs_store::latest() - 1).to_string();
    let back = run(wowlogs().args(["migrate", "--to", &previous]).args(&cluster_args));
    assert!(back.contains("(cluster wowlogs): undid 0019_key_usage"), "{back}");
    let again = run(wowlogs().arg("migrate").args(&cluster_args));
    assert!(again.contains("(cluster wowlogs): applied 0019_key_usage"), "{again}");
    let on_cluster = StoreSettings { cluster: Some(CLUSTER.to_string()), ..store(&entry, &database) };
    let (single_db, single_args) = migrated("wowlogs_test_one_server", &clickhouse());
    let single = store(&clickhouse(), &single_db);

    // The same two guilds (and keys) in both: ids 2 and 3, one on each shard.
    let mut guilds = Vec::new();
    for name in ["Sharded One", "Sharded Two"] {
        let (guild, bearer) = guild_with_key(&cluster_args, name, "query");
        let (same, single_bearer) = guild_with_key(&single_args, name, "query");
        assert_eq!(guild, same);
        guilds.push((guild, bearer, single_bearer));
    }
    let shard_of = |guild: i64| {
        let on_cluster = on_cluster.clone();
        async move { count(&on_cluster, &format!("SELECT cityHash64(toInt64({guild})) % 2")).await }
    };
    // The big import goes to shard 1, the replicated one.
    if shard_of(guilds[0].0).await != 0 {
        guilds.swap(0, 1);
    }
    let (big, small) = (guilds[0].0, guilds[1].0);
    assert_eq!((shard_of(big).await, shard_of(small).await), (0, 1), "one guild on each shard");

    // A broker of its own: both sets of consumers read only this test's records.
    let broker = Broker::start();
    let consumers = |clickhouse: &str, database: &str, group: &str, env: &[(&str, &str)]| {
        [("events-sink", "sink"), ("encounters", "enc")].map(|(name, suffix)| {
            let group = format!("{group}-{suffix}");
            ConsumerProcess::start_on(&broker.address, name, &group, clickhouse, database, None, env)
        })
    };
    let cluster_consumers = consumers(&entry, &database, "cluster", &cluster_env);
    let _single_consumers = consumers(&clickhouse(), &single_db, "one-server", &[]);

    // A big guild's import, with node 2 (shard 1's second replica) stopped in the middle.
    // Big enough to outlast the stop, which waits up to 10 s for the server to shut down
    // (a 30 MB import was once stored whole before node 2 was down).
    let dir = tempfile::tempdir().unwrap();
    let big_logs = vec![synth(dir.path(), "80MB", 17), fixture("classic_sod_1.15.1_gnomeregan_raid.txt")];
    let small_logs = vec![fixture("arena_3v3_tww_11.2.0.txt")];
    let analyses: Vec<Analysis> = big_logs.iter().map(|l| analyze(l)).collect();
    let small_analysis = analyze(&small_logs[0]);
    let import = start_import_on(&broker.address, big, &big_logs);
    let first_rows = std::time::Instant::now();
    while local_rows(&cluster.url(1), &database, "combat_events", big).await == 0 {
        assert!(first_rows.elapsed() < Duration::from_secs(120), "no rows of the import arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.stop_node(2);
    let events: u64 = analyses.iter().map(|a| a.events).sum();
    let stored = local_rows(&cluster.url(1), &database, "combat_events", big).await;
    assert!(stored < events, "node 2 stopped before the import was stored");
    println!("node 2 stopped with {stored} of {events} events stored");
    finish(start_import_on(&broker.address, small, &small_logs), "import");
    finish(import, "import");
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.start_node(2);

    let big_expected: Vec<&Analysis> = analyses.iter().collect();
    for store in [&on_cluster, &single] {
        wait_for_guild(store, big, &big_expected, Duration::from_secs(300)).await;
        wait_for_guild(store, small, &[&small_analysis], Duration::from_secs(120)).await;
    }
    for guild in [big, small] {
        assert_same_tables(
            &dump_guild_content(&on_cluster, guild).await,
            &dump_guild_content(&single, guild).await,
        );
    }

    // Each guild on its shard only; node 2 caught up with everything it missed.
    let waited = std::time::Instant::now();
    while local_rows(&cluster.url(2), &database, "combat_events", big).await != events {
        assert!(waited.elapsed() < Duration::from_secs(120), "node 2 did not catch up");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for node in [1, 2] {
        assert_eq!(
            local_rows(&cluster.url(node), &database, "combat_events", big).await,
            events,
            "node {node}"
        );
        assert_eq!(local_rows(&cluster.url(node), &database, "combat_events", small).await, 0, "node {node}");
    }
    assert_eq!(local_rows(&cluster.url(3), &database, "combat_events", small).await, small_analysis.events);
    assert_eq!(local_rows(&cluster.url(3), &database, "combat_events", big).await, 0);

    // The query API, configured with the cluster's name only, answers as on one server.
    let (port, single_port) = (free_port(), free_port());
    let _apis = [
        Service(http_service("query-api", port, &cluster_args).spawn().unwrap()),
        Service(http_service("query-api", single_port, &single_args).spawn().unwrap()),
    ];
    for p in [port, single_port] {
        until("the query API is live", Duration::from_secs(60), || {
            probe::http_get(p, "/health/live").0 == 200
        });
    }
    let (_, bearer, single_bearer) = &guilds[0];
    let get = |p: u16, bearer: &str, path: &str| {
        let (code, body) = probe::http_get_with(p, path, &[("Authorization", bearer)]);
        assert_eq!(code, 200, "{path}: {body}");
        body
    };
    let list = get(port, bearer, "/api/v1/encounters?per_page=500");
    let listed: serde_json::Value = serde_json::from_str(&list).unwrap();
    let first = listed["data"]["encounters"][0]["id"].as_str().expect("an encounter").to_string();
    for path in [
        "/api/v1/encounters?per_page=500".to_string(),
        format!("/api/v1/encounters/{first}"),
        "/api/v1/encounters/stats".to_string(),
        "/api/v1/progress".to_string(),
        "/api/v1/characters?per_page=500".to_string(),
        "/api/v1/logs".to_string(),
    ] {
        assert_eq!(get(port, bearer, &path), get(single_port, single_bearer, &path), "{path}");
    }

    // A transfer between guilds on different shards: rows written to one shard, deleted
    // (a mutation ON CLUSTER) on the other. The same on one server, then compared.
    let small_list = get(port, &guilds[1].1, "/api/v1/encounters?per_page=500");
    let small_listed: serde_json::Value = serde_json::from_str(&small_list).unwrap();
    let moved = small_listed["data"]["encounters"][0]["id"].as_str().expect("an arena match").to_string();
    for args in [&cluster_args[..], &single_args[..]] {
        let said = run(wowlogs()
            .args(["guild", "transfer", "--from", &small.to_string(), "--to", &big.to_string(), &moved])
            .args(args));
        assert!(said.contains("moved "), "{said}");
    }
    let fights = |guild: i64| format!("SELECT count() FROM encounters FINAL WHERE guild_id = {guild}");
    let big_fights: u64 = analyses.iter().map(|a| a.fights.len() as u64).sum();
    assert_eq!(count(&on_cluster, &fights(big)).await, big_fights + 1);
    assert_eq!(count(&on_cluster, &fights(small)).await, small_analysis.fights.len() as u64 - 1);
    let small_shard = store(&cluster.url(3), &database);
    assert_eq!(
        count(&small_shard, &format!("SELECT count() FROM encounters_local WHERE guild_id = {small}")).await,
        small_analysis.fights.len() as u64 - 1,
        "the moved fight is gone from its old shard"
    );

    // A rebuild from the topics swaps in fresh replicated tables on every server; the
    // transfer is applied again; the tables equal one server's.
    for consumer in cluster_consumers {
        consumer.stop();
    }
    for (group, group_id) in [("events-sink", "cluster-sink"), ("encounters", "cluster-enc")] {
        let said = run(wowlogs()
            .args([
                "rebuild",
                group,
                "--brokers",
                &broker.address,
                "--group-id",
                group_id,
                "--metrics-addr",
                "",
            ])
            .args(["--batch-age-ms", "300", "--session-timeout-ms", "6000"])
            .args(&cluster_args));
        assert!(said.contains("swapped in the rebuilt tables"), "{said}");
    }
    assert_same_tables(&dump_guild_content(&on_cluster, big).await, &dump_guild_content(&single, big).await);
    // The small guild's only fight moved away: its fight tables are empty on both.
    assert_eq!(dump_guild_content(&on_cluster, small).await, dump_guild_content(&single, small).await);
    for node in [1, 2, 3] {
        let previous = tsv(
            &store(&cluster.url(node), &format!("{database}_rebuild")),
            "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'previous_%' ORDER BY name",
        )
        .await;
        assert!(previous.contains("previous_encounters_local\n"), "node {node}: {previous}");
    }
}
