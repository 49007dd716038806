//! Every emitted document validates against the official schemas (offline).

use imagebom_emit::validate::{Schema, Validator};
use imagebom_emit::{cyclonedx_json, markdown, spdx_json, EmitContext};
use imagebom_model::lock::{SbomFormat, SbomRecord, SbomSource, SbomTool};
use imagebom_model::{
    Category, ChartInfo, ComponentInfo, Digest, ImageRef, Inventory, Occurrence, Platform,
    Provenance, RecipeInfo, Resolution, ResolutionSource, Warning,
};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn cdx_validator() -> Validator {
    Validator::new(&schemas(), Schema::CycloneDx16).expect("CycloneDX schema compiles")
}

fn spdx_validator() -> Validator {
    Validator::new(&schemas(), Schema::Spdx23).expect("SPDX schema compiles")
}

fn assert_valid(v: &Validator, doc: &str, what: &str) {
    let json: Value = serde_json::from_str(doc).unwrap();
    let errors = v.errors(&json);
    assert!(
        errors.is_empty(),
        "{what} is invalid:\n{}",
        errors.join("\n")
    );
}

fn cx() -> EmitContext {
    EmitContext {
        timestamp: "2026-11-24T00:00:00Z".into(),
        tool_name: "imagebom".into(),
        tool_version: "0.1.0".into(),
    }
}

fn occ(component: &str, category: Category, original: &str) -> Occurrence {
    Occurrence {
        component: component.into(),
        source: "chart/templates/x.yaml".into(),
        kind: "Deployment".into(),
        name: "x".into(),
        path: "spec/template/spec/containers/0/image".into(),
        line: None,
        category,
        original: original.into(),
        reason: (category == Category::Recipe).then(|| "pulled at runtime | by the kubelet".into()),
    }
}

/// A generated SBOM record of `subject`.
fn sbom(subject: Digest, format: SbomFormat, ns: Option<&str>) -> SbomRecord {
    let hex = subject.encoded().to_string();
    SbomRecord {
        path: format!(
            "sboms/registry.k8s.io/pause@sha256-{hex}.{}.json",
            format.infix()
        ),
        digest: Digest::sha256_of(format!("{hex}{format:?}").as_bytes()),
        subject,
        format,
        source: SbomSource::Generated,
        size: 10,
        tool: Some(SbomTool {
            name: "syft".into(),
            version: "1.18.1".into(),
        }),
        document_namespace: ns.map(str::to_string),
    }
}

