//! Variants of our format: values files, inline values and manifests added per component.

use imagebom_recipe::Recipe;
use std::path::{Path, PathBuf};

fn setup(dir: &Path, variants: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("m")).unwrap();
    std::fs::write(dir.join("base.yaml"), "a: 1\n").unwrap();
    std::fs::write(dir.join("gpu.yaml"), "a: 2\n").unwrap();
    std::fs::write(dir.join("m/web.yaml"), "kind: Pod\n").unwrap();
    std::fs::write(dir.join("m/gpu.yaml"), "kind: Pod\n").unwrap();
    let text = format!(
        "{}{variants}",
        concat!(
            "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: { name: d, version: 1.0.0 }\n",
            "components:\n",
            "  - name: web\n",
            "    helm:\n",
            "      repository: ./chart\n",
            "      chart: web\n",
            "      valuesFiles: [base.yaml]\n",
            "      values: { x: { keep: 1, over: 1 } }\n",
            "    manifests: [m/web.yaml]\n",
            "  - name: extra\n",
            "    manifests: [m/web.yaml]\n",
        )
    );
    let p = dir.join("recipe.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

const VARIANTS: &str = "variants:\n  - name: cpu\n  - name: gpu\n    description: with GPUs\n    components:\n      - name: web\n        valuesFiles: [gpu.yaml]\n        values: { x: { over: 2 } }\n        manifests: [m/gpu.yaml]\n      - name: extra\n        values: { y: 1 }\n";

#[test]
fn a_variant_adds_values_files_inline_values_and_manifests() {
    let d = tempfile::tempdir().unwrap();
    let r = Recipe::load(&setup(d.path(), VARIANTS)).unwrap();
    assert_eq!(r.variant_names(), ["cpu", "gpu"]);
    let cpu = r.variant("cpu").unwrap();
    assert_eq!(cpu.components, r.components);
    assert_eq!(cpu.variant.as_deref(), Some("cpu"));
    let gpu = r.variant("gpu").unwrap();
    let h = gpu.components[0].helm.as_ref().unwrap();
    assert_eq!(h.values_files, ["base.yaml", "gpu.yaml"]);
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str("{ x: { keep: 1, over: 2 } }").unwrap();
    assert_eq!(h.values.as_ref(), Some(&v));
    assert_eq!(gpu.components[0].manifests, ["m/web.yaml", "m/gpu.yaml"]);
    assert_eq!(gpu.manifest_files[0].len(), 2);
    let extra = gpu.components[1].manifest_values.as_ref().unwrap();
    let y: serde_yaml_ng::Value = serde_yaml_ng::from_str("{ y: 1 }").unwrap();
    assert_eq!(extra.inline.as_ref(), Some(&y));
    // The recipe as written is unchanged.
    assert_eq!(r.components[0].manifests, ["m/web.yaml"]);
}

#[test]
fn bad_variants_are_errors_naming_file_line_and_field() {
    let d = tempfile::tempdir().unwrap();
    let cases = [
        ("variants:\n  - name: x\n    components:\n      - name: nope\n", "variants[0].components[0].name", 17),
        ("variants:\n  - name: all\n", "variants[0].name", 15),
        ("variants:\n  - name: a\n  - name: a\n", "variants[1].name", 16),
        ("variants:\n  - name: x\n    components:\n      - name: web\n        manifests: [m/none.yaml]\n", "variant \"x\"", 18),
        ("variants:\n  - name: x\n    components:\n      - name: web\n        valuesFiles: [none.yaml]\n", "valuesFiles[1]", 18),
    ];
    for (text, field, line) in cases {
        let e = Recipe::load(&setup(d.path(), text))
            .unwrap_err()
            .to_string();
        assert!(e.contains("recipe.yaml:"), "{e}");
        assert!(e.contains(field), "{field}: {e}");
        assert!(e.contains(&format!(":{line}:")), "line {line}: {e}");
    }
    let r = Recipe::load(&setup(d.path(), VARIANTS)).unwrap();
    let e = r.variant("arm").unwrap_err().to_string();
    assert!(
        e.contains("no variant \"arm\"") && e.contains("cpu, gpu"),
        "{e}"
    );
}
