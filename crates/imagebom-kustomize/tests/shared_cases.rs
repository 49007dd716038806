//! The oracle harness: every case of `../shared/kustomize` (39 real kustomizations with the
//! output `kubectl kustomize` v1.32 / Kustomize v5.5.0 gave) built natively and compared with
//! the oracle's documents, in order, and its image list; the failing cases must fail.
//!
//! `tests/supported.txt` lists the cases that must equal the oracle. The test fails when one of
//! them differs, and also when a case not on the list now equals it, so the list stays true.
//! `tests/byte_identical.txt` does the same for the cases whose printed stream (`to_yaml`) is
//! byte for byte the oracle's.

use imagebom_kustomize::{build, to_yaml, Object};
use imagebom_testkit::{shared, Need};
use serde_yaml_ng::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const NEED: Need = Need::Shared {
    name: "kustomize",
    env: "IMAGEBOM_KUSTOMIZE",
    marker: "cases.json",
};

/// What one case gave.
enum Outcome {
    /// Same documents in order and same images; whether the bytes are identical too.
    Equal { bytes: bool },
    /// A case that must fail failed.
    Failed,
    /// A case the oracle fails on built natively.
    Succeeded,
    /// A `helmCharts` case the oracle ran without `--enable-helm` built natively (compared
    /// with `kubectl kustomize --enable-helm` in `tests/kubectl_cases.rs`).
    Helm,
    /// Anything else, with the reason.
    Differs(String),
}

fn corpus() -> Option<PathBuf> {
    let Need::Shared { name, env, marker } = NEED else {
        unreachable!()
    };
    shared(name, env, marker)
}

fn parse_stream(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).expect("oracle output is YAML"))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// The sorted, de-duplicated container images of pod-bearing objects (as `tools/images.py`).
fn images(docs: &[Value]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for d in docs {
        let kind = d.get("kind").and_then(Value::as_str).unwrap_or("");
        let path: &[&str] = match kind {
            "Pod" => &["spec"],
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
                &["spec", "template", "spec"]
            }
            "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
            _ => continue,
        };
        let Some(spec) = path.iter().try_fold(d, |v, k| v.get(*k)) else {
            continue;
        };
        for key in ["containers", "initContainers", "ephemeralContainers"] {
            for c in spec
                .get(key)
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                match c.get("image") {
                    Some(Value::String(s)) => out.insert(s.clone()),
                    Some(Value::Null) | None => false,
                    Some(other) => out.insert(
                        serde_yaml_ng::to_string(other)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    ),
                };
            }
        }
    }
    out.into_iter().collect()
}

fn first_difference(ours: &[Value], theirs: &[Value]) -> String {
    if ours.len() != theirs.len() {
        return format!("{} documents, the oracle has {}", ours.len(), theirs.len());
    }
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        if a != b {
            let name = |v: &Value| {
                format!(
                    "{}/{}",
                    v.get("kind").and_then(Value::as_str).unwrap_or("?"),
                    v.get("metadata")
                        .and_then(|m| m.get("name"))
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                )
            };
            return format!(
                "document {i} ({}) differs from the oracle's ({})",
                name(a),
                name(b)
            );
        }
    }
    String::new()
}

fn run_case(root: &Path, name: &str, kdir: &str) -> Outcome {
    let dir = root.join("cases").join(name).join(kdir);
    let expected = root.join("expected").join(format!("{name}.yaml"));
    let result: Result<Vec<Object>, _> = build(&dir);
    if !expected.exists() {
        // The oracle ran without `--enable-helm`; imagebom inflates `helmCharts` natively,
        // compared with `kubectl kustomize --enable-helm` in `tests/kubectl_cases.rs`.
        let needs_helm =
            std::fs::read_to_string(root.join("expected").join(format!("{name}.error.txt")))
                .is_ok_and(|e| e.contains("must specify --enable-helm"));
        return match result {
            Err(_) => Outcome::Failed,
            Ok(_) if needs_helm => Outcome::Helm,
            Ok(_) => Outcome::Succeeded,
        };
    }
    let objects = match result {
        Ok(o) => o,
        Err(e) => return Outcome::Differs(format!("error: {e}")),
    };
    let text = std::fs::read_to_string(&expected).expect("expected output");
    let theirs = parse_stream(&text);
    let ours_text = to_yaml(&objects);
    let ours: Vec<Value> = objects.iter().map(|o| o.doc.clone()).collect();
    if ours != theirs {
        return Outcome::Differs(first_difference(&ours, &theirs));
    }
    let img_file = root.join("expected").join(format!("{name}.images.txt"));
    let want: Vec<String> = std::fs::read_to_string(img_file)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    if images(&ours) != want {
        return Outcome::Differs(format!("images {:?}, the oracle's {want:?}", images(&ours)));
    }
    Outcome::Equal {
        bytes: ours_text == text,
    }
}

#[test]
fn shared_kustomize_cases_equal_the_oracle() {
    let Some(root) = corpus() else { return };
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("cases.json")).unwrap()).unwrap();
    let supported: BTreeSet<String> = include_str!("supported.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let byte_identical: BTreeSet<String> = include_str!("byte_identical.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let (mut equal, mut bytes, mut failed, mut problems) = (0, 0, 0, Vec::new());
    let mut seen = BTreeSet::new();
    for (name, case) in cases.as_object().expect("cases.json is a map") {
        seen.insert(name.clone());
        let kdir = case["kdir"].as_str().unwrap_or(".");
        let outcome = run_case(&root, name, kdir);
        match (&outcome, supported.contains(name)) {
            (Outcome::Equal { bytes: b }, listed) => {
                equal += 1;
                bytes += usize::from(*b);
                eprintln!("EQUAL{} {name}", if *b { " (bytes)" } else { "" });
                if !listed {
                    problems.push(format!(
                        "{name} now equals the oracle: add it to tests/supported.txt"
                    ));
                }
                match (*b, byte_identical.contains(name)) {
                    (true, false) => problems.push(format!(
                        "{name} is now byte-identical to the oracle: add it to tests/byte_identical.txt"
                    )),
                    (false, true) => problems.push(format!(
                        "{name}: tests/byte_identical.txt lists it, but the bytes differ from the oracle's"
                    )),
                    _ => {}
                }
            }
            (Outcome::Failed, _) => {
                failed += 1;
                eprintln!("FAILS as the oracle does: {name}");
            }
            (Outcome::Helm, _) => {
                eprintln!(
                    "BUILDS with helmCharts inflated (the oracle lacked --enable-helm): {name}"
                )
            }
            (Outcome::Succeeded, _) => problems.push(format!(
                "{name}: the oracle fails, the native build succeeded"
            )),
            (Outcome::Differs(why), true) => problems.push(format!("{name}: {why}")),
            (Outcome::Differs(why), false) => eprintln!("not yet: {name}: {why}"),
        }
    }
    for name in byte_identical.difference(&supported) {
        problems.push(format!(
            "tests/byte_identical.txt names {name}, which tests/supported.txt does not"
        ));
    }
    for name in supported.difference(&seen) {
        problems.push(format!(
            "tests/supported.txt names {name}, which is not a shared case"
        ));
    }
    eprintln!(
        "{equal} of {} cases equal the oracle as documents, {bytes} byte for byte \
         (this round began at 16 and 5); {failed} fail as the oracle does",
        seen.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
