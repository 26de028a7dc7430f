//! `wowlogs guild` and `wowlogs api-key` against the real local ClickHouse
//! (`WOWLOGS_TEST_CLICKHOUSE`, started by `deploy/local/test.sh`).

mod support;

use support::{clickhouse, run, unique, wowlogs};

#[test]
fn a_key_is_printed_once_listed_by_id_and_revoked() {
    let database = unique("wowlogs_test_tenancy_cli");
    let cli = |args: &[&str]| {
        let mut command = wowlogs();
        command.args(args).args(["--clickhouse-url", &clickhouse(), "--database", &database]);
        command
    };
    let created =
        run(&mut cli(&["guild", "create", "--name", "Loothing", "--server", "Stormrage", "--region", "US"]));
    assert_eq!(created.trim(), "created guild 2 \"Loothing\"");
    let key = run(&mut cli(&[
        "api-key",
        "create",
        "--guild",
        "2",
        "--permissions",
        "upload,query",
        "--description",
        "ci",
    ]));
    let key = key.trim();
    assert!(key.starts_with("wl_") && key.len() == 67, "standard output is the key alone: {key:?}");
    let key_id = wowlogs_tenancy::key_id(key);

    let listed = run(&mut cli(&["api-key", "list", "--guild", "2"]));
    assert!(listed.contains(&key_id) && listed.contains("active"), "{listed}");
    assert!(!listed.contains(&key[3..]), "the key is never shown again");

    run(&mut cli(&["api-key", "revoke", &key_id]));
    assert!(run(&mut cli(&["api-key", "list"])).contains("revoked"));

    let refused = cli(&["api-key", "create", "--guild", "42", "--permissions", "query"]).output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("guild 42 does not exist"));
}
