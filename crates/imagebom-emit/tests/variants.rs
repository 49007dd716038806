//! Variants in every output: the inventory page's variant column, SPDX's per-variant
//! annotations, and the diff of an inventory (or of one variant of a union BOM).

use imagebom_emit::diff::{summarize, summarize_variant, summary_of};
use imagebom_emit::markdown::markdown_body;
use imagebom_emit::validate::{Schema, Validator};
use imagebom_emit::{cyclonedx_json, spdx_json, EmitContext};
use imagebom_model::{
    Category, ChartInfo, ComponentInfo, Digest, ImageRef, Inventory, Occurrence, Platform,
    RecipeInfo, Resolution, ResolutionSource,
};
use serde_json::Value;
use std::path::Path;

fn cx() -> EmitContext {
    EmitContext {
        timestamp: "2026-11-24T00:00:00Z".into(),
        tool_name: "imagebom".into(),
        tool_version: "0.1.0".into(),
    }
}

fn occ(component: &str, path: &str) -> Occurrence {
    Occurrence {
        component: component.into(),
        source: "chart/templates/x.yaml".into(),
        kind: "Deployment".into(),
        name: "x".into(),
        path: path.into(),
        line: None,
        category: Category::Pod,
        original: String::new(),
        reason: None,
    }
}

/// The inventory of one variant: `web` (a chart) deploys `refs`.
fn variant(name: &str, refs: &[&str]) -> Inventory {
    let mut inv = Inventory {
        recipe: RecipeInfo {
            name: "demo".into(),
            version: "1.0.0".into(),
            description: None,
            supplier: None,
        },
        components: vec![ComponentInfo {
            name: "web".into(),
            display_name: None,
            namespace: None,
            chart: Some(ChartInfo {
                repository: "oci://ghcr.io/example/charts".into(),
                chart: "web".into(),
                version: "1.2.3".into(),
                pinned: true,
                rendered: None,
            }),
            manifests: vec![],
            trust: None,
        }],
        ..Inventory::default()
    };
    for (i, r) in refs.iter().enumerate() {
        let mut o = occ("web", &format!("spec/containers/{i}/image"));
        o.original = r.to_string();
        inv.add(ImageRef::parse(r).unwrap(), o);
    }
    inv.canonicalize();
    inv.tag_variant(name);
    inv
}

