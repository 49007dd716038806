//! Signatures laid out as cosign lays them out, through a real registry: an image, its keyed
//! `.sig` (simple-signing layer, signature annotation) and `.att` (DSSE envelope) under the
//! `sha256-<hex>.sig` / `.att` tags, signed with `openssl`, pushed into Debian's
//! `docker-registry` with skopeo and read back with skopeo; what comes back verifies for the
//! image it names and for no other.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use imagebom_testkit::registry::{skopeo_copy, Registry};
use imagebom_testkit::{ready, Need};
use imagebom_verify::cosign::{self, Image, Layer};
use imagebom_verify::{dsse, Options, Policy, PublicKey, TrustedRoot};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

const NEEDS: &[Need] = &[
    Need::REGISTRY,
    Need::SKOPEO,
    Need::Program("/usr/bin/openssl", "openssl"),
];

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Writes an OCI layout holding one manifest (config + layers, each with its annotations).
fn layout(dir: &Path, config: &[u8], layers: &[(&str, Vec<u8>, Value)]) -> PathBuf {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = sha256(bytes);
        std::fs::write(blobs.join(&d[7..]), bytes).unwrap();
        d
    };
    let descs: Vec<Value> = layers
        .iter()
        .map(|(mt, blob, ann)| json!({"mediaType": mt, "size": blob.len(), "digest": put(blob), "annotations": ann}))
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": config.len(), "digest": put(config)},
        "layers": descs,
    })
    .to_string()
    .into_bytes();
    let digest = put(&manifest);
    let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": manifest.len(), "digest": digest, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    dir.to_path_buf()
}

fn skopeo(args: &[&str]) -> Vec<u8> {
    let out = Command::new("/usr/bin/skopeo").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn push(layout: &Path, dest: &str) {
    let src = format!("oci:{}:latest", layout.display());
    skopeo_copy(&["--preserve-digests"], &src, &format!("docker://{dest}"));
}

/// Reads a `.sig`/`.att` manifest back from the registry: its first layer's media type,
/// blob and annotations.
fn pull_layer(work: &Path, src: &str) -> (String, Vec<u8>, BTreeMap<String, String>) {
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{src}"),
    ]);
    let manifest: Value = serde_json::from_slice(&raw).unwrap();
    let desc = &manifest["layers"][0];
    let out = work.join(format!("pulled-{}", &sha256(src.as_bytes())[7..19]));
    skopeo(&[
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{src}"),
        &format!("dir:{}", out.display()),
    ]);
    let blob = std::fs::read(out.join(&desc["digest"].as_str().unwrap()[7..])).unwrap();
    let ann = desc["annotations"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    (desc["mediaType"].as_str().unwrap().to_string(), blob, ann)
}

fn openssl(dir: &Path, args: &[&str]) {
    let ok = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl {args:?}");
}

fn sign(dir: &Path, data: &[u8]) -> String {
    std::fs::write(dir.join("to-sign"), data).unwrap();
    openssl(
        dir,
        &[
            "dgst", "-sha256", "-sign", "key.pem", "-out", "sig", "to-sign",
        ],
    );
    dsse::encode_b64(&std::fs::read(dir.join("sig")).unwrap())
}

#[test]
fn cosign_layouts_through_a_real_registry() {
    if !ready(NEEDS) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let registry = Registry::start(None);
    openssl(
        work,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "key.pem",
        ],
    );
    openssl(
        work,
        &["pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem"],
    );
    let key = PublicKey::from_pem(&std::fs::read_to_string(work.join("pub.pem")).unwrap()).unwrap();

    // The image, then its digest as the registry serves it.
    let image = layout(
        &work.join("layout-image"),
        br#"{"architecture":"amd64","os":"linux"}"#,
        &[(
            "application/vnd.oci.image.layer.v1.tar",
            b"not really a tar".to_vec(),
            json!({}),
        )],
    );
    let repo = format!("{}/acme/app", registry.host);
    push(&image, &format!("{repo}:v1"));
    let digest = sha256(&skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{repo}:v1"),
    ]));
    let tag = digest.replace(':', "-");

    // `.sig`: the simple-signing payload naming the digest, its signature in the annotation.
    let payload = json!({"critical": {"identity": {"docker-reference": repo}, "image": {"docker-manifest-digest": digest}, "type": "cosign container image signature"}, "optional": null}).to_string().into_bytes();
    let sig = sign(work, &payload);
    let sig_layout = layout(
        &work.join("layout-sig"),
        b"{}",
        &[(
            cosign::SIMPLE_SIGNING,
            payload,
            json!({cosign::ANN_SIGNATURE: sig}),
        )],
    );
    push(&sig_layout, &format!("{repo}:{tag}.sig"));

    // `.att`: a DSSE envelope over an in-toto statement about the digest.
    let statement = json!({"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": repo, "digest": {"sha256": &digest[7..]}}], "predicateType": "https://cyclonedx.org/bom", "predicate": {"bomFormat": "CycloneDX"}}).to_string();
    let att_sig = sign(work, &dsse::pae(dsse::IN_TOTO, statement.as_bytes()));
    let envelope = json!({"payloadType": dsse::IN_TOTO, "payload": dsse::encode_b64(statement.as_bytes()), "signatures": [{"keyid": "", "sig": att_sig}]}).to_string().into_bytes();
    let att_layout = layout(
        &work.join("layout-att"),
        b"{}",
        &[(
            cosign::DSSE_LAYER,
            envelope,
            json!({cosign::ANN_SIGNATURE: ""}),
        )],
    );
    push(&att_layout, &format!("{repo}:{tag}.att"));

    let root = TrustedRoot::production();
    let policy = Policy::Key(key);
    let opts = Options {
        require_tlog: false,
        ..Options::default()
    };
    let other = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    let (mt, blob, ann) = pull_layer(work, &format!("{repo}:{tag}.sig"));
    let layer = Layer {
        media_type: &mt,
        blob: &blob,
        annotations: &ann,
    };
    let image_ref = Image {
        digest: &digest,
        reference: Some(&repo),
    };
    let v = cosign::verify_signature_layer(&layer, &image_ref, &root, &policy, &opts).unwrap();
    assert!(matches!(v.signer, imagebom_verify::Signer::Key { .. }));
    assert!(cosign::verify_signature_layer(
        &layer,
        &Image {
            digest: other,
            reference: None
        },
        &root,
        &policy,
        &opts
    )
    .is_err());

    let (mt, blob, ann) = pull_layer(work, &format!("{repo}:{tag}.att"));
    let layer = Layer {
        media_type: &mt,
        blob: &blob,
        annotations: &ann,
    };
    let v = cosign::verify_attestation_layer(&layer, &digest, &root, &policy, &opts).unwrap();
    let mut summary = imagebom_verify::ImageAttestations::default();
    summary.add_statement(v.statement.as_ref().unwrap());
    assert!(summary.sbom);
    assert!(cosign::verify_attestation_layer(&layer, other, &root, &policy, &opts).is_err());
    // Another key does not verify what the registry holds.
    openssl(
        work,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "key2.pem",
        ],
    );
    openssl(
        work,
        &["pkey", "-in", "key2.pem", "-pubout", "-out", "pub2.pem"],
    );
    let stranger = Policy::Key(
        PublicKey::from_pem(&std::fs::read_to_string(work.join("pub2.pem")).unwrap()).unwrap(),
    );
    assert!(cosign::verify_attestation_layer(&layer, &digest, &root, &stranger, &opts).is_err());
}
