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

#[test]
fn kafka_security_settings_that_cannot_work_stop_a_command_before_any_client() {
    let refused = |args: &[&str]| {
        let output =
            wowlogs().args(["topics", "check", "--brokers", "127.0.0.1:1"]).args(args).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (code, message) = refused(&["--kafka-security-protocol", "sasl_ssl"]);
    assert_eq!(code, Some(2), "{message}");
    assert!(
        message.contains("the sasl_ssl protocol needs a SASL mechanism, user name and password"),
        "{message}"
    );
    let (code, message) = refused(&["--kafka-sasl-username", "wowlogs"]);
    assert_eq!(code, Some(2), "{message}");
    assert!(
        message.contains("SASL settings are given but the protocol (plaintext) uses no SASL"),
        "{message}"
    );
    let (code, message) = refused(&["--kafka-security-protocol", "tls"]);
    assert_eq!(code, Some(2), "clap refuses an unknown protocol: {message}");
}
