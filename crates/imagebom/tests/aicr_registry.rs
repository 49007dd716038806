//! Acceptance: `imagebom generate` on AICR's own component registry (`$IMAGEBOM_AICR`, default
//! `../shared/aicr`), unchanged, offline, with the repository of each of the 11 charts kept in
//! `charts/<component>` mapped there by `--chart-mirror`.
//!
//! The other components' charts are not available: the run uses `--keep-going`, must exit 2
//! and name each of them; every other component renders. For the 11 chart components and the
//! manifest-only ones, the BOM lists every image AICR's published `container-images.md` lists
//! for them, and every image it lists beyond those carries evidence (template, document, path).

use assert_cmd::Command;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `docker.io/library/` completion of a reference as written (Docker's rule: the first
/// segment is a registry host when it has a `.` or `:` or is `localhost`).
fn normalize(r: &str) -> String {
    let first = r.split('/').next().unwrap_or("");
    let has_host = r.contains('/') && (first.contains(['.', ':']) || first == "localhost");
    match (has_host, r.contains('/')) {
        (true, _) => r.to_string(),
        (false, true) => format!("docker.io/{r}"),
        (false, false) => format!("docker.io/library/{r}"),
    }
}

/// `### <component>` sections of `container-images.md` and their `` - `ref` `` items.
fn published(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            current = Some(name.trim().to_string());
            out.entry(name.trim().to_string()).or_default();
        } else if let (Some(c), Some(item)) = (&current, line.strip_prefix("- `")) {
            let r = item.split('`').next().unwrap_or("");
            out.get_mut(c).unwrap().push(r.to_string());
        }
    }
    out
}

struct Registry {
    /// Component → (repository, chart name), for components with a chart.
    charts: BTreeMap<String, (String, String)>,
    /// Components without a chart.
    manifest_only: BTreeSet<String>,
}

fn registry(path: &Path) -> Registry {
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut r = Registry {
        charts: BTreeMap::new(),
        manifest_only: BTreeSet::new(),
    };
    for c in doc["components"].as_sequence().unwrap() {
        let name = c["name"].as_str().unwrap().to_string();
        let repo = c["helm"]["defaultRepository"].as_str().unwrap_or("");
        if repo.is_empty() {
            r.manifest_only.insert(name);
        } else {
            let chart = c["helm"]["defaultChart"].as_str().unwrap();
            let chart = chart.rsplit('/').next().unwrap().to_string();
            r.charts
                .insert(name, (repo.trim_end_matches('/').to_string(), chart));
        }
    }
    r
}

/// Image name → its `imagebom:occurrence` values (`component|source|kind/name|path|category`).
fn bom_images(bom: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for c in bom["components"].as_array().unwrap() {
        if c["type"] != "container" {
            continue;
        }
        let props = c["properties"].as_array().unwrap();
        let get = |n: &str| {
            props
                .iter()
                .filter(|p| p["name"] == n)
                .map(|p| p["value"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        out.insert(
            get("imagebom:normalized")[0].clone(),
            get("imagebom:occurrence"),
        );
    }
    out
}

#[test]
fn aicr_registry_generates_a_bom_with_every_published_image() {
    let Some(aicr) = imagebom_testkit::shared("aicr", "IMAGEBOM_AICR", "recipes") else {
        return;
    };
    let recipe = aicr.join("recipes/registry.yaml");
    let reg = registry(&recipe);
    let available: BTreeSet<String> = reg
        .charts
        .keys()
        .filter(|c| aicr.join("charts").join(c).join("Chart.yaml").is_file())
        .cloned()
        .collect();
    assert_eq!(available.len(), 11, "{available:?}");
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("imagebom").unwrap();
    cmd.env("SOURCE_DATE_EPOCH", "1764000000")
        .args([
            "generate",
            "--offline",
            "--keep-going",
            "--format",
            "cyclonedx",
        ])
        .arg("--recipe")
        .arg(&recipe)
        .arg("--out")
        .arg(out.path())
        .arg("--chart-cache")
        .arg(out.path().join("cache"));
    for c in &available {
        let (repo, chart) = &reg.charts[c];
        let target = aicr.join("charts").join(c);
        cmd.arg(format!(
            "--chart-mirror={repo}/{chart}={}",
            target.display()
        ));
    }
    let run = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    // The unavailable charts fail the run, each by name; nothing else fails.
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    let unavailable: Vec<&String> = reg
        .charts
        .keys()
        .filter(|c| !available.contains(*c))
        .collect();
    assert!(
        stderr.contains(&format!(
            "{} part(s) of the recipe failed (--keep-going)",
            unavailable.len()
        )),
        "{stderr}"
    );
    for c in &unavailable {
        assert!(
            stderr.contains(&format!("component \"{c}\": chart")),
            "{c}: {stderr}"
        );
    }

    let bom: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("bom.cdx.json")).unwrap()).unwrap();
    // The canonical repository stays in the BOM, not the mirror.
    let comps = bom["components"].as_array().unwrap();
    for c in &available {
        let entry = comps.iter().find(|x| x["name"] == c.as_str()).unwrap();
        let repo = entry["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "imagebom:chart-repository")
            .unwrap();
        assert_eq!(repo["value"].as_str().unwrap(), reg.charts[c].0.as_str());
    }
    let images = bom_images(&bom);
    let listed = published(&std::fs::read_to_string(aicr.join("container-images.md")).unwrap());
    let checked: BTreeSet<&String> = available.iter().chain(&reg.manifest_only).collect();
    let mut expected = BTreeSet::new();
    let mut missing = Vec::new();
    for c in &checked {
        let refs = listed
            .get(*c)
            .unwrap_or_else(|| panic!("{c} not in container-images.md"));
        for r in refs {
            let n = normalize(r);
            let found = images
                .get(&n)
                .is_some_and(|occ| occ.iter().any(|o| o.starts_with(&format!("{c}|"))));
            if !found {
                missing.push(format!("{c}: {r}"));
            }
            expected.insert(n);
        }
    }
    assert!(missing.is_empty(), "not in the BOM: {missing:#?}");
    // Every image beyond the published ones carries evidence for one of these components.
    let mut extra = 0;
    for (name, occ) in &images {
        let ours: Vec<&String> = occ
            .iter()
            .filter(|o| checked.contains(&o.split('|').next().unwrap().to_string()))
            .collect();
        if ours.is_empty() || expected.contains(name) {
            continue;
        }
        extra += 1;
        for o in ours {
            let parts: Vec<&str> = o.split('|').collect();
            assert!(
                parts.len() == 5 && parts[1..].iter().all(|p| !p.is_empty()),
                "{name}: evidence {o:?}"
            );
        }
    }
    eprintln!(
        "aicr: {} published images found, {extra} more with evidence, {} unavailable charts named",
        expected.len(),
        unavailable.len()
    );
}
