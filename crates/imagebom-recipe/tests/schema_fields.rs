//! The JSON schema and the recipe reader agree: every recipe of the tree and every recipe
//! example of the docs validates; a recipe with every field of the schema validates and loads;
//! an unknown field anywhere is rejected by both.

use imagebom_recipe::Recipe;
use serde_yaml_ng::{Mapping, Value};
use std::path::{Path, PathBuf};

fn schema() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(imagebom_testkit::workspace().join("schemas/recipe.schema.json"))
            .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn errors(s: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    let json: serde_json::Value = serde_json::to_value(doc).unwrap();
    s.iter_errors(&json).map(|e| e.to_string()).collect()
}

fn is_ours(doc: &Value) -> bool {
    doc.get("apiVersion").and_then(Value::as_str) == Some(imagebom_recipe::API_VERSION)
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

#[test]
fn every_recipe_of_the_tree_validates_and_loads() {
    let s = schema();
    let mut files = Vec::new();
    for d in ["recipes", "fixtures"] {
        yaml_files(&imagebom_testkit::workspace().join(d), &mut files);
    }
    let mut checked = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // Chart templates and manifests are not recipes (nor always YAML).
        let Ok(doc) = serde_yaml_ng::from_str::<Value>(&text) else {
            continue;
        };
        if !is_ours(&doc) {
            continue;
        }
        let errs = errors(&s, &doc);
        assert!(errs.is_empty(), "{}: {errs:?}", f.display());
        Recipe::load(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        checked += 1;
    }
    assert!(checked >= 1, "no recipe found under recipes/ and fixtures/");
}

/// The ```yaml blocks of a markdown page.
fn yaml_blocks(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in page.lines() {
        match (&mut cur, line.trim_start()) {
            (None, l) if l.starts_with("```yaml") => cur = Some(String::new()),
            (Some(_), l) if l.starts_with("```") => out.extend(cur.take()),
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn the_recipe_examples_of_the_docs_validate() {
    let s = schema();
    let mut pages = vec![imagebom_testkit::workspace().join("README.md")];
    for e in std::fs::read_dir(imagebom_testkit::workspace().join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push(p);
        }
    }
    let mut checked = 0;
    for page in pages {
        let blocks = yaml_blocks(&std::fs::read_to_string(&page).unwrap());
        // A `variants:` block in docs/recipe.md completes the full example before it.
        let mut last_full: Option<Value> = None;
        for b in blocks {
            let Ok(doc) = serde_yaml_ng::from_str::<Value>(&b) else {
                continue;
            };
            let doc = if is_ours(&doc) {
                last_full = Some(doc.clone());
                doc
            } else if let (Some(v), Some(full)) = (doc.get("variants"), &last_full) {
                let mut d = full.clone();
                d["variants"] = v.clone();
                d
            } else {
                continue;
            };
            let errs = errors(&s, &doc);
            assert!(errs.is_empty(), "{}: {errs:?}\n{b}", page.display());
            checked += 1;
        }
    }
    assert!(checked >= 2, "the docs' recipe examples were not found");
}

/// A recipe that sets every field the schema knows.
const FULL: &str = "apiVersion: imagebom.dev/v1alpha1
kind: Recipe
metadata:
  name: full
  version: 1.0.0
  description: every field
  supplier: Example Corp
components:
  - name: web
    displayName: Web tier
    namespace: web
    helm:
      repository: ./chart
      chart: web
      version: 1.0.0
      valuesFiles: [v/web.yaml]
      values: { replicas: 2 }
      releaseName: web
      includeCrds: true
    manifests: [m/*.yaml]
    manifestsAre: templates
    kustomize: { path: kz }
    images:
      - ref: busybox:1.37
        reason: debug sidecar
    verify:
      identities:
        - { issuer: https://token.actions.githubusercontent.com, subjectRegExp: '^https://github\\.com/acme/' }
        - { issuerRegExp: '^https://accounts\\.google\\.com$', subject: ci@example.com }
      keys: [k.pub]
      provenance: { predicateType: https://slsa.dev/provenance/v1, builderId: https://builder.example/v1 }
    owner: web-team
    admissionPolicy: { kind: ClusterPolicy, name: web-images }
    imagePolicies:
      - match: docker.io/library/*
        verify: { keys: [k.pub] }
        owner: platform-team
        admissionPolicy: { kind: ClusterPolicy, name: hub-images }
  - name: addons
    manifests: [m/t.yaml]
    manifestsAre: templates
    valuesFiles: [v/addons.yaml]
    values: { replicas: 3 }
variants:
  - name: gpu
    description: with GPUs
    components:
      - name: web
        valuesFiles: [v/gpu.yaml]
        values: { gpu: true }
        manifests: [m/a.yaml]
exemptions:
  - ref: busybox:1.37
    reason: not yet pinned
    tracking: https://example.invalid/issues/1
settings:
  kubeVersion: v1.34.2
  apiVersions: [monitoring.coreos.com/v1]
  manifestsAre: plain
  chartMirrors:
    https://charts.example/stable: ./mirror
";

fn full_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    for dir in ["m", "v", "chart/templates", "mirror", "kz"] {
        std::fs::create_dir_all(p.join(dir)).unwrap();
    }
    std::fs::write(p.join("m/a.yaml"), "kind: Pod\n").unwrap();
    std::fs::write(p.join("kz/kustomization.yaml"), "resources: []\n").unwrap();
    std::fs::write(
        p.join("k.pub"),
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEOc6HkISHzVdUbtUsdjYtPuyPYBeg\n4FCemyVurIM4KEORQk4OAu8ZNwxvGSoY3eAabYaFIPPQ8ROAjrbdPwNdJw==\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    std::fs::write(p.join("v/web.yaml"), "a: 1\n").unwrap();
    std::fs::write(p.join("v/gpu.yaml"), "b: 1\n").unwrap();
    std::fs::write(p.join("v/addons.yaml"), "image: busybox:1.37\n").unwrap();
    std::fs::write(
        p.join("m/t.yaml"),
        "kind: Pod\nspec: {containers: [{image: '{{ .Values.image }}', replicas: {{ .Values.replicas }}}]}\n",
    )
    .unwrap();
    std::fs::write(
        p.join("chart/Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    )
    .unwrap();
    d
}

/// Every property name the schema declares (under any `properties`).
fn schema_properties(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::Object(props)) = m.get("properties") {
                out.extend(props.keys().cloned());
            }
            m.values().for_each(|x| schema_properties(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| schema_properties(x, out)),
        _ => {}
    }
}

/// Every key of the document (recursively).
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, x) in m {
                out.extend(k.as_str().map(str::to_string));
                keys(x, out);
            }
        }
        Value::Sequence(s) => s.iter().for_each(|x| keys(x, out)),
        _ => {}
    }
}

#[test]
fn a_recipe_with_every_field_validates_and_loads() {
    let text =
        std::fs::read_to_string(imagebom_testkit::workspace().join("schemas/recipe.schema.json"))
            .unwrap();
    let mut props = Vec::new();
    schema_properties(&serde_json::from_str(&text).unwrap(), &mut props);
    let doc: Value = serde_yaml_ng::from_str(FULL).unwrap();
    let mut used = Vec::new();
    keys(&doc, &mut used);
    let missing: Vec<&String> = props.iter().filter(|p| !used.contains(p)).collect();
    assert!(missing.is_empty(), "FULL lacks schema fields {missing:?}");
    let errs = errors(&schema(), &doc);
    assert!(errs.is_empty(), "{errs:?}");
    let d = full_dir();
    let path = d.path().join("recipe.yaml");
    std::fs::write(&path, FULL).unwrap();
    let r = Recipe::load(&path).unwrap();
    let addons = r.components[1].manifest_values.as_ref().unwrap();
    assert_eq!(addons.files, ["v/addons.yaml"]);
    assert!(addons.inline.is_some());
    assert_eq!(r.variant_names(), ["gpu"]);
    r.variant("gpu").unwrap();
}

/// The mappings of `doc` where any key is allowed (values, mirrors).
fn free_form(path: &[String]) -> bool {
    path.last()
        .is_some_and(|k| k == "values" || k == "chartMirrors")
}

/// Paths (as keys/indices) of every fixed-shape mapping of `doc`.
fn mappings(v: &Value, path: Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Mapping(m) if !free_form(&path) => {
            out.push(path.clone());
            for (k, x) in m {
                let mut p = path.clone();
                p.push(k.as_str().unwrap().to_string());
                mappings(x, p, out);
            }
        }
        Value::Sequence(s) => {
            for (i, x) in s.iter().enumerate() {
                let mut p = path.clone();
                p.push(i.to_string());
                mappings(x, p, out);
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Mapping {
    let mut cur = v;
    for k in path {
        cur = match cur {
            Value::Sequence(s) => &mut s[k.parse::<usize>().unwrap()],
            other => &mut other[k.as_str()],
        };
    }
    cur.as_mapping_mut().unwrap()
}

#[test]
fn an_unknown_field_anywhere_is_rejected_by_both() {
    let s = schema();
    let doc: Value = serde_yaml_ng::from_str(FULL).unwrap();
    let mut paths = Vec::new();
    mappings(&doc, Vec::new(), &mut paths);
    assert_eq!(paths.len(), 19, "{paths:?}");
    let d = full_dir();
    let file = d.path().join("recipe.yaml");
    for p in paths {
        let mut bad = doc.clone();
        at(&mut bad, &p).insert(Value::from("bogusField"), Value::from(1));
        assert!(
            !errors(&s, &bad).is_empty(),
            "schema accepts bogusField at {p:?}"
        );
        std::fs::write(&file, serde_yaml_ng::to_string(&bad).unwrap()).unwrap();
        let e = Recipe::load(&file).expect_err(&format!("loads with bogusField at {p:?}"));
        assert!(e.to_string().contains("bogusField"), "{p:?}: {e}");
    }
}

/// `valuesFiles` / `values` beside `helm` are refused by both, the reader naming the field.
#[test]
fn component_values_beside_a_chart_are_rejected_by_both() {
    let s = schema();
    let d = full_dir();
    let file = d.path().join("recipe.yaml");
    for (key, value) in [("values", "{ a: 1 }"), ("valuesFiles", "[v/web.yaml]")] {
        let text = FULL.replacen(
            "    manifests: [m/*.yaml]\n",
            &format!("    manifests: [m/*.yaml]\n    {key}: {value}\n"),
            1,
        );
        let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert!(
            !errors(&s, &doc).is_empty(),
            "schema accepts {key} beside helm"
        );
        std::fs::write(&file, &text).unwrap();
        let e = Recipe::load(&file).unwrap_err().to_string();
        assert!(
            e.contains(&format!("components[0].{key}"))
                && e.contains(&format!("takes its values in `helm.{key}`")),
            "{e}"
        );
    }
}
