//! Verification records (issue 16 §2) in every output: CycloneDX properties and external
//! references, SPDX annotations, the page's provenance matrix.

use imagebom_emit::validate::{Schema, Validator};
use imagebom_emit::{cyclonedx_json, markdown, spdx_json, EmitContext};
use imagebom_model::lock::{BuildProvenance, SignatureKind, SignatureVerdict, Verdict};
use imagebom_model::{
    Category, ComponentInfo, Digest, ImageRef, Inventory, Occurrence, Provenance, RecipeInfo,
    Resolution, ResolutionSource,
};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn cx() -> EmitContext {
    EmitContext {
        timestamp: "2026-11-24T00:00:00Z".into(),
        tool_name: "imagebom".into(),
        tool_version: "0.1.0".into(),
    }
}

const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const ID: &str = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
const BUILDER: &str = "https://github.com/actions/runner/github-hosted";
const BUILD_TYPE: &str = "https://actions.github.io/buildtypes/workflow/v1";
const COMMIT: &str = "4f2c1d0e9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e";
const KEY: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

fn verdict(kind: SignatureKind, verdict: Verdict) -> SignatureVerdict {
    SignatureVerdict {
        kind,
        source: "referrer".into(),
        verdict,
        subject: None,
        issuer: None,
        key_id: None,
        predicate_type: None,
        reason: None,
        build: None,
    }
}

fn prov(referrers: Vec<&str>, verification: Option<Vec<SignatureVerdict>>) -> Provenance {
    Provenance {
        signature: Some(false),
        attestation: Some(false),
        sbom: Some(false),
        referrers: Some(referrers.into_iter().map(String::from).collect()),
        verification,
    }
}

/// Five images: keyless-verified with SLSA provenance and an SBOM attestation; keyed
/// verified; present but unverified; checked with nothing; never checked.
fn inventory() -> Inventory {
    let mut inv = Inventory {
        recipe: RecipeInfo {
            name: "dist".into(),
            version: "1.0.0".into(),
            ..RecipeInfo::default()
        },
        components: vec![ComponentInfo {
            name: "web".into(),
            display_name: None,
            namespace: None,
            chart: None,
            manifests: vec!["m.yaml".into()],
            trust: None,
        }],
        ..Inventory::default()
    };
    let names = ["keyless", "keyed", "unverified", "nothing", "never"];
    for n in names {
        let r = format!("registry.example/acme/{n}:1");
        inv.add(
            ImageRef::parse(&r).unwrap(),
            Occurrence {
                component: "web".into(),
                source: "m.yaml".into(),
                kind: "Deployment".into(),
                name: n.into(),
                path: "spec/template/spec/containers/0/image".into(),
                line: None,
                category: Category::Pod,
                original: r.clone(),
                reason: None,
            },
        );
    }
    let mut sig = verdict(SignatureKind::Signature, Verdict::Verified);
    sig.subject = Some(ID.into());
    sig.issuer = Some(ISSUER.into());
    let mut slsa = sig.clone();
    slsa.kind = SignatureKind::Attestation;
    slsa.predicate_type = Some("https://slsa.dev/provenance/v1".into());
    slsa.build = Some(BuildProvenance {
        builder_id: Some(BUILDER.into()),
        build_type: Some(BUILD_TYPE.into()),
        source_repository: Some("https://github.com/acme/app".into()),
        source_ref: Some("refs/tags/v1.0.0".into()),
        source_commit: Some(COMMIT.into()),
    });
    let mut sbom = sig.clone();
    sbom.kind = SignatureKind::Attestation;
    sbom.predicate_type = Some("https://cyclonedx.org/bom".into());
    let mut keyed = verdict(SignatureKind::Signature, Verdict::Verified);
    keyed.source = "tag".into();
    keyed.key_id = Some(KEY.into());
    let mut bad = verdict(SignatureKind::Signature, Verdict::Unverified);
    bad.reason = Some("certificate not issued by the trusted root".into());
    let records = [
        ("keyless", prov(vec![BUNDLE], Some(vec![sig, slsa, sbom]))),
        ("keyed", {
            let mut p = prov(vec![], Some(vec![keyed]));
            p.signature = Some(true);
            p
        }),
        ("unverified", prov(vec![BUNDLE], Some(vec![bad]))),
        ("nothing", prov(vec![], Some(vec![]))),
    ];
    for (n, p) in records {
        let key = format!("registry.example/acme/{n}:1");
        inv.images.get_mut(&key).unwrap().resolution = Some(Resolution {
            digest: Digest::sha256_of(n.as_bytes()),
            source: ResolutionSource::Registry,
            media_type: None,
            size: None,
            platforms: vec![],
            artifact_type: None,
            provenance: Some(p),
            sboms: vec![],
        });
    }
    inv.images
        .get_mut("registry.example/acme/never:1")
        .unwrap()
        .resolution = Some(Resolution {
        digest: Digest::sha256_of(b"never"),
        source: ResolutionSource::Registry,
        media_type: None,
        size: None,
        platforms: vec![],
        artifact_type: None,
        provenance: None,
        sboms: vec![],
    });
    inv.canonicalize();
    inv
}

fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == format!("registry.example/acme/{name}"))
        .unwrap()
}

fn props(c: &Value) -> Vec<(String, String)> {
    c["properties"]
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
            ![
                "imagebom:reference",
                "imagebom:normalized",
                "imagebom:category",
                "imagebom:occurrence",
                "imagebom:resolution",
            ]
            .contains(&n.as_str())
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn cyclonedx_says_signer_verdicts_and_build() {
    let text = cyclonedx_json(&inventory(), &cx()).unwrap();
    let v = Validator::new(&schemas(), Schema::CycloneDx16).unwrap();
    let errors = v.errors(&serde_json::from_str(&text).unwrap());
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let doc: Value = serde_json::from_str(&text).unwrap();
    let c = &doc["components"];

    let keyless = find(c, "keyless");
    assert_eq!(
        props(keyless),
        pairs(&[
            ("imagebom:signature", "true"),
            ("imagebom:attestation", "true"),
            ("imagebom:sbom", "true"),
            ("imagebom:referrers", "1"),
            ("imagebom:referrer-artifact-type", BUNDLE),
            ("imagebom:signed", "verified"),
            ("imagebom:signer-identity", ID),
            ("imagebom:signer-issuer", ISSUER),
            (
                "imagebom:verification",
                &format!(
                    "attestation|referrer|verified|{ID} ({ISSUER})|https://cyclonedx.org/bom|"
                )
            ),
            (
                "imagebom:verification",
                &format!(
                    "attestation|referrer|verified|{ID} ({ISSUER})|https://slsa.dev/provenance/v1|"
                )
            ),
            (
                "imagebom:verification",
                &format!("signature|referrer|verified|{ID} ({ISSUER})||")
            ),
            ("imagebom:build-builder-id", BUILDER),
            ("imagebom:build-type", BUILD_TYPE),
            (
                "imagebom:build-source-repository",
                "https://github.com/acme/app"
            ),
            ("imagebom:build-source-ref", "refs/tags/v1.0.0"),
            ("imagebom:build-source-commit", COMMIT),
        ])
    );
    let refs: Vec<(&str, &str, &str)> = keyless["externalReferences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap(),
                r["url"].as_str().unwrap(),
                r["comment"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(refs.contains(&(
        "vcs",
        "https://github.com/acme/app",
        &*format!(
            "source of the build (verified SLSA provenance); commit {COMMIT}; ref refs/tags/v1.0.0"
        )
    )));
    assert!(refs.contains(&(
        "build-meta",
        BUILD_TYPE,
        "build type (verified SLSA provenance)"
    )));
    assert!(refs.contains(&(
        "build-system",
        BUILDER,
        "builder (verified SLSA provenance)"
    )));
    assert_eq!(refs.len(), 3);

    let keyed = props(find(c, "keyed"));
    assert!(keyed.contains(&("imagebom:signed".into(), "verified".into())));
    assert!(keyed.contains(&("imagebom:signer-key-id".into(), KEY.into())));
    assert!(find(c, "keyed").get("externalReferences").is_none());

    // A bundle that did not verify: signed but unverified, no signer, the reason kept.
    let bad = props(find(c, "unverified"));
    assert!(bad.contains(&("imagebom:signature".into(), "true".into())));
    assert!(bad.contains(&("imagebom:signed".into(), "unverified".into())));
    assert!(bad.contains(&(
        "imagebom:verification".into(),
        "signature|referrer|unverified|||certificate not issued by the trusted root".into()
    )));
    assert!(!bad.iter().any(|(n, _)| n.starts_with("imagebom:signer")));
    // Verification found that the bundle is a signature: no attestation, no SBOM.
    assert!(bad.contains(&("imagebom:attestation".into(), "false".into())));

    let nothing = props(find(c, "nothing"));
    assert!(nothing.contains(&("imagebom:signed".into(), "none".into())));
    assert!(nothing.contains(&("imagebom:signature".into(), "false".into())));
    assert!(props(find(c, "never")).is_empty());
}

#[test]
fn unverified_bundle_referrer_makes_absence_unknown() {
    // A bundle referrer that verification never classified may be any attestation: the
    // legacy `.att` tag's absence does not make `imagebom:attestation` false.
    let mut inv = inventory();
    let e = inv
        .images
        .get_mut("registry.example/acme/unverified:1")
        .unwrap();
    e.resolution.as_mut().unwrap().provenance = Some(prov(vec![BUNDLE], None));
    let doc: Value = serde_json::from_str(&cyclonedx_json(&inv, &cx()).unwrap()).unwrap();
    let p = props(find(&doc["components"], "unverified"));
    for name in ["signature", "attestation", "sbom", "signed"] {
        assert!(
            p.contains(&(format!("imagebom:{name}"), "unknown".into())),
            "{name}: {p:?}"
        );
    }
    // An SBOM referrer and an in-toto referrer count without any tag.
    let e = inv
        .images
        .get_mut("registry.example/acme/unverified:1")
        .unwrap();
    e.resolution.as_mut().unwrap().provenance = Some(prov(
        vec!["application/spdx+json", "application/vnd.in-toto+json"],
        None,
    ));
    let doc: Value = serde_json::from_str(&cyclonedx_json(&inv, &cx()).unwrap()).unwrap();
    let p = props(find(&doc["components"], "unverified"));
    assert!(p.contains(&("imagebom:sbom".into(), "true".into())));
    assert!(p.contains(&("imagebom:attestation".into(), "true".into())));
    assert!(p.contains(&("imagebom:signed".into(), "none".into())));
}

#[test]
fn spdx_annotates_signer_verdicts_and_build() {
    let text = spdx_json(&inventory(), &cx()).unwrap();
    let v = Validator::new(&schemas(), Schema::Spdx23).unwrap();
    let errors = v.errors(&serde_json::from_str(&text).unwrap());
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let doc: Value = serde_json::from_str(&text).unwrap();
    let pkg = find(&doc["packages"], "keyless");
    let notes: Vec<&str> = pkg["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["annotationType"], "OTHER");
            assert_eq!(a["annotator"], "Tool: imagebom-0.1.0");
            a["comment"].as_str().unwrap()
        })
        .collect();
    for want in [
        "imagebom:signed=verified".to_string(),
        format!("imagebom:signer-identity={ID}"),
        format!("imagebom:signer-issuer={ISSUER}"),
        format!("imagebom:signature-verification=signature|referrer|verified|{ID} ({ISSUER})||")
            .replace("signature-verification", "verification"),
        format!("imagebom:build-builder-id={BUILDER}"),
        format!("imagebom:build-source-commit={COMMIT}"),
    ] {
        assert!(notes.contains(&want.as_str()), "{want} not in {notes:?}");
    }
    let never = find(&doc["packages"], "never");
    assert!(never.get("annotations").is_none());
}

#[test]
fn page_has_a_provenance_matrix() {
    let md = markdown(&inventory(), &cx());
    assert!(md.contains("| image | signed | signer | provenance | SBOM attested |"));
    assert!(md.contains("Provenance matrix: **signed**"));
    let row = |name: &str| {
        md.lines()
            .find(|l| {
                l.starts_with(&format!("| `registry.example/acme/{name}:1` | "))
                    && !l.contains("sha256")
            })
            .unwrap_or_else(|| panic!("no matrix row for {name}:\n{md}"))
            .to_string()
    };
    assert_eq!(
        row("keyless"),
        format!(
            "| `registry.example/acme/keyless:1` | **verified** | `{ID}` (`{ISSUER}`) | \
             builder `{BUILDER}`, source `https://github.com/acme/app@{COMMIT}` | **verified** |"
        )
    );
    assert_eq!(
        row("keyed"),
        format!("| `registry.example/acme/keyed:1` | **verified** | key `{KEY}` | – | none |")
    );
    assert_eq!(
        row("unverified"),
        "| `registry.example/acme/unverified:1` | present, unverified | – | – | none |"
    );
    assert_eq!(
        row("nothing"),
        "| `registry.example/acme/nothing:1` | none | – | – | none |"
    );
    // Never checked is unknown, not none.
    assert_eq!(
        row("never"),
        "| `registry.example/acme/never:1` | unknown | – | – | unknown |"
    );
    assert!(md.contains("| with a verified signature | 2 |"));
}

#[test]
fn merge_keeps_verification_in_emitter_order() {
    use imagebom_emit::merge::{merge, MergeInput};
    let whole = inventory();
    let (mut a, mut b) = (inventory(), inventory());
    for (i, k) in whole.images.keys().enumerate() {
        if i % 2 == 0 {
            a.images.remove(k);
        } else {
            b.images.remove(k);
        }
    }
    let inputs = [
        MergeInput {
            name: "a".into(),
            text: cyclonedx_json(&a, &cx()).unwrap(),
        },
        MergeInput {
            name: "b".into(),
            text: cyclonedx_json(&b, &cx()).unwrap(),
        },
    ];
    let (_, merged) = merge(&inputs).unwrap();
    let m: Value = serde_json::from_str(&merged).unwrap();
    let w: Value = serde_json::from_str(&cyclonedx_json(&whole, &cx()).unwrap()).unwrap();
    for n in ["keyless", "keyed", "unverified", "nothing", "never"] {
        assert_eq!(find(&m["components"], n), find(&w["components"], n), "{n}");
    }
}

#[test]
fn a_platform_record_is_on_its_nested_component() {
    use imagebom_model::lock::Platform;
    let mut inv = inventory();
    let mut keyed = verdict(SignatureKind::Signature, Verdict::Verified);
    keyed.source = "tag".into();
    keyed.key_id = Some(KEY.into());
    let mut slsa = verdict(SignatureKind::Attestation, Verdict::Verified);
    slsa.key_id = Some(KEY.into());
    slsa.predicate_type = Some("https://slsa.dev/provenance/v1".into());
    slsa.build = Some(BuildProvenance {
        builder_id: Some(BUILDER.into()),
        source_repository: Some("https://github.com/acme/app".into()),
        source_commit: Some(COMMIT.into()),
        ..BuildProvenance::default()
    });
    let platform = |arch: &str, provenance: Option<Provenance>| Platform {
        os: "linux".into(),
        architecture: arch.into(),
        variant: None,
        os_version: None,
        digest: Digest::sha256_of(arch.as_bytes()),
        provenance,
    };
    let r = inv
        .images
        .get_mut("registry.example/acme/nothing:1")
        .unwrap()
        .resolution
        .as_mut()
        .unwrap();
    r.platforms = vec![
        platform("amd64", Some(prov(vec![], Some(vec![])))),
        platform("arm64", Some(prov(vec![], Some(vec![keyed, slsa])))),
        platform("s390x", None),
    ];
    let text = cyclonedx_json(&inv, &cx()).unwrap();
    let v = Validator::new(&schemas(), Schema::CycloneDx16).unwrap();
    let errors = v.errors(&serde_json::from_str(&text).unwrap());
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let doc: Value = serde_json::from_str(&text).unwrap();
    let image = find(&doc["components"], "nothing");
    // The index's own record says none; each platform says its own.
    assert!(props(image).contains(&("imagebom:signed".into(), "none".into())));
    let nested = image["components"].as_array().unwrap();
    let of = |arch: &str| {
        nested
            .iter()
            .find(|c| {
                c["purl"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("arch={arch}"))
            })
            .unwrap()
    };
    let arm = props(of("arm64"));
    for p in [
        ("imagebom:signed", "verified"),
        ("imagebom:signer-key-id", KEY),
        ("imagebom:build-builder-id", BUILDER),
        ("imagebom:build-source-commit", COMMIT),
    ] {
        assert!(arm.contains(&(p.0.into(), p.1.into())), "{p:?} in {arm:?}");
    }
    let links: Vec<(&str, &str)> = of("arm64")["externalReferences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["type"].as_str().unwrap(), x["url"].as_str().unwrap()))
        .collect();
    assert!(
        links.contains(&("vcs", "https://github.com/acme/app")),
        "{links:?}"
    );
    assert!(links.contains(&("build-system", BUILDER)), "{links:?}");
    assert!(props(of("amd64")).contains(&("imagebom:signed".into(), "none".into())));
    assert!(of("amd64").get("externalReferences").is_none());
    // Never checked: only the platform property, no provenance claim.
    assert_eq!(
        props(of("s390x")),
        pairs(&[("imagebom:platform", "linux/s390x")])
    );
}
