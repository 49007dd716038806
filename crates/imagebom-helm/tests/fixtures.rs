//! The fixture charts under `fixtures/charts/` rendered natively and compared with their real
//! Helm renders (`fixtures/charts/expected/<name>.yaml`, written by `cargo xtask conformance
//! --update` with `shared/oracle/helm_render.py`'s semantics and checked by `--check`).
//!
//! Both streams are split per `# Source:` path and each file's YAML documents are compared as
//! parsed values (so quoting and key order do not matter, content does). Every chart is checked
//! and all differences are listed before the test fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use imagebom_helm::{render, to_stream, Chart, RenderOptions};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/charts")
}

/// `# Source:` path → the YAML documents of that file (empty documents dropped).
fn by_source(stream: &str) -> Result<BTreeMap<String, Vec<serde_yaml_ng::Value>>, String> {
    let mut out: BTreeMap<String, Vec<serde_yaml_ng::Value>> = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    let flush = |cur: Option<(String, String)>,
                 out: &mut BTreeMap<String, Vec<serde_yaml_ng::Value>>|
     -> Result<(), String> {
        if let Some((path, text)) = cur {
            let docs = out.entry(path.clone()).or_default();
            for d in serde_yaml_ng::Deserializer::from_str(&text) {
                let v = <serde_yaml_ng::Value as serde::Deserialize>::deserialize(d)
                    .map_err(|e| format!("{path}: {e}"))?;
                if !v.is_null() {
                    docs.push(v);
                }
            }
        }
        Ok(())
    };
    let mut lines = stream.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "---" {
            if let Some(src) = lines.peek().and_then(|l| l.strip_prefix("# Source: ")) {
                let src = src.to_string();
                lines.next();
                flush(current.take(), &mut out)?;
                current = Some((src, String::new()));
                continue;
            }
        }
        match current.as_mut() {
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None if line.trim().is_empty() => {}
            None => return Err(format!("text before the first `# Source:`: {line:?}")),
        }
    }
    flush(current.take(), &mut out)?;
    Ok(out)
}

#[test]
fn fixture_charts_render_like_helm() {
    let expected_dir = fixtures_dir().join("expected");
    let mut names: Vec<String> = std::fs::read_dir(&expected_dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", expected_dir.display()))
        .filter_map(|e| {
            let p = e.ok()?.path();
            if p.extension()? != "yaml" {
                return None;
            }
            Some(p.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 5,
        "expected renders missing: run `cargo xtask conformance --update`"
    );
    let mut failures = Vec::new();
    for name in &names {
        let want_text = std::fs::read_to_string(expected_dir.join(format!("{name}.yaml")))
            .expect("read expected render");
        let want = by_source(&want_text).unwrap_or_else(|e| panic!("expected/{name}.yaml: {e}"));
        let got = Chart::load_dir(fixtures_dir().join(name))
            .map_err(|e| e.to_string())
            .and_then(|c| render(&c, &RenderOptions::default()).map_err(|e| e.to_string()))
            .and_then(|r| by_source(&to_stream(&r)));
        let got = match got {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        for (src, docs) in &want {
            match got.get(src) {
                None => failures.push(format!("{name}: missing {src}")),
                Some(g) if g != docs => failures.push(format!(
                    "{name}: {src} differs:\n--- ours\n{}\n--- helm\n{}",
                    serde_yaml_ng::to_string(g).unwrap_or_default(),
                    serde_yaml_ng::to_string(docs).unwrap_or_default()
                )),
                _ => {}
            }
        }
        for src in got.keys().filter(|s| !want.contains_key(*s)) {
            failures.push(format!("{name}: unexpected {src}"));
        }
        let failed = failures.iter().any(|f| f.starts_with(&format!("{name}:")));
        println!(
            "{name}: {} ({} files)",
            if failed { "FAIL" } else { "ok" },
            want.len()
        );
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(
        failures.is_empty(),
        "{} fixture differences (listed above)",
        failures.len()
    );
}
