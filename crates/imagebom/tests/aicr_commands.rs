//! `check` and `mirror` on AICR's component registry give what they give on the same
//! distribution written in our format; and every AICR overlay (a variant) gives a BOM, with
//! the components whose charts are not shipped here named.
//!
//! Charts: the 11 of `$IMAGEBOM_AICR/charts/<component>`, mapped by `--chart-mirror`. `check`
//! and `mirror` need every component rendered (`--keep-going` does not relax them), so they
//! run on AICR's registry with the components whose charts are not here taken out: the same
//! `kind: ComponentRegistry` file, fewer entries, beside the same `components/` (linked). The
//! recipe in our format lists the same charts (repository, chart, version, namespace,
//! `release-<name>`, `values.yaml`) and manifests (`manifestsAre: templates`), with the values
//! its templated manifests read given as AICR gives them (`{<component>: values}`). Left out of
//! both: the chart-less components whose templated manifests read `.Values` (AICR gives them
//! `{<component>: values.yaml}`; our format gives a chart-less component values only through a
//! variant).

use assert_cmd::Command;
use serde_yaml_ng::Value as Yaml;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

struct Setup {
    _dir: tempfile::TempDir,
    /// The subset registry, in AICR's format.
    registry: PathBuf,
    /// The same distribution in our format.
    ours: PathBuf,
    /// `--chart-mirror` arguments for the shipped charts.
    mirrors: Vec<String>,
    /// The components of both.
    components: BTreeSet<String>,
}

fn yaml(p: &Path) -> Yaml {
    serde_yaml_ng::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn str_of<'a>(v: &'a Yaml, k: &str) -> &'a str {
    v.get(k).and_then(Yaml::as_str).unwrap_or("")
}

/// Whether any manifest of `dir` is a template reading `.Values`.
fn manifests_read_values(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.filter_map(Result::ok).any(|e| {
            std::fs::read_to_string(e.path())
                .is_ok_and(|t| t.contains("{{") && t.contains(".Values"))
        })
    })
}