fn rich() -> Inventory {
    let mut inv = Inventory {
        recipe: RecipeInfo {
            name: "demo".into(),
            version: "1.0.0".into(),
            description: Some("a demo".into()),
            supplier: Some("Example Corp".into()),
        },
        components: vec![
            ComponentInfo {
                name: "web".into(),
                display_name: Some("Web tier".into()),
                namespace: Some("web".into()),
                chart: Some(ChartInfo {
                    repository: "oci://ghcr.io/example/charts".into(),
                    chart: "web".into(),
                    version: "1.2.3".into(),
                    pinned: true,
                    rendered: None,
                }),
                manifests: vec![],
                trust: None,
            },
            ComponentInfo {
                name: "ops".into(),
                display_name: None,
                namespace: None,
                chart: None,
                manifests: vec!["manifests/*.yaml".into()],
                trust: None,
            },
        ],
        ..Inventory::default()
    };
    let d = Digest::sha256_of(b"x");
    let refs = [
        ("web", Category::Pod, format!("nginx:1.27@{d}")),
        ("web", Category::Pod, "busybox".to_string()),
        (
            "web",
            Category::CrTriplet,
            "localhost:5000/team/app:v1".to_string(),
        ),
        ("ops", Category::Env, "[::1]:5000/tool:2".to_string()),
        (
            "ops",
            Category::Recipe,
            "registry.k8s.io/pause:3.10".to_string(),
        ),
        ("", Category::Embedded, "quay.io/a/b:c".to_string()),
    ];
    for (c, cat, r) in refs {
        let mut o = occ(c, cat, &r);
        if cat == Category::Pod {
            o.line = Some(12);
        }
        inv.add(ImageRef::parse(&r).unwrap(), o);
    }
    let key = "registry.k8s.io/pause:3.10";
    inv.images.get_mut(key).unwrap().resolution = Some(Resolution {
        digest: Digest::sha256_of(b"index"),
        source: ResolutionSource::Registry,
        media_type: Some("application/vnd.oci.image.index.v1+json".into()),
        size: Some(512),
        platforms: vec![Platform {
            os: "linux".into(),
            architecture: "arm64".into(),
            variant: Some("v8".into()),
            os_version: None,
            digest: Digest::sha256_of(b"arm"),
            provenance: None,
        }],
        artifact_type: None,
        provenance: Some(Provenance {
            signature: Some(true),
            attestation: Some(false),
            sbom: None,
            referrers: Some(vec![
                "application/vnd.dev.sigstore.bundle.v0.3+json".into(),
                "application/vnd.example|sbom".into(),
            ]),
            verification: None,
        }),
        sboms: vec![
            sbom(Digest::sha256_of(b"index"), SbomFormat::Cyclonedx, None),
            sbom(
                Digest::sha256_of(b"index"),
                SbomFormat::Spdx,
                Some("https://example.test/spdx/pause-1"),
            ),
            sbom(Digest::sha256_of(b"arm"), SbomFormat::Cyclonedx, None),
        ],
    });
    inv.warnings.push(Warning {
        component: "web".into(),
        source: "chart/templates/cr.yaml".into(),
        kind: "ClusterPolicy".into(),
        name: "p".into(),
        path: "spec/vgpu/image".into(),
        value: "vgpu-manager".into(),
        message: "bare word, not an image reference".into(),
    });
    inv.canonicalize();
    inv
}

#[test]
fn cyclonedx_validates() {
    let v = cdx_validator();
    for inv in [rich(), Inventory::default()] {
        assert_valid(&v, &cyclonedx_json(&inv, &cx()).unwrap(), "CycloneDX");
    }
}

#[test]
fn spdx_validates() {
    let v = spdx_validator();
    for inv in [rich(), Inventory::default()] {
        assert_valid(&v, &spdx_json(&inv, &cx()).unwrap(), "SPDX");
    }
}

#[test]
fn validators_reject_broken_documents() {
    let mut doc: Value = serde_json::from_str(&cyclonedx_json(&rich(), &cx()).unwrap()).unwrap();
    doc["components"][2]["type"] = "box".into();
    assert!(!cdx_validator().errors(&doc).is_empty());
    let mut doc: Value = serde_json::from_str(&spdx_json(&rich(), &cx()).unwrap()).unwrap();
    doc["packages"][0]["primaryPackagePurpose"] = "BOX".into();
    assert!(!spdx_validator().errors(&doc).is_empty());
}

#[test]
fn deterministic_and_content_addressed() {
    let a = cyclonedx_json(&rich(), &cx()).unwrap();
    assert_eq!(a, cyclonedx_json(&rich(), &cx()).unwrap());
    let mut other = rich();
    other.recipe.version = "1.0.1".into();
    let b = cyclonedx_json(&other, &cx()).unwrap();
    let serial = |s: &str| serde_json::from_str::<Value>(s).unwrap()["serialNumber"].clone();
    assert_ne!(serial(&a), serial(&b));
    assert!(serial(&a).as_str().unwrap().starts_with("urn:uuid:"));

    let s1 = spdx_json(&rich(), &cx()).unwrap();
    assert_eq!(s1, spdx_json(&rich(), &cx()).unwrap());
    let ns = |s: &str| serde_json::from_str::<Value>(s).unwrap()["documentNamespace"].clone();
    assert_ne!(ns(&s1), ns(&spdx_json(&other, &cx()).unwrap()));
    assert_eq!(markdown(&rich(), &cx()), markdown(&rich(), &cx()));
}

