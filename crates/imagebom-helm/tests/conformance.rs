//! Conformance suite, Helm part: every `oracle: helm` vector of `tests/conformance/`
//! (expected outputs printed by the real Helm v4 SDK, see `cargo xtask conformance`) rendered by
//! `imagebom_helm::render` with the oracle's settings (release `release-name`, namespace
//! `default`, install).
//!
//! - Template vectors: a chart built in memory exactly as the oracle builds it — `Chart.yaml`
//!   (`apiVersion: v2`, name `t`, version `0.1.0`), `values.yaml` = the vector's `data` as
//!   compact JSON, `templates/t.yaml` = the template — and the output of `t/templates/t.yaml`
//!   compared byte for byte with `expected`. A blank result is absent from
//!   `Rendered::manifests`; absence matches a blank `expected`.
//! - Chart vectors: the `files` tree written to a temporary directory and loaded with
//!   `Chart::load_dir` (as the oracle loads it), rendered with the user `values`; every non-blank rendered file
//!   (manifests plus the top chart's `NOTES.txt` at `<chart>/templates/NOTES.txt`) compared
//!   byte for byte with the `expected` map.
//! - Error vectors must fail, and our error text must contain the oracle's `error_location`
//!   (when it has one) and `error_message` (see tests/conformance/README.md).
//!
//! Prints a per-file pass/fail table and every failing vector; fails if any vector fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use imagebom_helm::{render, Chart, ChartFiles, RenderOptions};
use imagebom_template::{convert, Dict, Value};
use serde_json::Value as Json;

type Vector = serde_json::Map<String, Json>;

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

fn load() -> Vec<(String, Vec<Vector>)> {
    let dir = suite_dir();
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read vector file");
            let y: serde_yaml_ng::Value =
                serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let vectors = match serde_json::to_value(y).expect("vectors are JSON-able") {
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

/// What a render produced: one text (template vectors) or a path → text map (chart vectors).
#[derive(Debug, PartialEq)]
enum Out {
    Text(String),
    Map(BTreeMap<String, String>),
}

fn judge(v: &Vector, got: Result<Out, String>) -> Result<(), String> {
    match v.get("expected") {
        Some(Json::String(want)) => {
            return match got {
                Ok(Out::Text(out)) if &out == want => Ok(()),
                Ok(out) => Err(format!("output {out:?}, expected {want:?}")),
                Err(e) => Err(format!("error {e:?}, expected output {want:?}")),
            };
        }
        Some(Json::Object(want)) => {
            let want: BTreeMap<String, String> = want
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            return match got {
                Ok(Out::Map(out)) if out == want => Ok(()),
                Ok(Out::Map(out)) => Err(map_diff(&out, &want)),
                Ok(out) => Err(format!("output {out:?}, expected {want:?}")),
                Err(e) => Err(format!("error {e:?}, expected output")),
            };
        }
        _ => {}
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
    if let Some(Json::String(loc)) = v.get("error_location") {
        if !out_err.contains(loc.as_str()) {
            return Err(format!("error {out_err:?} lacks location {loc:?}"));
        }
    }
    if let Some(Json::String(msg)) = v.get("error_message") {
        if !out_err.contains(msg.as_str()) {
            return Err(format!("error {out_err:?} lacks message {msg:?}"));
        }
    }
    Ok(())
}

fn map_diff(out: &BTreeMap<String, String>, want: &BTreeMap<String, String>) -> String {
    let mut why = Vec::new();
    for (k, w) in want {
        match out.get(k) {
            None => why.push(format!("missing {k}")),
            Some(o) if o != w => why.push(format!("{k}: {o:?}, expected {w:?}")),
            _ => {}
        }
    }
    for k in out.keys().filter(|k| !want.contains_key(*k)) {
        why.push(format!("unexpected {k}: {:?}", out[k]));
    }
    why.join("; ")
}

fn user_values(v: &Vector) -> Result<Dict, String> {
    match v.get("values") {
        None | Some(Json::Null) => Ok(Dict::new()),
        Some(j) => match convert::from_json(j.clone()) {
            Value::Map(d) => Ok(d),
            other => Err(format!("vector values are not a map: {other:?}")),
        },
    }
}

fn render_chart(chart: &Chart, values: Dict) -> Result<BTreeMap<String, String>, String> {
    let opts = RenderOptions {
        values,
        ..RenderOptions::default()
    };
    let r = render(chart, &opts).map_err(|e| e.to_string())?;
    let mut out: BTreeMap<String, String> = r
        .manifests
        .into_iter()
        .filter(|(_, t)| !t.trim().is_empty())
        .collect();
    if let Some(notes) = r.notes.filter(|n| !n.trim().is_empty()) {
        out.insert(format!("{}/templates/NOTES.txt", chart.name()), notes);
    }
    Ok(out)
}

fn run(v: &Vector) -> Result<Out, String> {
    if let Some(Json::String(template)) = v.get("template") {
        let data = match v.get("data") {
            None | Some(Json::Null) => Json::Object(Default::default()),
            Some(d) => d.clone(),
        };
        let values_yaml = format!("{}\n", serde_json::to_string(&data).expect("JSON"));
        let mut files = ChartFiles::new();
        files.insert(
            "Chart.yaml".into(),
            b"apiVersion: v2\nname: t\nversion: 0.1.0\n".to_vec(),
        );
        files.insert("values.yaml".into(), values_yaml.into_bytes());
        files.insert("templates/t.yaml".into(), template.as_bytes().to_vec());
        let chart = Chart::from_files(files).map_err(|e| e.to_string())?;
        let mut out = render_chart(&chart, Dict::new())?;
        return Ok(Out::Text(
            out.remove("t/templates/t.yaml").unwrap_or_default(),
        ));
    }
    let Some(Json::Object(tree)) = v.get("files") else {
        return Err("vector has neither `template` nor `files`".into());
    };
    // Written to disk and loaded as a directory, as the oracle does (`.helmignore` applies).
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    for (p, c) in tree {
        let path = dir.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap_or(dir.path())).map_err(|e| e.to_string())?;
        std::fs::write(&path, c.as_str().unwrap_or_default()).map_err(|e| e.to_string())?;
    }
    let chart = Chart::load_dir(dir.path()).map_err(|e| e.to_string())?;
    render_chart(&chart, user_values(v)?).map(Out::Map)
}

#[test]
fn helm_vectors_match_helm() {
    let files = load();
    let mut table: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for (rel, vectors) in &files {
        for v in vectors {
            if v.get("oracle").and_then(Json::as_str) != Some("helm") {
                continue;
            }
            let name = v.get("name").and_then(Json::as_str).unwrap_or("?");
            let got = std::panic::catch_unwind(|| run(v)).unwrap_or_else(|p| {
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
    let (mut pass, mut fail) = (0, 0);
    println!("{:<40} {:>5} {:>5}", "helm vectors", "pass", "fail");
    for (file, (p, f)) in &table {
        println!("{file:<40} {p:>5} {f:>5}");
        pass += p;
        fail += f;
    }
    println!("{:<40} {pass:>5} {fail:>5}", "total");
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(
        pass + fail > 0,
        "no helm vectors under {}",
        suite_dir().display()
    );
    assert!(
        failures.is_empty(),
        "{fail} of {} helm conformance vectors fail (listed above)",
        pass + fail
    );
}
