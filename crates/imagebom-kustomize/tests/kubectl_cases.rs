//! Small kustomizations of our own (`tests/cases/*`), each exercising features the shared
//! corpus uses little or not at all, built natively and by the real `kubectl kustomize`
//! (Kustomize v5) on this machine: the documents must be equal, in order.

use imagebom_kustomize::{build, to_yaml};
use imagebom_testkit::{ready, Need};
use serde_yaml_ng::Value;
use std::path::Path;
use std::process::Command;

const KUBECTL: Need = Need::Program("/usr/bin/kubectl", "kubectl");

fn parse(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).expect("YAML"))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

#[test]
fn own_cases_equal_kubectl_kustomize() {
    if !ready(&[KUBECTL]) {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/cases")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 4, "the own cases are missing");
    let mut problems = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let out = Command::new("/usr/bin/kubectl")
            .arg("kustomize")
            .arg(dir)
            .output()
            .expect("kubectl runs");
        assert!(
            out.status.success(),
            "kubectl kustomize {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs_text = String::from_utf8(out.stdout).unwrap();
        let objects = match build(dir) {
            Ok(o) => o,
            Err(e) => {
                problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        let ours: Vec<Value> = objects.iter().map(|o| o.doc.clone()).collect();
        if ours != parse(&theirs_text) {
            problems.push(format!(
                "{name}: differs from kubectl kustomize\n--- native\n{}\n--- kubectl\n{theirs_text}",
                to_yaml(&objects)
            ));
        } else {
            let bytes = to_yaml(&objects) == theirs_text;
            eprintln!("EQUAL{} {name}", if bytes { " (bytes)" } else { "" });
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn errors_name_the_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let missing = root.join("no-such-dir");
    let err = build(&missing).unwrap_err().to_string();
    assert!(err.contains("no-such-dir"), "{err}");
    // A directory without a kustomization: Kustomize's wording, naming the directory.
    let tmp = std::env::temp_dir().join(format!("imagebom-kustomize-empty-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let err = build(&tmp).unwrap_err().to_string();
    assert!(
        err.contains("unable to find one of 'kustomization.yaml'"),
        "{err}"
    );
    std::fs::write(
        tmp.join("kustomization.yaml"),
        "resources: [missing.yaml]\n",
    )
    .unwrap();
    let err = build(&tmp).unwrap_err().to_string();
    assert!(
        err.contains("kustomization.yaml") && err.contains("missing.yaml"),
        "{err}"
    );
    std::fs::write(tmp.join("kustomization.yaml"), "resources: [a.yaml\n").unwrap();
    let err = build(&tmp).unwrap_err().to_string();
    assert!(err.contains("kustomization.yaml"), "{err}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