#[test]
fn cyclonedx_content() {
    let doc: Value = serde_json::from_str(&cyclonedx_json(&rich(), &cx()).unwrap()).unwrap();
    let comps = doc["components"].as_array().unwrap();
    let containers: Vec<&Value> = comps.iter().filter(|c| c["type"] == "container").collect();
    assert_eq!(containers.len(), 6);
    let pause = containers
        .iter()
        .find(|c| c["name"] == "registry.k8s.io/pause")
        .unwrap();
    let idx = Digest::sha256_of(b"index");
    assert_eq!(pause["hashes"][0]["content"], idx.encoded());
    assert_eq!(
        pause["purl"],
        format!("pkg:oci/pause@{idx}?repository_url=registry.k8s.io%2Fpause&tag=3.10")
    );
    let busybox = containers
        .iter()
        .find(|c| c["name"] == "docker.io/library/busybox")
        .unwrap();
    assert!(busybox.get("hashes").is_none());
    assert_eq!(
        busybox["purl"],
        "pkg:oci/busybox?repository_url=docker.io%2Flibrary%2Fbusybox"
    );
    // Every purl parses; every dependency ref exists.
    let refs: Vec<&str> = comps
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    for c in &containers {
        assert!(imagebom_model::purl::parse(c["purl"].as_str().unwrap()).is_some());
    }
    for d in doc["dependencies"].as_array().unwrap() {
        let r = d["ref"].as_str().unwrap();
        assert!(r == "recipe:demo" || refs.contains(&r), "{r}");
        for x in d["dependsOn"].as_array().unwrap() {
            assert!(refs.contains(&x.as_str().unwrap()), "{x}");
        }
    }
    let recipe_dep = &doc["dependencies"][0];
    assert_eq!(recipe_dep["ref"], "recipe:demo");
    // The embedded image outside any component hangs off the recipe.
    assert!(recipe_dep["dependsOn"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x == "image:quay.io/a/b:c"));
}

#[test]
fn spdx_ids_unique_and_valid() {
    let doc: Value = serde_json::from_str(&spdx_json(&rich(), &cx()).unwrap()).unwrap();
    let ids: Vec<&str> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["SPDXID"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len());
    for id in ids {
        let rest = id.strip_prefix("SPDXRef-").unwrap();
        assert!(
            rest.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "{id}"
        );
    }
    for p in doc["packages"].as_array().unwrap() {
        assert!(
            p["supplier"]
                .as_str()
                .unwrap()
                .starts_with("Organization: "),
            "{p}"
        );
        assert!(p["versionInfo"].is_string());
    }
}

#[test]
fn markdown_escapes_cells() {
    let md = markdown(&rich(), &cx());
    assert!(md.contains("# Image inventory: demo 1.0.0"));
    assert!(md.contains("| warnings | 1 |"));
    assert!(md.contains("`docker.io/library/busybox:latest`"));
    assert!(!md.contains("runtime | by"));
}