fn setup() -> Option<Setup> {
    let aicr = imagebom_testkit::shared("aicr", "IMAGEBOM_AICR", "recipes")?;
    let dir = tempfile::tempdir().unwrap();
    let recipes = dir.path().join("aicr/recipes");
    std::fs::create_dir_all(&recipes).unwrap();
    std::os::unix::fs::symlink(aicr.join("recipes/components"), recipes.join("components"))
        .unwrap();
    let mut doc = yaml(&aicr.join("recipes/registry.yaml"));
    let (mut mirrors, mut components, mut ours) = (Vec::new(), BTreeSet::new(), String::new());
    let comps = doc["components"].as_sequence_mut().unwrap();
    comps.retain(|c| {
        let name = str_of(c, "name").to_string();
        let h = &c["helm"];
        let repo = str_of(h, "defaultRepository").trim_end_matches('/');
        let cdir = aicr.join("recipes/components").join(&name);
        let values = cdir.join("values.yaml");
        let manifests = cdir.join("manifests");
        let keep = if repo.is_empty() {
            !manifests_read_values(&manifests)
        } else {
            aicr.join("charts").join(&name).join("Chart.yaml").is_file()
        };
        if !keep {
            return false;
        }
        ours.push_str(&format!("  - name: {name}\n    manifestsAre: templates\n"));
        let ns = str_of(h, "defaultNamespace");
        if !ns.is_empty() {
            ours.push_str(&format!("    namespace: {ns}\n"));
        }
        if !repo.is_empty() {
            let chart = str_of(h, "defaultChart").rsplit('/').next().unwrap();
            let version = match &h["defaultVersion"] {
                Yaml::String(s) => s.clone(),
                other => serde_yaml_ng::to_string(other).unwrap().trim().to_string(),
            };
            mirrors.push(format!(
                "--chart-mirror={repo}/{chart}={}",
                aicr.join("charts").join(&name).display()
            ));
            ours.push_str(&format!(
                "    helm:\n      repository: {repo}\n      chart: {chart}\n      version: '{version}'\n      releaseName: release-{name}\n"
            ));
            if values.is_file() {
                ours.push_str(&format!("      valuesFiles: ['{}']\n", values.display()));
                if manifests_read_values(&manifests) {
                    let v: Yaml = yaml(&values);
                    let mut wrapped = serde_yaml_ng::Mapping::new();
                    wrapped.insert(Yaml::from(name.as_str()), v);
                    let json = serde_json::to_string(&wrapped).unwrap();
                    ours.push_str(&format!("      values: {json}\n"));
                }
            }
        }
        let has_yaml = std::fs::read_dir(&manifests).is_ok_and(|rd| {
            rd.filter_map(Result::ok)
                .any(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        });
        if has_yaml {
            ours.push_str(&format!(
                "    manifests: ['{}/*.yaml']\n",
                manifests.display()
            ));
        }
        components.insert(name);
        true
    });
    let registry = recipes.join("registry.yaml");
    std::fs::write(&registry, serde_yaml_ng::to_string(&doc).unwrap()).unwrap();
    let ours_path = dir.path().join("ours/recipe.yaml");
    std::fs::create_dir_all(ours_path.parent().unwrap()).unwrap();
    std::fs::write(
        &ours_path,
        format!("apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {{ name: aicr, version: 1.0.0 }}\ncomponents:\n{ours}"),
    )
    .unwrap();
    Some(Setup {
        registry,
        ours: ours_path,
        mirrors,
        components,
        _dir: dir,
    })
}

fn imagebom(s: &Setup, recipe: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("imagebom")
        .unwrap()
        .env("SOURCE_DATE_EPOCH", "1764000000")
        .args(args)
        .arg("--recipe")
        .arg(recipe)
        .arg("--offline")
        .arg("--chart-cache")
        .arg(s._dir.path().join("cache"))
        .args(&s.mirrors)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn mirror_lists_of_the_aicr_registry_are_those_of_our_format() {
    let Some(s) = setup() else { return };
    assert_eq!(s.mirrors.len(), 11, "{:?}", s.mirrors);
    for format in [
        &["--format", "list"][..],
        &["--format", "skopeo-sync"],
        &["--format", "mapping", "--target", "mirror.example:5000/air"],
        &["--format", "idms", "--target", "mirror.example:5000/air"],
    ] {
        let args: Vec<&str> = ["mirror"].iter().chain(format).copied().collect();
        let a = imagebom(&s, &s.registry, &args);
        assert!(a.status.success(), "{format:?}: {}", text(&a.stderr));
        let b = imagebom(&s, &s.ours, &args);
        assert!(b.status.success(), "{format:?}: {}", text(&b.stderr));
        assert_eq!(text(&a.stdout), text(&b.stdout), "{format:?}");
        if format[1] == "list" {
            let n = text(&a.stdout).lines().count();
            assert!(n > 40, "{n} images listed");
            eprintln!(
                "aicr: mirror lists of {n} images from {} components agree",
                s.components.len()
            );
        }
    }
}

/// `file:line: severity[rule]: message` without the file and line (they name each recipe).
fn findings(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| match l.find(": ") {
            Some(i) if l[..i].contains(':') || l[..i].ends_with(".yaml") => l[i + 2..].to_string(),
            _ => l.to_string(),
        })
        .collect()
}

#[test]
fn check_of_the_aicr_registry_finds_what_it_finds_in_our_format() {
    let Some(s) = setup() else { return };
    let policy = s._dir.path().join("policy.yaml");
    std::fs::write(&policy, "allowedRegistries: [nvcr.io, registry.k8s.io]\n").unwrap();
    for extra in [&[][..], &["--policy", policy.to_str().unwrap()]] {
        let args: Vec<&str> = ["check"].iter().chain(extra).copied().collect();
        let a = imagebom(&s, &s.registry, &args);
        let b = imagebom(&s, &s.ours, &args);
        assert_eq!(a.status.code(), b.status.code(), "{}", text(&a.stderr));
        assert!(
            matches!(a.status.code(), Some(0 | 1)),
            "{}",
            text(&a.stderr)
        );
        let (fa, fb) = (findings(&text(&a.stdout)), findings(&text(&b.stdout)));
        assert!(!fa.is_empty(), "{}", text(&a.stderr));
        assert_eq!(fa, fb);
        // AICR's findings name its own files (a manifest, beside the registry).
        let first = text(&a.stdout);
        assert!(first.contains("aicr/recipes/components/"), "{first}");
        eprintln!("aicr: check {extra:?}: {} findings agree", fa.len());
    }
}

/// The components of variant `name` of AICR's registry.
fn variant_components(r: &imagebom_recipe::Recipe, name: &str) -> Vec<imagebom_recipe::Component> {
    r.variant(name).unwrap().components
}

#[test]
fn every_aicr_overlay_gives_a_bom() {
    let Some(aicr) = imagebom_testkit::shared("aicr", "IMAGEBOM_AICR", "recipes") else {
        return;
    };
    let registry = aicr.join("recipes/registry.yaml");
    let r = imagebom_recipe::Recipe::load(&registry).unwrap();
    let names = r.variant_names();
    let shipped = |c: &str| aicr.join("charts").join(c).join("Chart.yaml").is_file();
    let mut mirrors = Vec::new();
    for c in &r.components {
        if let Some(h) = c.helm.as_ref().filter(|_| shipped(&c.name)) {
            mirrors.push(format!(
                "--chart-mirror={}/{}={}",
                h.repository.trim_end_matches('/'),
                h.chart,
                aicr.join("charts").join(&c.name).display()
            ));
        }
    }
    let out = tempfile::tempdir().unwrap();
    let (mut complete, mut partial) = (Vec::new(), Vec::new());
    for v in &names {
        let missing: BTreeSet<String> = variant_components(&r, v)
            .into_iter()
            .filter(|c| c.helm.is_some() && !shipped(&c.name))
            .map(|c| c.name)
            .collect();
        let dir = out.path().join(v);
        let run = Command::cargo_bin("imagebom")
            .unwrap()
            .env("SOURCE_DATE_EPOCH", "1764000000")
            .args([
                "generate",
                "--offline",
                "--keep-going",
                "--format",
                "cyclonedx",
            ])
            .arg("--recipe")
            .arg(&registry)
            .args(["--variant", v])
            .arg("--out")
            .arg(&dir)
            .arg("--chart-cache")
            .arg(out.path().join("cache"))
            .args(&mirrors)
            .output()
            .unwrap();
        let stderr = text(&run.stderr);
        let expected = if missing.is_empty() { 0 } else { 2 };
        assert_eq!(run.status.code(), Some(expected), "{v}: {stderr}");
        for c in &missing {
            assert!(
                stderr.contains(&format!("component \"{c}\": chart")),
                "{v}: {c} not named: {stderr}"
            );
        }
        if !missing.is_empty() {
            assert!(
                stderr.contains(&format!("{} part(s) of the recipe failed", missing.len())),
                "{v}: {stderr}"
            );
        }
        let bom: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("bom.cdx.json")).unwrap()).unwrap();
        let images = bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["type"] == "container")
            .count();
        assert!(images > 0, "{v}: no images");
        let tagged = bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["type"] == "container")
            .all(|c| {
                c["properties"].as_array().unwrap().iter().any(|p| {
                    p["name"] == "imagebom:variant" && p["value"].as_str() == Some(v.as_str())
                })
            });
        assert!(tagged, "{v}: an image without its variant");
        if missing.is_empty() {
            complete.push(format!("{v} ({images} images)"));
        } else {
            partial.push(format!(
                "{v} ({images} images; charts not here: {})",
                missing.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    eprintln!(
        "aicr overlays: {} variants, {} complete:\n  {}\n{} without every chart:\n  {}",
        names.len(),
        complete.len(),
        complete.join("\n  "),
        partial.len(),
        partial.join("\n  ")
    );
}
