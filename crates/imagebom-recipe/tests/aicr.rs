//! AICR's `kind: ComponentRegistry` read as a recipe.

use imagebom_recipe::{Format, ManifestsAre, Recipe};

fn write(dir: &std::path::Path, registry: &str) -> std::path::PathBuf {
    let recipes = dir.join("proj/recipes");
    std::fs::create_dir_all(recipes.join("components/web/manifests")).unwrap();
    std::fs::write(recipes.join("components/web/values.yaml"), "replicas: 2\n").unwrap();
    std::fs::write(recipes.join("components/web/manifests/a.yaml"), "kind: A\n").unwrap();
    let p = recipes.join("registry.yaml");
    std::fs::write(&p, registry).unwrap();
    p
}

const HEAD: &str = "apiVersion: aicr.run/v1alpha2\nkind: ComponentRegistry\ncomponents:\n";

#[test]
fn a_registry_is_a_recipe() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        &format!("{HEAD}  - name: web\n    displayName: Web\n    valueOverrideKeys: [w]\n    healthCheck: {{assertFile: x}}\n    nodeScheduling: {{system: {{nodeSelectorPaths: [a]}}}}\n    hasSelfRefCRDs: true\n    helm:\n      defaultRepository: https://charts.example/stable\n      defaultChart: example/web\n      defaultVersion: v1.2.3\n      defaultNamespace: web\n  - name: empty\n    helm:\n      defaultRepository: \"\"\n"),
    );
    let r = Recipe::load(&p).unwrap();
    assert_eq!(r.format, Format::AicrRegistry);
    assert_eq!(r.metadata.name, "proj");
    assert!(
        r.metadata.version.starts_with("0.0.0+registry."),
        "{}",
        r.metadata.version
    );
    let web = &r.components[0];
    let h = web.helm.as_ref().unwrap();
    assert_eq!(
        (h.repository.as_str(), h.chart.as_str(), h.version.as_str()),
        ("https://charts.example/stable", "web", "v1.2.3")
    );
    assert_eq!(h.release_name.as_deref(), Some("release-web"));
    assert_eq!(h.values_files, ["components/web/values.yaml"]);
    assert_eq!(web.namespace.as_deref(), Some("web"));
    assert_eq!(web.display_name.as_deref(), Some("Web"));
    assert_eq!(r.manifests_are(0), ManifestsAre::Templates);
    assert_eq!(r.manifest_files[0].len(), 1);
    // A component with neither chart nor manifests deploys nothing (not an error).
    assert!(r.components[1].helm.is_none() && r.manifest_files[1].is_empty());
}

#[test]
fn unknown_fields_are_errors_with_their_line_and_kustomize_is_read() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        &format!("{HEAD}  - name: web\n    helm:\n      defaultRepository: https://x\n      defaultChrt: web\n"),
    );
    let e = Recipe::load(&p).unwrap_err().to_string();
    assert!(e.contains("registry.yaml:7:"), "{e}");
    assert!(e.contains("defaultChrt"), "{e}");
    // The `kustomize` kind: source, path and tag as Kustomize's remote location.
    let p = write(
        d.path(),
        &format!(
            "{HEAD}  - name: web\n    kustomize:\n      defaultSource: https://github.com/x/y\n      defaultPath: config/default\n      defaultTag: v1\n"
        ),
    );
    let r = Recipe::load(&p).unwrap();
    assert_eq!(
        r.components[0].kustomize.as_ref().map(|k| k.path.as_str()),
        Some("https://github.com/x/y//config/default?ref=v1")
    );
    let p = write(
        d.path(),
        &format!("{HEAD}  - name: web\n    kustomize:\n      defaultPath: config/default\n"),
    );
    let e = Recipe::load(&p).unwrap_err().to_string();
    assert!(
        e.contains("registry.yaml:6:") && e.contains("defaultSource"),
        "{e}"
    );
    let p = write(
        d.path(),
        "apiVersion: aicr.run/v9\nkind: ComponentRegistry\ncomponents: []\n",
    );
    let e = Recipe::load(&p).unwrap_err().to_string();
    assert!(e.contains("registry.yaml:1: apiVersion"), "{e}");
}

#[test]
fn our_format_chooses_plain_or_templated_manifests() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("m.yaml"), "kind: A\n").unwrap();
    let p = d.path().join("r.yaml");
    let body =
        "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: r, version: '1'}\n";
    std::fs::write(
        &p,
        format!("{body}settings: {{manifestsAre: templates}}\ncomponents:\n  - {{name: a, manifests: [m.yaml]}}\n  - {{name: b, manifests: [m.yaml], manifestsAre: plain}}\n"),
    )
    .unwrap();
    let r = Recipe::load(&p).unwrap();
    assert_eq!(r.format, Format::Imagebom);
    assert_eq!(r.manifests_are(0), ManifestsAre::Templates);
    assert_eq!(r.manifests_are(1), ManifestsAre::Plain);
    std::fs::write(
        &p,
        format!("{body}components:\n  - {{name: a, manifests: [m.yaml], manifestsAre: jinja}}\n"),
    )
    .unwrap();
    let e = Recipe::load(&p).unwrap_err().to_string();
    assert!(e.contains("r.yaml:5:") && e.contains("jinja"), "{e}");
}