#[test]
fn provenance_in_every_format() {
    let inv = rich();
    let doc: Value = serde_json::from_str(&cyclonedx_json(&inv, &cx()).unwrap()).unwrap();
    let pause = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "registry.k8s.io/pause")
        .unwrap();
    let props: Vec<(String, String)> = pause["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["value"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(n, _)| {
            ["signature", "attestation", "sbom", "referrer"]
                .iter()
                .any(|k| n.starts_with(&format!("imagebom:{k}")))
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("imagebom:signature", "true"),
        // No `.att` tag, but an unverified bundle referrer may be an attestation.
        ("imagebom:attestation", "unknown"),
        ("imagebom:sbom", "unknown"),
        ("imagebom:referrers", "2"),
        (
            "imagebom:referrer-artifact-type",
            "application/vnd.dev.sigstore.bundle.v0.3+json",
        ),
        (
            "imagebom:referrer-artifact-type",
            "application/vnd.example|sbom",
        ),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(props, want);
    // Images never checked carry no provenance properties.
    let busybox = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "docker.io/library/busybox")
        .unwrap();
    assert!(!busybox.to_string().contains("imagebom:signature"));

    let doc: Value = serde_json::from_str(&spdx_json(&inv, &cx()).unwrap()).unwrap();
    let pkg = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "registry.k8s.io/pause")
        .unwrap();
    let notes: Vec<&str> = pkg["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["annotationType"], "OTHER");
            assert_eq!(a["annotator"], "Tool: imagebom-0.1.0");
            assert_eq!(a["annotationDate"], "2026-11-24T00:00:00Z");
            a["comment"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        &notes[..4],
        [
            "imagebom:signature=true",
            "imagebom:attestation=unknown",
            "imagebom:sbom=unknown",
            "imagebom:referrers=2"
        ]
    );

    let md = markdown(&inv, &cx());
    assert!(md.contains("| signature | attestation | SBOM | referrers |"));
    for line in [
        "| provenance checked | 1 |",
        "| with a cosign signature | 1 |",
        "| with attestations | 0 |",
        "| with an attached SBOM | 0 |",
        "| with OCI referrers | 1 |",
        "| provenance not fully checked | 1 |",
    ] {
        assert!(md.contains(line), "{line}");
    }
    let row = md
        .lines()
        .find(|l| l.starts_with("| `registry.k8s.io/pause:3.10`"))
        .unwrap();
    assert!(
        row.ends_with(
            "| Y | – | ? | `application/vnd.dev.sigstore.bundle.v0.3+json`, `application/vnd.example\\|sbom` |"
        ),
        "{row}"
    );
    let unchecked = md
        .lines()
        .find(|l| l.starts_with("| `docker.io/library/busybox:latest`"))
        .unwrap();
    assert!(unchecked.ends_with("| ? | ? | ? | ? |"), "{unchecked}");
    // Without any provenance recorded the page keeps its columns (and bytes).
    let mut plain = rich();
    for e in plain.images.values_mut() {
        if let Some(r) = e.resolution.as_mut() {
            r.provenance = None;
        }
    }
    let md = markdown(&plain, &cx());
    assert!(!md.contains("signature") && !md.contains("Provenance"));
}

#[test]
fn merge_keeps_provenance_in_emitter_order() {
    use imagebom_emit::merge::{merge, MergeInput};
    // Two halves of one inventory merge into the whole, provenance included.
    let whole = rich();
    let (mut a, mut b) = (rich(), rich());
    let keys: Vec<String> = whole.images.keys().cloned().collect();
    for (i, k) in keys.iter().enumerate() {
        if i % 2 == 0 {
            a.images.remove(k);
        } else {
            b.images.remove(k);
        }
    }
    for (emit, what) in [
        (
            cyclonedx_json as fn(&Inventory, &EmitContext) -> _,
            "CycloneDX",
        ),
        (spdx_json, "SPDX"),
    ] {
        let inputs = [
            MergeInput {
                name: "a".into(),
                text: emit(&a, &cx()).unwrap(),
            },
            MergeInput {
                name: "b".into(),
                text: emit(&b, &cx()).unwrap(),
            },
        ];
        let (_, merged) = merge(&inputs).unwrap();
        // The image with provenance comes out as the emitter writes it (properties in the
        // emitter's order; SPDX annotations kept).
        let pick = |doc: &str| -> Value {
            let v: Value = serde_json::from_str(doc).unwrap();
            let list = v
                .get("components")
                .or_else(|| v.get("packages"))
                .unwrap()
                .as_array()
                .unwrap()
                .clone();
            list.into_iter()
                .find(|c| c["name"] == "registry.k8s.io/pause")
                .unwrap()
        };
        let got = pick(&merged);
        assert!(got.to_string().contains("imagebom:signature"), "{what}");
        assert_eq!(got, pick(&emit(&whole, &cx()).unwrap()), "{what}");
    }
}

/// An image only a chart's `Chart.yaml` declares, beside the one its template renders.
fn declared_inventory() -> Inventory {
    let mut inv = rich();
    let r = "ghcr.io/acme/side:2";
    inv.add(
        ImageRef::parse(r).unwrap(),
        Occurrence {
            component: "web".into(),
            source: "web/Chart.yaml".into(),
            kind: "Chart".into(),
            name: "web".into(),
            path: "annotations[helm.sh/images]/1/image".into(),
            line: None,
            category: Category::Declared,
            original: r.into(),
            reason: Some(
                "declared by chart web (helm.sh/images \"side\"); not rendered with these values"
                    .into(),
            ),
        },
    );
    inv.canonicalize();
    inv
}

