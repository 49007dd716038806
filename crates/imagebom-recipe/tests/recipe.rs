//! Recipe loading: the bundled recipe, the JSON schema, and every kind of bad input.

use imagebom_recipe::{Recipe, RecipeError};
use std::path::Path;

fn load_str(dir: &Path, text: &str) -> Result<Recipe, RecipeError> {
    let p = dir.join("recipe.yaml");
    std::fs::write(&p, text).unwrap();
    Recipe::load(&p)
}

fn with_manifest() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("m")).unwrap();
    std::fs::write(d.path().join("m/a.yaml"), "kind: Pod\n").unwrap();
    d
}

const GOOD: &str = "apiVersion: imagebom.dev/v1alpha1
kind: Recipe
metadata:
  name: demo
  version: 1.0.0
components:
  - name: web
    manifests: [m/*.yaml]
    images:
      - ref: busybox:1.37
        reason: debug sidecar
";

#[test]
fn bundled_recipe_loads() {
    let r = Recipe::load(&imagebom_testkit::workspace().join("recipes/registry.yaml")).unwrap();
    assert_eq!(r.metadata.name, "registry");
    assert!(r.components.len() >= 4);
    // Every manifest component found its files; the chart component has none.
    for (c, files) in r.components.iter().zip(&r.manifest_files) {
        assert_eq!(c.manifests.is_empty(), files.is_empty(), "{}", c.name);
    }
    let chart = r
        .components
        .iter()
        .find(|c| c.helm.is_some())
        .expect("a chart component");
    assert_eq!(chart.helm.as_ref().unwrap().version, "1.0.0");
    assert_eq!(
        r.lock_path(),
        imagebom_testkit::workspace().join("recipes/imagebom.lock")
    );
}

fn schema() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(imagebom_testkit::workspace().join("schemas/recipe.schema.json"))
            .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn yaml_to_json(text: &str) -> serde_json::Value {
    serde_yaml_ng::from_str(text).unwrap()
}

#[test]
fn schema_accepts_bundled_and_rejects_unknown_fields() {
    let s = schema();
    let bundled =
        std::fs::read_to_string(imagebom_testkit::workspace().join("recipes/registry.yaml"))
            .unwrap();
    let v = yaml_to_json(&bundled);
    let errs: Vec<String> = s.iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(errs.is_empty(), "{errs:?}");
    assert!(s.is_valid(&yaml_to_json(GOOD)));
    let bad = GOOD.replace("    manifests:", "    manifestz: []\n    manifests:");
    assert!(!s.is_valid(&yaml_to_json(&bad)));
}

#[test]
fn good_recipe() {
    let d = with_manifest();
    let r = load_str(d.path(), GOOD).unwrap();
    assert_eq!(r.manifest_files[0], vec![d.path().join("m/a.yaml")]);
    let infos = r.component_infos();
    assert_eq!(infos[0].name, "web");
}

fn err(text: &str) -> String {
    let d = with_manifest();
    let e = load_str(d.path(), text).unwrap_err().to_string();
    e.replace(&d.path().display().to_string(), "DIR")
}

#[test]
fn unknown_field_names_line_and_field() {
    let e = err(&GOOD.replace("    manifests:", "    manifestz: []\n    manifests:"));
    assert!(e.starts_with("DIR/recipe.yaml:8:"), "{e}");
    assert!(e.contains("unknown field `manifestz`"), "{e}");
    assert!(e.contains("components[0]"), "{e}");
}

#[test]
fn wrong_type_names_line() {
    let e = err(&GOOD.replace("[m/*.yaml]", "42"));
    assert!(e.starts_with("DIR/recipe.yaml:8:"), "{e}");
    assert!(e.contains("components[0].manifests"), "{e}");
}

#[test]
fn malformed_yaml() {
    let e = err("apiVersion: imagebom.dev/v1alpha1\nkind: [Recipe\n");
    assert!(e.starts_with("DIR/recipe.yaml:"), "{e}");
}

#[test]
fn missing_manifest_file() {
    let e = err(&GOOD.replace("m/*.yaml", "m/nothing.yaml"));
    assert!(e.starts_with("DIR/recipe.yaml:8:"), "{e}");
    assert!(e.contains("components[0].manifests[0]"), "{e}");
    assert!(e.contains("matches no file"), "{e}");
}

#[test]
fn invalid_image_reference() {
    let e = err(&GOOD.replace("busybox:1.37", "BusyBox:1.37"));
    assert!(e.starts_with("DIR/recipe.yaml:10:"), "{e}");
    assert!(e.contains("components[0].images[0].ref"), "{e}");
}

#[test]
fn short_digest_is_rejected() {
    let d63 = "a".repeat(63);
    let e = err(&GOOD.replace("busybox:1.37", &format!("busybox@sha256:{d63}")));
    assert!(e.contains("components[0].images[0].ref"), "{e}");
    assert!(e.contains("digest"), "{e}");
}

#[test]
fn missing_reason_and_duplicates() {
    let e = err(&GOOD.replace("reason: debug sidecar", "reason: \"\""));
    assert!(e.contains("images[0].reason"), "{e}");
    let dup = format!("{GOOD}  - name: web\n    manifests: [m/a.yaml]\n");
    let e = err(&dup);
    assert!(e.contains("duplicate component name"), "{e}");
    assert!(e.starts_with("DIR/recipe.yaml:12:"), "{e}");
}

#[test]
fn wrong_api_version() {
    let e = err(&GOOD.replace("v1alpha1", "v9"));
    assert!(e.contains("apiVersion"), "{e}");
}

#[test]
fn alias_bomb_is_bounded() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    text.push_str(GOOD);
    let start = std::time::Instant::now();
    let e = err(&text);
    assert!(e.starts_with("DIR/recipe.yaml"), "{e}");
    // Generous bound: a naive expansion of 10^12 nodes would never finish.
    assert!(start.elapsed().as_secs() < 30);
}

#[test]
fn exemption_needs_tracking_link() {
    let e = err(&format!(
        "{GOOD}exemptions:\n  - ref: busybox:1.37\n    reason: legacy\n    tracking: soon\n"
    ));
    assert!(e.contains("exemptions[0].tracking"), "{e}");
}

#[test]
fn settings_and_release_settings_are_read_and_checked() {
    let d = with_manifest();
    let text = format!(
        "{GOOD}settings:\n  kubeVersion: v1.34.2\n  apiVersions: [monitoring.coreos.com/v1]\n"
    );
    let r = load_str(d.path(), &text).unwrap();
    assert_eq!(r.settings.kube_version.as_deref(), Some("v1.34.2"));
    assert_eq!(r.settings.api_versions, ["monitoring.coreos.com/v1"]);
    let v = yaml_to_json(&text);
    assert!(schema().is_valid(&v));

    let bad = format!("{GOOD}settings:\n  kubeVersion: latest\n");
    let e = load_str(d.path(), &bad).unwrap_err().to_string();
    assert!(
        e.contains(":13: settings.kubeVersion: invalid Kubernetes version \"latest\""),
        "{e}"
    );
    assert!(!schema().is_valid(&yaml_to_json(&bad)));

    let bad = format!("{GOOD}settings:\n  apiVersions: [\"a/b/c/d\"]\n");
    let e = load_str(d.path(), &bad).unwrap_err().to_string();
    assert!(e.contains("settings.apiVersions[0]"), "{e}");

    std::fs::create_dir_all(d.path().join("chart")).unwrap();
    let helm = |extra: &str| {
        format!(
            "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {{name: d, version: '1'}}\ncomponents:\n  - name: app\n    helm:\n      repository: ./chart\n      chart: app\n      version: 1.0.0\n{extra}"
        )
    };
    let r = load_str(
        d.path(),
        &helm("      releaseName: my-app\n      includeCrds: true\n"),
    )
    .unwrap();
    let h = r.components[0].helm.as_ref().unwrap();
    assert_eq!(h.release_name.as_deref(), Some("my-app"));
    assert!(h.include_crds);
    let e = load_str(d.path(), &helm("      releaseName: My_App\n"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(":10: components[0].helm.releaseName: invalid release name \"My_App\""),
        "{e}"
    );
}
