//! `wowlogs topics create` and `wowlogs topics check` against the real broker started by
//! `deploy/local/test.sh` (a fresh one, so the topics are created by this code).

mod support;

use support::{brokers, run, wowlogs};

#[test]
#[ignore = "needs the local broker: deploy/local/test.sh runs it"]
fn the_topics_keep_every_record_and_the_check_says_when_they_do_not_match() {
    run(wowlogs().args(["topics", "create", "--brokers", &brokers()]));
    let checked = run(wowlogs().args(["topics", "check", "--brokers", &brokers()]));
    for topic in ["combat-events", "uploads", "dead-letter", "encounters", "upload-state"] {
        assert!(checked.contains(&format!("ok      wowlogs.{topic}.v1")), "{checked}");
    }
    assert!(
        !checked.contains("not reported") && !checked.contains("differs"),
        "the broker holds every setting of the contract (retention.ms=-1 among them): {checked}"
    );

    // A cluster that should have three replicas per partition: this one has one.
    let output =
        wowlogs().args(["topics", "check", "--brokers", &brokers(), "--replication", "3"]).output().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{printed}");
    assert!(printed.contains("replication = 1, the contract wants 3"), "{printed}");
    assert!(printed.contains("min.insync.replicas = 1, the contract wants 2"), "{printed}");
    let all = wowlogs_schemas::topics::ALL.len();
    assert!(String::from_utf8_lossy(&output.stderr).contains(&format!("{all} of {all} topics differ")));
}
