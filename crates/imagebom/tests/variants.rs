//! `generate --variant`: one variant, each variant, and their union with per-variant evidence.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

mod common;
use common::{pod, setup};

fn generate(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("imagebom")
        .unwrap()
        .current_dir(dir)
        .args([
            "generate",
            "--recipe",
            "recipe.yaml",
            "--format",
            "cyclonedx",
        ])
        .args(args)
        .output()
        .unwrap()
}

fn images(bom: &Path) -> Vec<(String, Vec<String>)> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(bom).unwrap()).unwrap();
    v["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "container")
        .map(|c| {
            let vs = c["properties"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["name"] == "imagebom:variant")
                .map(|p| p["value"].as_str().unwrap().to_string())
                .collect();
            (c["name"].as_str().unwrap().to_string(), vs)
        })
        .collect()
}

#[test]
fn one_variant_each_variant_and_their_union() {
    let d = tempfile::tempdir().unwrap();
    setup(d.path());
    let o = generate(d.path(), &["--variant", "gpu", "--out", "one"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let one = images(&d.path().join("one/bom.cdx.json"));
    assert_eq!(one.len(), 2, "{one:?}");
    assert!(one.iter().all(|(_, v)| v == &["gpu"]), "{one:?}");

    let o = generate(d.path(), &["--all-variants", "--out", "each"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(images(&d.path().join("each/cpu/bom.cdx.json")).len(), 1);
    assert_eq!(images(&d.path().join("each/gpu/bom.cdx.json")).len(), 2);

    let o = generate(d.path(), &["--variant", "all", "--union", "--out", "union"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let union = images(&d.path().join("union/bom.cdx.json"));
    let nginx = union.iter().find(|(n, _)| n.contains("nginx")).unwrap();
    assert_eq!(nginx.1, ["cpu", "gpu"]);
    let cuda = union.iter().find(|(n, _)| n.contains("cuda")).unwrap();
    assert_eq!(cuda.1, ["gpu"]);

    // diff of two variants' BOMs through `imagebom diff`.
    let o = Command::cargo_bin("imagebom")
        .unwrap()
        .current_dir(d.path())
        .args(["diff", "each/cpu/bom.cdx.json", "each/gpu/bom.cdx.json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("cuda"), "{text}");

    let o = generate(d.path(), &["--variant", "arm"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("no variant \"arm\"") && e.contains("cpu, gpu"),
        "{e}"
    );
}

/// With `--keep-going` a variant that fails to render does not stop the others: every variant
/// gets its BOMs (the failing one of what did render), and the run still fails.
#[test]
fn keep_going_builds_every_variant() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("m")).unwrap();
    std::fs::write(d.path().join("m/web.yaml"), pod("nginx:1.27")).unwrap();
    std::fs::write(d.path().join("m/bad.yaml"), "kind: [unclosed\n").unwrap();
    std::fs::write(d.path().join("m/gpu.yaml"), pod("nvcr.io/nvidia/cuda:12.4")).unwrap();
    std::fs::write(
        d.path().join("recipe.yaml"),
        concat!(
            "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: { name: d, version: 1.0.0 }\n",
            "components:\n  - name: web\n    manifests: [m/web.yaml]\n",
            "variants:\n  - name: a-broken\n    components:\n      - name: web\n        manifests: [m/bad.yaml]\n",
            "  - name: b-gpu\n    components:\n      - name: web\n        manifests: [m/gpu.yaml]\n",
        ),
    )
    .unwrap();
    let o = generate(
        d.path(),
        &["--all-variants", "--keep-going", "--out", "each"],
    );
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("m/bad.yaml"), "{e}");
    assert_eq!(
        images(&d.path().join("each/a-broken/bom.cdx.json")).len(),
        1,
        "{e}"
    );
    assert_eq!(
        images(&d.path().join("each/b-gpu/bom.cdx.json")).len(),
        2,
        "{e}"
    );
}

/// AICR overlays merged as AICR's `pkg/recipe` does (expected sets checked by hand against
/// its `Merge`, `mergeComponentRef`, `FindMatchingOverlays` and `mergeMixins`).
#[test]
fn aicr_overlays_merge_as_aicr_does() {
    let Some(aicr) = imagebom_testkit::shared("aicr", "IMAGEBOM_AICR", "recipes") else {
        return;
    };
    let r = imagebom_recipe::Recipe::load(&aicr.join("recipes/registry.yaml")).unwrap();
    assert!(r.variant_names().len() > 90);
    // Deep chain (base → eks → eks-training → h100-eks-training → h100-eks-ubuntu-training →
    // leaf) with mixins (os-ubuntu, platform-kubeflow), plus monitoring-hpa and h100-any.
    let v = r.variant("h100-eks-ubuntu-training-kubeflow").unwrap();
    let mut names: Vec<&str> = v.components.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "aws-ebs-csi-driver",
            "aws-efa",
            "cert-manager",
            "gpu-operator",
            "k8s-ephemeral-storage-metrics",
            "kai-scheduler",
            "kube-prometheus-stack",
            "kubeflow-trainer",
            "nfd",
            "nodewright-customizations",
            "nodewright-operator",
            "nvidia-dra-driver-gpu",
            "nvsentinel",
            "prometheus-adapter",
            "prometheus-operator-crds",
        ]
    );
    let get = |n: &str| v.components.iter().find(|c| c.name == n).unwrap();
    let gpu = get("gpu-operator").helm.as_ref().unwrap();
    assert_eq!(
        gpu.values_files,
        [
            "components/gpu-operator/values.yaml",
            "components/gpu-operator/values-eks-training.yaml"
        ]
    );
    let o: serde_yaml_ng::Value =
        serde_yaml_ng::from_str("{ cdi: { enabled: true }, gdrcopy: { enabled: true } }").unwrap();
    assert_eq!(gpu.values.as_ref(), Some(&o));
    // Inline overrides keep their nulls (Helm then deletes the key).
    let dra = get("nvidia-dra-driver-gpu").helm.as_ref().unwrap();
    let o: serde_yaml_ng::Value =
        serde_yaml_ng::from_str("{ controller: { affinity: { nodeAffinity: null } } }").unwrap();
    assert_eq!(dra.values.as_ref(), Some(&o));
    // Extra manifestFiles, and a manifest-only component with its overrides as values.
    assert_eq!(
        get("kubeflow-trainer").manifests,
        ["components/kubeflow-trainer/manifests/torch-distributed-cluster-training-runtime.yaml"]
    );
    let nc = get("nodewright-customizations");
    assert!(nc.helm.is_none());
    assert_eq!(
        nc.manifests,
        ["components/nodewright-customizations/manifests/tuning.yaml"]
    );
    assert!(nc.manifest_values.as_ref().unwrap().inline.is_some());
    // preManifestFiles come before manifestFiles.
    let g = r.variant("gb200-eks-inference").unwrap();
    let gm = &g
        .components
        .iter()
        .find(|c| c.name == "gpu-operator")
        .unwrap()
        .manifests;
    assert_eq!(
        gm[0],
        "components/gpu-operator/manifests/kernel-module-params.yaml"
    );
    // base is base.yaml alone.
    assert_eq!(r.variant("base").unwrap().components.len(), 10);
}
