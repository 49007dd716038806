//! Every verification of `../shared/sigstore/cosign/samples.json` (real cosign `.sig` layers and
//! `.att` DSSE envelopes with the digests they sign) gets the verdict upstream expects; the
//! digest each signature names is the one the sample records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use imagebom_testkit::{ready, Need};
use imagebom_verify::cosign::{self, Image, Layer};
use imagebom_verify::{
    pem_blocks, Authority, Identity, Matcher, Options, Policy, PublicKey, TrustedRoot,
};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

const SIGSTORE: Need = Need::Shared {
    name: "sigstore",
    env: "IMAGEBOM_SIGSTORE",
    marker: "cosign/samples.json",
};

fn dir() -> PathBuf {
    SIGSTORE.path().join("cosign")
}

fn read(base: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(base.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A layer as a test owns it: media type, blob, annotations.
struct OwnedLayer {
    media_type: String,
    blob: Vec<u8>,
    annotations: BTreeMap<String, String>,
}

impl OwnedLayer {
    fn layer(&self) -> Layer<'_> {
        Layer {
            media_type: &self.media_type,
            blob: &self.blob,
            annotations: &self.annotations,
        }
    }
}

fn annotations(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// containers/image's `sigstore-json` file: `\0sigstore-json\n` + {mimeType, payload, annotations}.
fn sigstore_json(bytes: &[u8]) -> OwnedLayer {
    let start = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
    let v: Value = serde_json::from_slice(&bytes[start..]).unwrap();
    let payload = v["payload"].as_str().unwrap();
    OwnedLayer {
        media_type: v["mimeType"].as_str().unwrap().to_string(),
        blob: imagebom_verify::dsse::decode_b64("test", payload).unwrap(),
        annotations: annotations(&v["annotations"]),
    }
}

/// The layer a sample describes, and the image digest the test checks it against.
fn load(base: &Path, sample: &Value) -> (OwnedLayer, Option<String>) {
    let files = &sample["files"];
    let f = |k: &str| files[k].as_str().unwrap();
    let name = sample["sample"].as_str().unwrap();
    if files.get("signature").is_some() {
        return (
            sigstore_json(&read(base, f("signature"))),
            Some(sha256(&read(base, f("manifest")))),
        );
    }
    if files.get("rekor-payload").is_some() {
        let text = |k: &str| {
            String::from_utf8(read(base, f(k)))
                .unwrap()
                .trim()
                .to_string()
        };
        let mut ann = BTreeMap::new();
        ann.insert(cosign::ANN_SIGNATURE.to_string(), text("rekor-sig"));
        ann.insert(cosign::ANN_CERTIFICATE.to_string(), text("rekor-cert"));
        ann.insert(cosign::ANN_BUNDLE.to_string(), text("rekor-set"));
        let layer = OwnedLayer {
            media_type: cosign::SIMPLE_SIGNING.into(),
            blob: read(base, f("rekor-payload")),
            annotations: ann,
        };
        return (layer, None);
    }
    if files.get("layer").is_some() {
        let desc: Value = serde_json::from_slice(&read(base, f("layer"))).unwrap();
        let layer = OwnedLayer {
            media_type: desc["mediaType"].as_str().unwrap().into(),
            blob: read(base, f("envelope")),
            annotations: annotations(&desc["annotations"]),
        };
        return (layer, None);
    }
    let layout = Path::new(f("layout"));
    let manifest: Value = serde_json::from_slice(&read(
        base,
        layout.join(f("att_manifest")).to_str().unwrap(),
    ))
    .unwrap();
    let desc = &manifest["layers"][0];
    let blob = read(base, layout.join(f("att_layer")).to_str().unwrap());
    assert_eq!(
        sha256(&blob),
        desc["digest"].as_str().unwrap(),
        "{name}: the layer blob's digest"
    );
    let layer = OwnedLayer {
        media_type: desc["mediaType"].as_str().unwrap().into(),
        blob,
        annotations: annotations(&desc["annotations"]),
    };
    (layer, None)
}

fn pem_key(base: &Path, name: &str) -> PublicKey {
    PublicKey::from_pem(
        &String::from_utf8(read(base, &format!("containers-image/keys/{name}"))).unwrap(),
    )
    .unwrap()
}

/// The private PKI of `cosign-pki-valid` as a trusted root: its intermediates and root.
fn pki_root(base: &Path) -> TrustedRoot {
    let pem =
        |f: &str| String::from_utf8(read(base, &format!("containers-image/keys/{f}"))).unwrap();
    let mut certs = pem_blocks(&pem("pki_intermediate_crts.pem"), "CERTIFICATE").unwrap();
    certs.extend(pem_blocks(&pem("pki_root_crts.pem"), "CERTIFICATE").unwrap());
    TrustedRoot {
        tlogs: vec![],
        ctlogs: vec![],
        certificate_authorities: vec![Authority {
            uri: "pki".into(),
            certs,
            validity: None,
        }],
        timestamp_authorities: vec![],
    }
}

/// Verifies one sample with one verification's trust; returns the verdict.
fn verify(base: &Path, sample: &Value, v: &Value) -> Result<imagebom_verify::Verified, String> {
    let (layer, manifest_digest) = load(base, sample);
    let mut opts = Options::default();
    let mut root = TrustedRoot::production();
    let policy = match (v.get("key").and_then(Value::as_str), v["trust"].as_str()) {
        (Some(key), _) => {
            opts.require_tlog = v["rekor"].as_bool().unwrap_or(false);
            Policy::Key(pem_key(base, key))
        }
        (None, Some("pki")) => {
            root = pki_root(base);
            opts.require_tlog = false;
            opts.fulcio_profile = false;
            Policy::Identities(vec![Identity {
                subject: Matcher::Exact(v["identity"].as_str().unwrap().into()),
                issuer: None,
            }])
        }
        (None, Some(_)) => Policy::Identities(vec![Identity::exact(
            v["identity"].as_str().unwrap(),
            v["issuer"].as_str().unwrap(),
        )]),
        _ => panic!("verification without trust: {v}"),
    };
    let recorded = v["check"]["payload_manifest_digest"].as_str();
    let image_digest = v["image_digest"]
        .as_str()
        .map(str::to_string)
        .or(manifest_digest)
        .or(recorded.map(str::to_string))
        .unwrap_or_default();
    let result = if layer.media_type == cosign::DSSE_LAYER {
        cosign::verify_attestation_layer(&layer.layer(), &image_digest, &root, &policy, &opts)
    } else {
        let image = Image {
            digest: &image_digest,
            reference: v["docker_reference_exact"].as_str(),
        };
        cosign::verify_signature_layer(&layer.layer(), &image, &root, &policy, &opts)
    };
    result.map_err(|e| e.to_string())
}

#[test]
fn every_sample_gets_the_upstream_verdict() {
    if !ready(&[SIGSTORE]) {
        return;
    }
    let base = dir();
    let doc: Value = serde_json::from_slice(&read(&base, "samples.json")).unwrap();
    let mut wrong = Vec::new();
    let mut n = 0;
    for sample in doc["samples"].as_array().unwrap() {
        for v in sample["verifications"].as_array().unwrap() {
            n += 1;
            let name = sample["sample"].as_str().unwrap();
            let want = v["expect"].as_str().unwrap();
            let got = verify(&base, sample, v);
            eprintln!(
                "  {name} ({}): {want} / {:?}",
                v.get("key").or(v.get("identity")).unwrap(),
                got.as_ref().map(|_| "ok")
            );
            if let (Ok(verified), Some(id)) = (&got, v["identity"].as_str()) {
                match &verified.signer {
                    imagebom_verify::Signer::Keyless(cert) => {
                        assert!(cert.sans.iter().any(|s| s == id), "{name}: signer {cert:?}")
                    }
                    other => panic!("{name}: expected a keyless signer, got {other:?}"),
                }
            }
            if got.is_ok() != (want == "ok") {
                wrong.push(format!("{name}: expected {want}, imagebom {got:?}"));
            }
        }
    }
    assert_eq!(n, 20, "samples.json should hold 20 verifications");
    assert!(
        wrong.is_empty(),
        "{} verdicts differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The digest each `.sig` payload names is the one samples.json recorded, and for the
/// modified-manifest sample it differs from the manifest's real digest.
#[test]
fn signed_digests_are_the_recorded_ones() {
    if !ready(&[SIGSTORE]) {
        return;
    }
    let base = dir();
    let doc: Value = serde_json::from_slice(&read(&base, "samples.json")).unwrap();
    let mut checked = 0;
    for sample in doc["samples"].as_array().unwrap() {
        let (layer, manifest) = load(&base, sample);
        let check = &sample["verifications"][0]["check"];
        if layer.media_type == cosign::SIMPLE_SIGNING {
            let payload: Value = serde_json::from_slice(&layer.blob).unwrap();
            let signed = payload["critical"]["image"]["docker-manifest-digest"]
                .as_str()
                .unwrap();
            assert_eq!(
                Some(signed),
                check["payload_manifest_digest"].as_str(),
                "{}",
                sample["sample"]
            );
            if let Some(m) = manifest {
                assert_eq!(
                    Some(m.as_str()),
                    check["manifest_digest"].as_str(),
                    "{}",
                    sample["sample"]
                );
                assert_eq!(
                    m == signed,
                    check["digest_matches_manifest"].as_bool().unwrap()
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
}
