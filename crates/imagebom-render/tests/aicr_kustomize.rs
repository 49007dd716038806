//! AICR's `kustomize` component kind (`defaultSource`, `defaultPath`, `defaultTag`): a git
//! source resolves only through a mirror mapping its URL to a local directory (the chart
//! mirrors: `--chart-mirror URL=DIR` / `settings.chartMirrors`), and the kustomization there is
//! built natively to the objects `kubectl kustomize` gave for it (the shared case
//! `kustomize-example-multibases`, Kustomize's own `examples/multibases`). Without a mirror,
//! the render fails naming the URL.

use imagebom_recipe::Recipe;
use imagebom_render::{render_with, Options};
use serde_yaml_ng::Value;

const REGISTRY: &str = r"apiVersion: aicr.run/v1alpha2
kind: ComponentRegistry
components:
  - name: multibases
    kustomize:
      defaultSource: https://github.com/kubernetes-sigs/kustomize.git
      defaultPath: examples/multibases
      defaultTag: kustomize/v5.5.0
";

fn docs(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &Value| !v.is_null())
        .collect()
}

#[test]
fn aicr_kustomize_component_builds_from_a_source_mirror() {
    let Some(corpus) = imagebom_testkit::shared("kustomize", "IMAGEBOM_KUSTOMIZE", "cases.json")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let recipes = tmp.path().join("recipes");
    std::fs::create_dir_all(&recipes).unwrap();
    let registry = recipes.join("registry.yaml");
    std::fs::write(&registry, REGISTRY).unwrap();
    let recipe = Recipe::load(&registry).unwrap();
    let k = recipe.components[0]
        .kustomize
        .as_ref()
        .expect("a kustomize component");
    assert!(
        k.path.contains("github.com/kubernetes-sigs/kustomize"),
        "{}",
        k.path
    );

    // No mirror: an error naming the URL and how to provide it.
    let offline = Options {
        cache_dir: tmp.path().join("cache"),
        offline: true,
        ..Options::default()
    };
    let e = render_with(&recipe, &offline).unwrap_err().to_string();
    assert!(
        e.contains("https://github.com/kubernetes-sigs/kustomize.git")
            && e.contains("--chart-mirror"),
        "{e}"
    );

    // The case directory holds the repository's layout from `examples/multibases` down.
    let case = corpus.join("cases/kustomize-example-multibases");
    let mirror = tmp.path().join("mirror");
    std::fs::create_dir_all(mirror.join("examples")).unwrap();
    std::os::unix::fs::symlink(&case, mirror.join("examples/multibases")).unwrap();
    let opts = Options {
        chart_mirrors: vec![(
            "https://github.com/kubernetes-sigs/kustomize".into(),
            mirror.display().to_string(),
        )],
        ..offline
    };
    let out = render_with(&recipe, &opts).unwrap();
    let ours: Vec<Value> = out.streams.iter().flat_map(|s| docs(&s.text)).collect();
    let want = docs(
        &std::fs::read_to_string(corpus.join("expected/kustomize-example-multibases.yaml"))
            .unwrap(),
    );
    assert_eq!(ours, want);
    assert!(
        out.streams[0].file.contains("kustomization.yaml"),
        "{}",
        out.streams[0].file
    );
}