#[test]
fn declared_category_in_every_format() {
    let inv = declared_inventory();
    let cdx = cyclonedx_json(&inv, &cx()).unwrap();
    assert_valid(&cdx_validator(), &cdx, "CycloneDX");
    let doc: Value = serde_json::from_str(&cdx).unwrap();
    let side = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ghcr.io/acme/side")
        .unwrap();
    let props: Vec<(&str, &str)> = side["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["value"].as_str().unwrap()))
        .collect();
    assert!(
        props.contains(&("imagebom:category", "declared")),
        "{props:?}"
    );
    assert!(props.contains(&(
        "imagebom:occurrence",
        "web|web/Chart.yaml|Chart/web|annotations[helm.sh/images]/1/image|declared"
    )));
    assert!(props
        .iter()
        .any(|(n, v)| *n == "imagebom:reason" && v.contains("not rendered")));

    let spdx = spdx_json(&inv, &cx()).unwrap();
    assert_valid(&spdx_validator(), &spdx, "SPDX");
    assert!(spdx.contains("reference: ghcr.io/acme/side:2; found as: declared"));
    let md = markdown(&inv, &cx());
    assert!(
        md.lines()
            .any(|l| l.contains("`ghcr.io/acme/side:2`") && l.contains("| declared |")),
        "{md}"
    );
}

fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value}"))
}

#[test]
fn scanners_cyclonedx_shapes() {
    let doc: Value = serde_json::from_str(&cyclonedx_json(&rich(), &cx()).unwrap()).unwrap();
    let meta = &doc["metadata"];
    // busybox has no digest: the BOM is pre-build; every image pinned makes it build.
    assert_eq!(
        meta["lifecycles"],
        serde_json::json!([{"phase": "pre-build"}])
    );
    let tool = &meta["tools"]["components"][0];
    assert_eq!(tool["name"], "imagebom");
    assert_eq!(tool["licenses"][0]["license"]["id"], "Apache-2.0");
    let pause = find(&doc["components"], "name", "registry.k8s.io/pause");
    // Evidence in the standard field, never `identity` as an array.
    assert!(pause["evidence"].get("identity").is_none());
    assert_eq!(
        pause["evidence"]["occurrences"],
        serde_json::json!([{
            "location": "chart/templates/x.yaml",
            "additionalContext": "Deployment/x at spec/template/spec/containers/0/image"
        }])
    );
    // The line where the extractor found it (a recipe image has none).
    let nginx = find(&doc["components"], "name", "docker.io/library/nginx");
    assert_eq!(
        nginx["evidence"]["occurrences"],
        serde_json::json!([{
            "additionalContext": "Deployment/x at spec/template/spec/containers/0/image",
            "line": 12,
            "location": "chart/templates/x.yaml"
        }])
    );
    // The distribution's supplier supplies it; the registry namespace only publishes.
    assert_eq!(pause["supplier"]["name"], "Example Corp");
    assert_eq!(pause["publisher"], "registry.k8s.io");
    // One nested container per platform, its own digest and arch/os/variant qualifiers.
    let arm = Digest::sha256_of(b"arm");
    let platforms = pause["components"].as_array().unwrap();
    assert_eq!(platforms.len(), 1);
    let p = &platforms[0];
    assert_eq!(p["type"], "container");
    assert_eq!(p["version"], arm.to_string());
    assert_eq!(p["hashes"][0]["content"], arm.encoded());
    assert_eq!(
        p["purl"],
        format!("pkg:oci/pause@{arm}?arch=arm64&os=linux&repository_url=registry.k8s.io%2Fpause&tag=3.10&variant=v8")
    );
    assert!(imagebom_model::purl::parse(p["purl"].as_str().unwrap()).is_some());
    // SBOM links: the index's two on the image, the platform's on the platform.
    let links = pause["externalReferences"].as_array().unwrap();
    assert_eq!(links.len(), 2);
    for l in links {
        assert_eq!(l["type"], "bom");
        assert_eq!(l["hashes"][0]["alg"], "SHA-256");
    }
    let idx_hex = Digest::sha256_of(b"index").encoded().to_string();
    assert_eq!(
        links[0]["url"],
        format!("sboms/registry.k8s.io/pause@sha256-{idx_hex}.cdx.json")
    );
    assert!(links[0]["comment"]
        .as_str()
        .unwrap()
        .starts_with("generated by syft 1.18.1: CycloneDX SBOM of sha256:"));
    let plinks = p["externalReferences"].as_array().unwrap();
    assert_eq!(plinks.len(), 1);
    assert!(plinks[0]["url"].as_str().unwrap().contains(arm.encoded()));
    // Images without SBOMs or platforms carry neither.
    let busybox = find(&doc["components"], "name", "docker.io/library/busybox");
    assert!(busybox.get("externalReferences").is_none() && busybox.get("components").is_none());
    // Every bom-ref, nested ones too, is unique.
    let mut refs = Vec::new();
    fn walk<'a>(list: &'a Value, refs: &mut Vec<&'a str>) {
        for c in list.as_array().into_iter().flatten() {
            refs.push(c["bom-ref"].as_str().unwrap());
            walk(&c["components"], refs);
        }
    }
    walk(&doc["components"], &mut refs);
    let n = refs.len();
    refs.sort_unstable();
    refs.dedup();
    assert_eq!(refs.len(), n);

    let mut pinned = rich();
    pinned.images.retain(|_, e| e.digest().is_some());
    let doc: Value = serde_json::from_str(&cyclonedx_json(&pinned, &cx()).unwrap()).unwrap();
    assert_eq!(doc["metadata"]["lifecycles"][0]["phase"], "build");
}