/// `cpu` and `gpu` together; cuda (gpu only) is resolved with a platform.
fn union() -> Inventory {
    let mut inv = variant("cpu", &["nginx:1.27", "busybox"]);
    inv.absorb(variant(
        "gpu",
        &[
            "nginx:1.27",
            "nvcr.io/nvidia/cuda:12.4",
            "quay.io/a/b@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ],
    ));
    inv.canonicalize();
    let cuda = inv.images.get_mut("nvcr.io/nvidia/cuda:12.4").unwrap();
    cuda.resolution = Some(Resolution {
        digest: Digest::sha256_of(b"index"),
        source: ResolutionSource::Registry,
        media_type: None,
        size: None,
        platforms: vec![Platform {
            os: "linux".into(),
            architecture: "arm64".into(),
            variant: Some("v8".into()),
            os_version: None,
            digest: Digest::sha256_of(b"arm"),
            provenance: None,
        }],
        artifact_type: None,
        provenance: None,
        sboms: Vec::new(),
    });
    inv
}

fn ids(s: &imagebom_emit::diff::BomSummary) -> Vec<&str> {
    s.images.keys().map(String::as_str).collect()
}

#[test]
fn an_inventory_summarises_as_its_cyclonedx_bom_reads() {
    for inv in [
        union(),
        variant("cpu", &["nginx:1.27"]),
        Inventory::default(),
    ] {
        let bom = cyclonedx_json(&inv, &cx()).unwrap();
        assert_eq!(summary_of(&inv, None), summarize("bom", &bom).unwrap());
    }
}

#[test]
fn one_variant_of_a_union_bom_in_both_formats() {
    let inv = union();
    let cdx = cyclonedx_json(&inv, &cx()).unwrap();
    let spdx = spdx_json(&inv, &cx()).unwrap();
    let gpu = summary_of(&inv, Some("gpu"));
    assert_eq!(
        ids(&gpu),
        [
            "docker.io/library/nginx:1.27",
            "nvcr.io/nvidia/cuda:12.4",
            "quay.io/a/b@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        ]
    );
    assert_eq!(gpu, summarize_variant("bom", &cdx, "gpu").unwrap());
    let from_spdx = summarize_variant("bom", &spdx, "gpu").unwrap();
    assert_eq!(ids(&from_spdx), ids(&gpu));
    let cpu = summarize_variant("bom", &spdx, "cpu").unwrap();
    assert_eq!(
        ids(&cpu),
        ["docker.io/library/busybox", "docker.io/library/nginx:1.27"]
    );
    let e = summarize_variant("bom.spdx.json", &spdx, "arm").unwrap_err();
    assert!(
        e.to_string().contains("no variant \"arm\"") && e.to_string().contains("cpu, gpu"),
        "{e}"
    );
}

#[test]
fn spdx_carries_each_variant_and_validates() {
    let inv = union();
    let text = spdx_json(&inv, &cx()).unwrap();
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let v = Validator::new(&schemas, Schema::Spdx23).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let errors = v.errors(&doc);
    assert!(errors.is_empty(), "{errors:?}");
    let notes = |name: &str| -> Vec<String> {
        let p = doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name}"));
        p["annotations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a["comment"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        notes("docker.io/library/nginx"),
        [
            "imagebom:variant=cpu",
            "imagebom:variant=gpu",
            "imagebom:occurrence-variants=cpu,gpu|web|chart/templates/x.yaml|Deployment/x|spec/containers/0/image|pod",
        ]
    );
    let cuda = notes("nvcr.io/nvidia/cuda");
    assert_eq!(cuda[0], "imagebom:variant=gpu");
    // Without variants there is nothing new.
    let plain = spdx_json(&variant_free(), &cx()).unwrap();
    assert!(!plain.contains("imagebom:variant"), "{plain}");
}

fn variant_free() -> Inventory {
    let mut inv = variant("x", &["nginx:1.27"]);
    inv.variants.clear();
    inv.occurrence_variants.clear();
    inv
}

#[test]
fn the_page_marks_which_variant_deploys_which_image() {
    let page = markdown_body(&union());
    assert!(page.contains("| variants | `cpu`, `gpu` |"), "{page}");
    assert!(
        page.contains("## Variants\n\n| variant | images | only in this variant |\n|---|---|---|\n| `cpu` | 2 | 1 |\n| `gpu` | 3 | 2 |\n"),
        "{page}"
    );
    assert!(
        page.contains("| image | tag | digest | resolution | platforms | found as | variants |\n|---|---|---|---|---|---|---|\n"),
        "{page}"
    );
    let row = |name: &str| {
        page.lines()
            .find(|l| l.starts_with(&format!("| `{name}")))
            .unwrap_or_else(|| panic!("{name}: {page}"))
            .to_string()
    };
    assert!(row("docker.io/library/nginx:1.27").ends_with("| every variant |"));
    assert!(row("docker.io/library/busybox").ends_with("| `cpu` |"));
    assert!(row("nvcr.io/nvidia/cuda:12.4").ends_with("| `gpu` |"));
    // One variant: a summary row, no column; no variants: neither.
    let one = markdown_body(&variant("gpu", &["nginx:1.27"]));
    assert!(one.contains("| variants | `gpu` |") && !one.contains("## Variants"));
    assert!(
        one.contains("| found as |\n|---|---|---|---|---|---|\n"),
        "{one}"
    );
    let none = markdown_body(&variant_free());
    assert!(!none.contains("variant"), "{none}");
}
