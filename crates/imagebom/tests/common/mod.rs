//! Helpers shared by the variant suites (`variants.rs`, `variant_outputs.rs`).

use std::path::Path;

/// A one-container Pod manifest running `image`.
pub fn pod(image: &str) -> String {
    format!("apiVersion: v1\nkind: Pod\nmetadata: {{ name: p }}\nspec:\n  containers:\n    - name: c\n      image: {image}\n")
}

/// A recipe in `dir`: `web` deploys nginx; variant `gpu` adds cuda, variant `cpu` nothing.
pub fn setup(dir: &Path) {
    std::fs::create_dir_all(dir.join("m")).unwrap();
    std::fs::write(dir.join("m/web.yaml"), pod("nginx:1.27")).unwrap();
    std::fs::write(dir.join("m/gpu.yaml"), pod("nvcr.io/nvidia/cuda:12.4")).unwrap();
    std::fs::write(
        dir.join("recipe.yaml"),
        concat!(
            "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: { name: d, version: 1.0.0 }\n",
            "components:\n  - name: web\n    manifests: [m/web.yaml]\n",
            "variants:\n  - name: cpu\n  - name: gpu\n    components:\n      - name: web\n        manifests: [m/gpu.yaml]\n",
        ),
    )
    .unwrap();
}