#[test]
fn scanners_versions_and_suppliers_agree() {
    let cdx: Value = serde_json::from_str(&cyclonedx_json(&rich(), &cx()).unwrap()).unwrap();
    let spdx: Value = serde_json::from_str(&spdx_json(&rich(), &cx()).unwrap()).unwrap();
    for c in cdx["components"].as_array().unwrap() {
        let p = find(&spdx["packages"], "name", c["name"].as_str().unwrap());
        let version = c["version"].as_str().unwrap_or("NOASSERTION");
        assert_eq!(p["versionInfo"], version, "{}", c["name"]);
        let supplier = c["supplier"]["name"]
            .as_str()
            .map_or("NOASSERTION".to_string(), |s| format!("Organization: {s}"));
        assert_eq!(p["supplier"], supplier, "{}", c["name"]);
    }
}

#[test]
fn scanners_spdx_links_sboms() {
    let doc: Value = serde_json::from_str(&spdx_json(&rich(), &cx()).unwrap()).unwrap();
    let refs = doc["externalDocumentRefs"].as_array().unwrap();
    assert_eq!(refs.len(), 1, "only the SPDX SBOM is an SPDX document");
    let r = &refs[0];
    assert_eq!(r["spdxDocument"], "https://example.test/spdx/pause-1");
    assert_eq!(r["checksum"]["algorithm"], "SHA256");
    let id = r["externalDocumentId"].as_str().unwrap();
    let pause = find(&doc["packages"], "name", "registry.k8s.io/pause");
    let rel = doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["relationshipType"] == "DESCRIBED_BY")
        .unwrap();
    assert_eq!(rel["spdxElementId"], pause["SPDXID"]);
    assert_eq!(rel["relatedSpdxElement"], format!("{id}:SPDXRef-DOCUMENT"));
}

#[test]
fn scanners_diff_reads_the_index_not_its_platforms() {
    let text = cyclonedx_json(&rich(), &cx()).unwrap();
    let s = imagebom_emit::diff::summarize("bom.cdx.json", &text).unwrap();
    assert_eq!(s.images.len(), 6);
    let pause = &s.images["registry.k8s.io/pause:3.10"];
    assert_eq!(
        pause.digest.as_deref(),
        Some(Digest::sha256_of(b"index").to_string().as_str())
    );
}

