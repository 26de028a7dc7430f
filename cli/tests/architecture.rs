//! The architecture, checked: crates depend on lower layers only, no two files of a
//! crate import each other (directly or round a circle), and in a service nothing below
//! its HTTP edge (`http/`) reaches up into it. `docs/architecture.md` states the rules;
//! these tests are where they are enforced. No servers needed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace's root folder.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Every workspace crate's floor and layer, as drawn in `docs/architecture.md`: layers
/// `schemas → core → platform → services → cli`, and inside core and platform the
/// crates that build on a sibling a floor higher. The services share one floor, so none
/// can depend on another.
const FLOORS: [(&str, u8, &str); 14] = [
    ("wowlogs-schemas", 0, "schemas"),
    ("wowlogs-parser", 1, "core"),
    ("wowlogs-encounters", 2, "core"),
    ("wowlogs-synth", 2, "core"),
    ("wowlogs-progress", 3, "core"),
    ("wowlogs-http", 4, "platform"),
    ("wowlogs-kafka", 4, "platform"),
    ("wowlogs-store", 4, "platform"),
    ("wowlogs-testkit", 4, "platform"),
    ("wowlogs-tenancy", 5, "platform"),
    ("wowlogs-producer", 6, "services"),
    ("wowlogs-consumers", 6, "services"),
    ("wowlogs-query-api", 6, "services"),
    ("wowlogs-cli", 7, "cli"),
];

/// The floor and layer of a workspace crate; its folder must be its layer's.
fn layer(name: &str, manifest: &Path) -> (u8, &'static str) {
    let relative = manifest.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
    let &(_, floor, layer) =
        FLOORS.iter().find(|(crate_name, ..)| *crate_name == name).unwrap_or_else(|| {
            panic!("{name} ({relative}) is on no floor: give it one here and in docs/architecture.md")
        });
    let folder = match relative.split('/').next().unwrap() {
        "producer" | "consumers" | "query-api" => "services",
        other => other,
    };
    assert_eq!(folder, layer, "{name} lives in {relative}, outside its layer's folder");
    (floor, layer)
}

/// A workspace crate: its name, its manifest, and its workspace dependencies with their
/// kinds (`normal`, `build`, `dev`).
type Crate = (String, PathBuf, Vec<(String, String)>);

/// A crate's modules, each with the modules it imports.
type ModuleGraph = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

/// Every workspace crate.
fn workspace() -> Vec<Crate> {
    let output = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let dependencies = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["path"].is_string())
                .map(|d| {
                    (
                        d["name"].as_str().unwrap().to_string(),
                        d["kind"].as_str().unwrap_or("normal").to_string(),
                    )
                })
                .collect();
            let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
            (package["name"].as_str().unwrap().to_string(), manifest, dependencies)
        })
        .collect()
}

/// The edges that break the layer rule: a crate's code (normal and build dependencies)
/// depends on lower floors only. Its tests (dev-dependencies) may use any library to make
/// their input — the consumers' tests publish with the producer's importer, the
/// contract's tests parse real logs — but never the binary.
fn layer_violations(crates: &[Crate]) -> Vec<String> {
    let layers: BTreeMap<&str, (u8, &str)> =
        crates.iter().map(|(name, manifest, _)| (name.as_str(), layer(name, manifest))).collect();
    let mut violations = Vec::new();
    for (name, _, dependencies) in crates {
        let (own, own_name) = layers[name.as_str()];
        for (dependency, kind) in dependencies {
            let Some(&(theirs, their_name)) = layers.get(dependency.as_str()) else { continue };
            let allowed = if kind == "dev" { their_name != "cli" } else { theirs < own };
            if !allowed {
                violations.push(format!(
                    "{name} ({own_name}) depends on {dependency} ({their_name}) as a {kind} dependency"
                ));
            }
        }
    }
    violations
}

#[test]
fn crates_depend_on_lower_layers_only() {
    let crates = workspace();
    assert!(crates.len() >= 12, "the workspace's crates: {crates:?}");
    let violations = layer_violations(&crates);
    assert!(violations.is_empty(), "the layer rule is broken:\n{}", violations.join("\n"));
}

#[test]
fn a_service_depending_on_another_service_is_named_by_the_layer_rule() {
    let mut crates = workspace();
    let query_api = crates.iter_mut().find(|(name, ..)| name == "wowlogs-query-api").unwrap();
    query_api.2.push(("wowlogs-producer".into(), "normal".into()));
    assert_eq!(
        layer_violations(&crates),
        ["wowlogs-query-api (services) depends on wowlogs-producer (services) as a normal dependency"]
    );
}

/// A crate's modules, by path (`["uploads", "ledger"]`), with their files.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut segments: Vec<String> =
                relative.iter().map(|s| s.to_string_lossy().into_owned()).collect();
            if matches!(segments.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                segments.pop();
            }
            out.insert(segments, path);
        }
    }
    out
}

