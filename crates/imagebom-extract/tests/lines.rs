//! Evidence lines checked against the real Helm v4 SDK: for every chart of the corpus, each
//! occurrence's `line` is a line of the file `helm template --output-dir` writes for its
//! template, and that line holds the reference.
//!
//! The SDK has no `--output-dir`, but `helm template` writes each manifest of a release to
//! its template's file as `---\n# Source: T\n<manifest>\n` in the release's order, the very
//! text of the release manifest: the oracle groups a client-side dry-run install's manifest
//! by `# Source:` to get those files. Hooks are not part of that manifest (Helm appends them
//! to the files after it), so occurrences past the end of those files (in hook documents) are
//! only counted.

use imagebom_extract::{extract, Limits, Origin};
use imagebom_model::Category;
use imagebom_testkit::Need;
use std::collections::BTreeMap;

const NEEDS: &[Need] = &[Need::CORPUS, Need::Venv];

/// Renders CHART (input: its directory) twice: the `helm template` stream in path order as
/// `shared/oracle/helm_render.py` writes it, and the files of `--output-dir`.
const ORACLE: &str = r#"
import json, sys, helm_python as helm
chart_dir = open(sys.argv[1]).read()
with helm.Chart.load(chart_dir) as chart:
    m = chart.render(None, name="release-name", namespace="default", is_install=True)
    rel = helm.Config(namespace="default").install(chart, "release-name", dry_run="client")
stream = "".join(
    f"---\n# Source: {p}\n{t.strip()}\n"
    for p, t in sorted(m.items())
    if not p.endswith("NOTES.txt") and t.strip()
)
files = {}
for chunk in rel["manifest"].split("---\n# Source: ")[1:]:
    name, _, body = chunk.partition("\n")
    files[name] = files.get(name, "") + f"---\n# Source: {name}\n{body}"
json.dump({"stream": stream, "files": files}, open(sys.argv[2], "w"))
"#;

#[test]
fn corpus_lines_are_helm_output_dir_lines() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let corpus = imagebom_testkit::shared("corpus", "IMAGEBOM_CORPUS", "expected").unwrap();
    let python = imagebom_testkit::venv_python().unwrap();
    let (mut checked, mut hooks) = (0, 0);
    let mut errors = Vec::new();
    for chart in [
        "cert-manager",
        "gpu-operator",
        "ingress-nginx",
        "kube-prometheus-stack",
        "network-operator",
        "node-feature-discovery",
        "redis",
    ] {
        let dir = corpus.join("charts").join(chart);
        let out =
            imagebom_testkit::run_oracle_script(&python, ORACLE, dir.to_string_lossy().as_bytes());
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let stream = v["stream"].as_str().unwrap();
        let files: BTreeMap<&str, Vec<&str>> = v["files"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, t)| (k.as_str(), t.as_str().unwrap().lines().collect()))
            .collect();
        let origin = Origin {
            component: chart.into(),
            file: chart.into(),
        };
        let x = extract(stream, &origin, &Limits::default()).unwrap();
        assert!(!x.images.is_empty(), "{chart}: no images");
        for (r, o) in &x.images {
            let Some(line) = o.line else {
                errors.push(format!("{chart}: no line for {} at {}", o.original, o.path));
                continue;
            };
            let Some(file) = files.get(o.source.as_str()) else {
                // Only hooks are missing from the release manifest.
                hooks += 1;
                continue;
            };
            let Some(text) = file.get(line as usize - 1).copied() else {
                // Hooks come after the release manifest's documents in the file.
                hooks += 1;
                continue;
            };
            let ok = match o.category {
                // A triplet's line is the first of its parts.
                Category::CrTriplet | Category::CrDisabled => [
                    "registry:",
                    "repository:",
                    "image:",
                    "name:",
                    "version:",
                    "tag:",
                    "digest:",
                ]
                .iter()
                .any(|k| text.trim_start().starts_with(k)),
                // An embedded finding has the line of its string (`key: |` for a block).
                Category::Embedded => !text.trim().is_empty(),
                _ => text.contains(o.original.as_str()) || text.contains(r.original()),
            };
            if ok {
                checked += 1;
            } else {
                errors.push(format!(
                    "{chart}: {} at {}:{line} ({}) is {text:?}",
                    o.original, o.source, o.path
                ));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(
        checked >= 45,
        "only {checked} occurrences checked ({hooks} in hooks)"
    );
    eprintln!("{checked} occurrences checked, {hooks} in hooks not checked");
}