#[test]
fn scanners_merge_of_the_same_bom_is_the_bom() {
    use imagebom_emit::merge::{merge, MergeInput};
    let mut inv = rich();
    // Merge writes components by name (it cannot know the recipe's order).
    inv.components.sort_by(|a, b| a.name.cmp(&b.name));
    let key = "registry.k8s.io/pause:3.10";
    let e = inv.images.get_mut(key).unwrap();
    let res = e.resolution.as_mut().unwrap();
    // Index order is not name order; two places with different files.
    res.platforms.insert(
        0,
        Platform {
            os: "linux".into(),
            architecture: "s390x".into(),
            variant: None,
            os_version: None,
            digest: Digest::sha256_of(b"s390x"),
            provenance: None,
        },
    );
    let mut o = e.occurrences[0].clone();
    o.source = "a/first.yaml".into();
    o.path = "spec/z".into();
    e.occurrences.push(o);
    inv.canonicalize();
    let text = cyclonedx_json(&inv, &cx()).unwrap();
    let inputs: Vec<MergeInput> = ["a", "b"]
        .iter()
        .map(|n| MergeInput {
            name: n.to_string(),
            text: text.clone(),
        })
        .collect();
    assert_eq!(merge(&inputs).unwrap().1, text);
}

#[test]
fn scanners_cyclonedx_in_the_typed_model_order() {
    // What the emitter writes is what the typed CycloneDX model writes (field order included).
    let text = cyclonedx_json(&rich(), &cx()).unwrap();
    let doc: serde_cyclonedx::cyclonedx::v_1_6::CycloneDx = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_string_pretty(&doc).unwrap() + "\n", text);
    let v15 =
        imagebom_emit::cyclonedx_json_as(&rich(), &cx(), None, imagebom_emit::SpecVersion::V1_5)
            .unwrap();
    assert!(v15.contains("\"specVersion\": \"1.5\"") && !v15.contains("additionalContext"));
    assert_ne!(
        serde_json::from_str::<Value>(&v15).unwrap()["serialNumber"],
        serde_json::from_str::<Value>(&text).unwrap()["serialNumber"]
    );
}

/// Occurrences that differ only in their line are distinct evidence; the document stays
/// valid CycloneDX 1.6 (1.5 has no `line`: it is left out there).
#[test]
fn evidence_occurrences_carry_lines() {
    let mut inv = Inventory::default();
    let r = "ghcr.io/acme/app:1";
    for line in [Some(30), Some(7), None, Some(7)] {
        let mut o = occ("web", Category::Pod, r);
        o.line = line;
        inv.add(ImageRef::parse(r).unwrap(), o);
    }
    inv.canonicalize();
    let text = cyclonedx_json(&inv, &cx()).unwrap();
    assert_valid(&cdx_validator(), &text, "CycloneDX");
    let doc: Value = serde_json::from_str(&text).unwrap();
    let app = find(&doc["components"], "name", "ghcr.io/acme/app");
    let lines: Vec<Option<i64>> = app["evidence"]["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["line"].as_i64())
        .collect();
    // In the canonical order (JSON text), one per line.
    assert_eq!(lines, vec![Some(30), Some(7), None], "{app}");
    let props = app["properties"].as_array().unwrap();
    let occurrence_props = props
        .iter()
        .filter(|p| p["name"] == "imagebom:occurrence")
        .count();
    assert_eq!(occurrence_props, 1, "{app}");
    let v15 = imagebom_emit::cyclonedx_json_as(&inv, &cx(), None, imagebom_emit::SpecVersion::V1_5)
        .unwrap();
    // CycloneDX 1.5 occurrences have only a location: one is left.
    let v15: Value = serde_json::from_str(&v15).unwrap();
    let app = find(&v15["components"], "name", "ghcr.io/acme/app");
    assert_eq!(
        app["evidence"]["occurrences"],
        serde_json::json!([{"location": "chart/templates/x.yaml"}])
    );
}
