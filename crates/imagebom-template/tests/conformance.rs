//! Conformance suite, Go language part: every `oracle: go` vector of `tests/conformance/`
//! (expected outputs printed by Go 1.19's `text/template`, see `cargo xtask conformance`)
//! executed by our engine with plain Go semantics: a template named `t`, Go's default
//! options, only the builtin functions, and `.` = the vector's `data` decoded as Go's
//! `encoding/json` does (every number a float64).
//!
//! Output vectors must match `expected` byte for byte. Error vectors must fail, and our error
//! text must contain the oracle's `error_location` (`NAME:LINE:COL`, or `NAME:LINE` for parse
//! errors) when it has one and its `error_message` (the oracle's final message, see
//! tests/conformance/README.md). The `helm` vectors run in `imagebom-helm`'s conformance test.
//!
//! Prints a per-file pass/fail table and every failing vector; fails if any vector fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use imagebom_template::{Template, Value, convert};
use serde_json::Value as Json;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml") {
            out.push(p);
        }
    }
}

/// Vector files as (path relative to the suite, vectors as JSON objects).
fn load() -> Vec<(String, Vec<serde_json::Map<String, Json>>)> {
    let dir = suite_dir();
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read vector file");
            let y: serde_yaml_ng::Value =
                serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let j = serde_json::to_value(y).expect("vectors are JSON-able");
            let vectors = match j {
                Json::Array(a) => a
                    .into_iter()
                    .map(|v| match v {
                        Json::Object(m) => m,
                        _ => panic!("{}: a vector is a mapping", p.display()),
                    })
                    .collect(),
                _ => panic!("{}: a vector file is a sequence", p.display()),
            };
            let rel = p.strip_prefix(&dir).unwrap_or(&p).display().to_string();
            (rel, vectors)
        })
        .collect()
}

/// Checks one result against a vector's generated fields; `Err` says why it differs.
fn judge(v: &serde_json::Map<String, Json>, got: Result<String, String>) -> Result<(), String> {
    if let Some(Json::String(want)) = v.get("expected") {
        return match got {
            Ok(out) if &out == want => Ok(()),
            Ok(out) => Err(format!("output {out:?}, expected {want:?}")),
            Err(e) => Err(format!("error {e:?}, expected output {want:?}")),
        };
    }
    let Some(Json::String(oracle_err)) = v.get("error") else {
        return Err(
            "vector has no `expected` or `error`: run `cargo xtask conformance --update`".into(),
        );
    };
    let out_err = match got {
        Ok(out) => return Err(format!("output {out:?}, expected error {oracle_err:?}")),
        Err(e) => e,
    };
    if let Some(Json::String(loc)) = v.get("error_location")
        && !out_err.contains(loc.as_str())
    {
        return Err(format!("error {out_err:?} lacks location {loc:?}"));
    }
    if let Some(Json::String(msg)) = v.get("error_message")
        && !out_err.contains(msg.as_str())
    {
        return Err(format!("error {out_err:?} lacks message {msg:?}"));
    }
    Ok(())
}

fn run_go(template: &str, data: &Json) -> Result<String, String> {
    let data: Value = convert::from_json(data.clone());
    let t = Template::new("t")
        .parse(template)
        .map_err(|e| e.to_string())?;
    t.execute_to_string(&data).map_err(|e| e.to_string())
}

#[test]
fn go_vectors_match_go_text_template() {
    let files = load();
    let mut table: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for (rel, vectors) in &files {
        for v in vectors {
            if v.get("oracle").and_then(Json::as_str) != Some("go") {
                continue;
            }
            let name = v
                .get("name")
                .and_then(Json::as_str)
                .unwrap_or("?")
                .to_string();
            let template = v.get("template").and_then(Json::as_str).unwrap_or_default();
            let data = v.get("data").cloned().unwrap_or(Json::Null);
            let got = std::panic::catch_unwind(|| run_go(template, &data)).unwrap_or_else(|p| {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(format!("PANIC: {msg}"))
            });
            let entry = table.entry(rel.clone()).or_default();
            match judge(v, got) {
                Ok(()) => entry.0 += 1,
                Err(why) => {
                    entry.1 += 1;
                    failures.push(format!("{rel}: {name}: {why}"));
                }
            }
        }
    }
    std::panic::set_hook(default_hook);
    report("go", &table, &failures);
}

fn report(kind: &str, table: &BTreeMap<String, (usize, usize)>, failures: &[String]) {
    let (mut pass, mut fail) = (0, 0);
    println!(
        "{:<40} {:>5} {:>5}",
        format!("{kind} vectors"),
        "pass",
        "fail"
    );
    for (file, (p, f)) in table {
        println!("{file:<40} {p:>5} {f:>5}");
        pass += p;
        fail += f;
    }
    println!("{:<40} {pass:>5} {fail:>5}", "total");
    for f in failures {
        println!("FAIL {f}");
    }
    assert!(
        pass + fail > 0,
        "no {kind} vectors found under {}",
        suite_dir().display()
    );
    assert!(
        failures.is_empty(),
        "{fail} of {} {kind} conformance vectors fail (listed above)",
        pass + fail
    );
}