/// The modules a file names through `crate::` or `super::` paths (comments aside),
/// each resolved to the deepest module that exists.
fn references(module: &[String], text: &str, known: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    let code: String =
        text.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(start) {
            let at = from + found;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            // The base: the crate's root, or the parent of this file's module.
            let mut base: Vec<String> = if start == "crate::" {
                Vec::new()
            } else {
                // `super` of `a::b` is `a`, whether `b` is `a/b.rs` or `a/b/mod.rs`.
                let mut parent = module.to_vec();
                parent.pop();
                parent
            };
            let mut rest = &code[from..];
            // Further `super::`s climb on.
            while start == "super::" && rest.starts_with("super::") {
                base.pop();
                rest = &rest["super::".len()..];
            }
            let mut heads = Vec::new();
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                heads.extend(group.split(',').map(|item| item.trim().to_string()));
            } else {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(rest.len());
                heads.push(rest[..end].to_string());
            }
            for head in heads {
                let mut path = base.clone();
                for segment in head.split("::").filter(|s| !s.is_empty() && *s != "self") {
                    let mut longer = path.clone();
                    longer.push(segment.to_string());
                    if known.contains(&longer) {
                        path = longer;
                    } else {
                        break;
                    }
                }
                if known.contains(&path) && path.as_slice() != module {
                    out.insert(path);
                }
            }
        }
    }
    out
}

/// Every crate folder with its module graph: module → the modules it imports.
fn module_graphs() -> Vec<(String, ModuleGraph)> {
    workspace()
        .into_iter()
        .map(|(name, manifest, _)| {
            let src = manifest.parent().unwrap().join("src");
            let files = modules(&src);
            let known: BTreeSet<Vec<String>> = files.keys().cloned().collect();
            let graph = files
                .iter()
                .map(|(module, file)| {
                    let text = std::fs::read_to_string(file).unwrap();
                    (module.clone(), references(module, &text, &known))
                })
                .collect();
            (name, graph)
        })
        .collect()
}

fn shown(module: &[String]) -> String {
    if module.is_empty() { "crate".into() } else { module.join("::") }
}

/// The circles of a graph: every strongly connected set of two or more modules.
fn circles(graph: &ModuleGraph) -> Vec<Vec<String>> {
    let reaches = |from: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(next) = todo.pop() {
            for to in graph.get(&next).into_iter().flatten() {
                if seen.insert(to.clone()) {
                    todo.push(to.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<_, _> = graph.keys().map(|m| (m.clone(), reaches(m))).collect();
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for module in graph.keys() {
        let circle: Vec<String> = graph
            .keys()
            .filter(|other| {
                *other == module || (reach[module].contains(*other) && reach[*other].contains(module))
            })
            .map(|m| shown(m))
            .collect();
        if circle.len() > 1 {
            found.insert(circle);
        }
    }
    found.into_iter().collect()
}

#[test]
fn no_two_files_of_a_crate_import_each_other() {
    let mut all = Vec::new();
    for (name, graph) in module_graphs() {
        all.extend(circles(&graph).into_iter().map(|c| format!("{name}: {}", c.join(" ↔ "))));
    }
    assert!(all.is_empty(), "import circles between files:\n{}", all.join("\n"));
}

#[test]
fn nothing_below_a_services_http_edge_reaches_up_into_it() {
    let mut violations = Vec::new();
    for (name, graph) in module_graphs() {
        for (module, imports) in &graph {
            if module.is_empty() || module.first().is_some_and(|m| m == "http") {
                continue;
            }
            for import in imports.iter().filter(|i| i.first().is_some_and(|m| m == "http")) {
                violations.push(format!("{name}: {} imports {}", shown(module), shown(import)));
            }
        }
    }
    assert!(violations.is_empty(), "a lower floor imports the HTTP edge:\n{}", violations.join("\n"));
}

#[test]
fn every_service_has_the_same_rooms() {
    for service in ["producer", "consumers", "query-api"] {
        let src = root().join(service).join("src");
        for room in ["http/mod.rs", "config.rs", "metrics.rs", "state.rs"] {
            assert!(
                src.join(room).is_file(),
                "{service}/src/{room} is missing: every service has the same rooms"
            );
        }
    }
}

#[test]
fn a_circle_between_two_files_is_found() {
    let known: BTreeSet<Vec<String>> =
        [vec![], vec!["a".to_string()], vec!["b".to_string()]].into_iter().collect();
    let a = references(&["a".into()], "use super::b::Thing;\n// crate::b in a comment", &known);
    let b = references(&["b".into()], "use crate::{a::Other, b};", &known);
    let graph: BTreeMap<_, _> =
        [(vec!["a".to_string()], a), (vec!["b".to_string()], b)].into_iter().collect();
    assert_eq!(circles(&graph), [vec!["a".to_string(), "b".to_string()]]);
}
