//! Schema evolution is checked, not promised: every record's current schema
//! (`schemas/avro/*.avsc`) against every released version of it
//! (`schemas/avro/released/<version>/`), under Avro's resolution rules as apache-avro's
//! compatibility checker applies them:
//!
//! - backward: a subscriber on the current schema reads data written with any release;
//! - forward: a subscriber still on a release reads data written with the current schema.
//!
//! Both must hold fully. The one exception is recorded in [`KNOWN_BREAKS`] with its
//! reason and migration (docs/subscribers.md); a breaking change otherwise needs a new
//! topic version (`.v2`) and new files, never an edit of these.

use apache_avro::Schema;
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use std::path::{Path, PathBuf};

/// (record file, release, why): releases whose readers cannot read every current datum.
const KNOWN_BREAKS: &[(&str, &str, &str)] = &[
    (
        "encounter_summary.avsc",
        "1.0",
        "v1.2 added FightKind `battleground`; 1.0's enum has no default, so its readers \
         fail on battleground fights (upgrade readers of wowlogs.encounters.v1 first)",
    ),
    (
        "encounter_summary.avsc",
        "1.1",
        "v1.2 added FightKind `battleground`; 1.1's enum has no default, so its readers \
         fail on battleground fights (upgrade readers of wowlogs.encounters.v1 first)",
    ),
];

fn avro() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("avro")
}

fn schema(path: &Path) -> Schema {
    Schema::parse_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The released versions, oldest first.
fn releases() -> Vec<(String, PathBuf)> {
    let mut releases: Vec<(String, PathBuf)> = std::fs::read_dir(avro().join("released"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), path))
        .collect();
    releases.sort_by_key(|(version, _)| {
        version.split('.').map(|n| n.parse::<u32>().unwrap()).collect::<Vec<_>>()
    });
    releases
}

/// What is wrong between a released schema and the current one, in words (empty: both
/// directions resolve fully).
fn problems(released: &Schema, current: &Schema) -> Vec<String> {
    let mut found = Vec::new();
    for (direction, writer, reader) in [
        ("backward (current reads released)", released, current),
        ("forward (released reads current)", current, released),
    ] {
        match SchemaCompatibility::can_read(writer, reader) {
            Ok(Compatibility::Full) => {}
            Ok(partial) => found.push(format!("{direction}: only {partial:?}: some data fails to resolve")),
            Err(error) => found.push(format!("{direction}: {error}")),
        }
    }
    found
}

#[test]
fn every_record_reads_and_is_read_by_every_release_or_the_break_is_recorded() {
    let releases = releases();
    assert!(releases.len() >= 3, "releases: {releases:?}");
    let mut unexpected = Vec::new();
    let mut recorded = Vec::new();
    for (version, folder) in &releases {
        for entry in std::fs::read_dir(folder).unwrap() {
            let released = entry.unwrap().path();
            let file = released.file_name().unwrap().to_string_lossy().into_owned();
            let current = avro().join(&file);
            assert!(
                current.exists(),
                "{file} of release {version} is gone: a topic's records never disappear"
            );
            let found = problems(&schema(&released), &schema(&current));
            let known = KNOWN_BREAKS.iter().any(|(f, v, _)| *f == file && v == version);
            match (found.is_empty(), known) {
                (true, true) => {
                    unexpected.push(format!("{file} {version}: recorded as a break, but resolves fully"))
                }
                (false, false) => unexpected.push(format!("{file} {version}: {}", found.join("; "))),
                (false, true) => recorded.push(format!("{file} {version}")),
                (true, false) => {}
            }
        }
    }
    assert!(unexpected.is_empty(), "incompatible with a release:\n{}", unexpected.join("\n"));
    assert_eq!(recorded.len(), KNOWN_BREAKS.len(), "{recorded:?}");
}

#[test]
fn the_latest_release_is_the_current_contract() {
    let (version, latest) = releases().pop().unwrap();
    for entry in std::fs::read_dir(&latest).unwrap() {
        let released = entry.unwrap().path();
        let current = avro().join(released.file_name().unwrap());
        assert_eq!(
            schema(&released).canonical_form(),
            schema(&current).canonical_form(),
            "{} changed since release {version}: copy the files to a new schemas/avro/released/<version>/ \
             when publishing the change",
            current.display()
        );
    }
}

/// The checker catches what it must: a deliberately incompatible change to `CombatEvent`
/// (a new field without a default; `line` from long to string; a field removed that old
/// readers need), each refused in the direction it breaks.
#[test]
fn incompatible_changes_are_caught() {
    let current_text = std::fs::read_to_string(avro().join("combat_event.avsc")).unwrap();
    let current = Schema::parse_str(&current_text).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&current_text).unwrap();

    let mut without_default = json.clone();
    without_default["fields"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "zone", "type": "string"}));
    let found = problems(&current, &Schema::parse(&without_default).unwrap());
    assert!(found.iter().any(|p| p.starts_with("backward")), "{found:?}");

    let fields = json["fields"].as_array_mut().unwrap();
    let line = fields.iter_mut().find(|f| f["name"] == "line").unwrap();
    line["type"] = serde_json::json!("string");
    let found = problems(&current, &Schema::parse(&json).unwrap());
    assert!(
        found.iter().any(|p| p.starts_with("backward")) && found.iter().any(|p| p.starts_with("forward")),
        "{found:?}"
    );

    let mut removed: serde_json::Value = serde_json::from_str(&current_text).unwrap();
    removed["fields"].as_array_mut().unwrap().retain(|f| f["name"] != "raw");
    let found = problems(&current, &Schema::parse(&removed).unwrap());
    assert!(found.iter().any(|p| p.starts_with("forward")), "{found:?}");

    // And a compatible one passes: a new field with a default.
    let mut added: serde_json::Value = serde_json::from_str(&current_text).unwrap();
    added["fields"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "zone", "type": "string", "default": ""}));
    assert_eq!(problems(&current, &Schema::parse(&added).unwrap()), Vec::<String>::new());
}
