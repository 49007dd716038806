//! Provenance discovery against a real registry: Debian's `docker-registry` (distribution 2.8)
//! on loopback, filled by `skopeo copy` from OCI layouts written here, with a cosign-layout
//! `.sig` signed by a real `openssl` ECDSA P-256 key over the simple-signing payload. openssl is
//! the oracle for the signature (`openssl dgst -verify`), skopeo for what the registry serves.

use imagebom_model::lock::{SignatureKind, SignatureVerdict, Verdict};
use imagebom_model::{Digest, ImageRef, Provenance};
use imagebom_resolve::provenance::{Target, Trust};
use imagebom_resolve::registry::{RegistryOptions, Resolver};
use imagebom_testkit::{ready, registry, Need};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const OPENSSL: Need = Need::Program("/usr/bin/openssl", "openssl");
const NEEDS: &[Need] = &[Need::REGISTRY, Need::SKOPEO, OPENSSL];
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// An OCI image layout written by hand (the image-spec's format).
struct Layout {
    dir: tempfile::TempDir,
    refs: Vec<serde_json::Value>,
}

impl Layout {
    fn new() -> Layout {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        std::fs::write(
            dir.path().join("oci-layout"),
            r#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        Layout {
            dir,
            refs: Vec::new(),
        }
    }

    fn blob(&self, data: &[u8], media_type: &str) -> serde_json::Value {
        let d = Digest::sha256_of(data);
        std::fs::write(self.dir.path().join("blobs/sha256").join(d.encoded()), data).unwrap();
        serde_json::json!({"mediaType": media_type, "digest": d.to_string(), "size": data.len()})
    }

    /// A manifest of `config` and `layers` (`(bytes, mediaType, annotations)`).
    fn manifest(
        &self,
        config: serde_json::Value,
        layers: &[(&[u8], &str, serde_json::Value)],
    ) -> serde_json::Value {
        let layers: Vec<serde_json::Value> = layers
            .iter()
            .map(|(data, media_type, annotations)| {
                let mut d = self.blob(data, media_type);
                if !annotations.is_null() {
                    d["annotations"] = annotations.clone();
                }
                d
            })
            .collect();
        let m = serde_json::json!({"schemaVersion": 2, "mediaType": MANIFEST,
            "config": config, "layers": layers});
        self.blob(m.to_string().as_bytes(), MANIFEST)
    }

    /// A one-layer linux/amd64 image.
    fn image(&self, text: &str) -> serde_json::Value {
        let layer = self.blob(text.as_bytes(), "application/vnd.oci.image.layer.v1.tar");
        let config = serde_json::json!({"architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}});
        let config = self.blob(
            config.to_string().as_bytes(),
            "application/vnd.oci.image.config.v1+json",
        );
        self.manifest(
            config,
            &[(
                text.as_bytes(),
                "application/vnd.oci.image.layer.v1.tar",
                serde_json::Value::Null,
            )],
        )
    }

    /// The config cosign writes for its signature images.
    fn cosign_config(&self, layer: &[u8]) -> serde_json::Value {
        let cfg = serde_json::json!({"architecture": "", "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
            "rootfs": {"type": "layers", "diff_ids": [Digest::sha256_of(layer).to_string()]},
            "config": {}});
        self.blob(
            cfg.to_string().as_bytes(),
            "application/vnd.oci.image.config.v1+json",
        )
    }

    fn tag(&mut self, desc: &serde_json::Value, tag: &str) {
        let mut d = desc.clone();
        d["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": tag});
        self.refs.push(d);
        let index = serde_json::json!({"schemaVersion": 2, "manifests": self.refs});
        std::fs::write(self.dir.path().join("index.json"), index.to_string()).unwrap();
    }

    /// skopeo copy of `tag` to `host/repo:tag`, bytes preserved.
    fn push(&self, host: &str, tag: &str, repo: &str) {
        registry::skopeo_copy(
            &["--preserve-digests"],
            &format!("oci:{}:{tag}", self.dir.path().display()),
            &format!("docker://{host}/{repo}:{tag}"),
        );
    }
}

/// Runs openssl in `dir`; whether it succeeded, and its stdout.
fn openssl(dir: &Path, args: &[&str]) -> (bool, Vec<u8>) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    (out.status.success(), out.stdout)
}

/// A fresh P-256 key pair in `dir` as `NAME.pem` / `NAME.pub.pem`; the public key's PEM and
/// its Sigstore key ID (hex SHA-256 of the DER SubjectPublicKeyInfo, computed from openssl's
/// DER).
fn keypair(dir: &Path, name: &str) -> (String, String) {
    let (key, public) = (format!("{name}.pem"), format!("{name}.pub.pem"));
    let ok = openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &key,
        ],
    );
    assert!(ok.0, "openssl genpkey");
    assert!(openssl(dir, &["pkey", "-in", &key, "-pubout", "-out", &public]).0);
    let (ok, der) = openssl(dir, &["pkey", "-pubin", "-in", &public, "-outform", "DER"]);
    assert!(ok);
    let pem = std::fs::read_to_string(dir.join(&public)).unwrap();
    (pem, Digest::sha256_of(&der).encoded().to_string())
}

/// `data` signed by `dir/NAME.pem` (ECDSA over SHA-256, as cosign signs), base64.
fn sign(dir: &Path, name: &str, data: &[u8]) -> String {
    std::fs::write(dir.join("to-sign"), data).unwrap();
    let key = format!("{name}.pem");
    assert!(
        openssl(
            dir,
            &["dgst", "-sha256", "-sign", &key, "-out", "sig", "to-sign"]
        )
        .0
    );
    let (ok, b64) = openssl(dir, &["base64", "-A", "-in", "sig"]);
    assert!(ok);
    String::from_utf8(b64).unwrap().trim().to_string()
}

/// The oracle: whether openssl verifies `sig` (base64) over `data` with `dir/NAME.pub.pem`.
fn openssl_verifies(dir: &Path, name: &str, data: &[u8], sig: &str) -> bool {
    std::fs::write(dir.join("oracle-data"), data).unwrap();
    std::fs::write(dir.join("oracle-sig.b64"), sig).unwrap();
    assert!(
        openssl(
            dir,
            &[
                "base64",
                "-d",
                "-A",
                "-in",
                "oracle-sig.b64",
                "-out",
                "oracle-sig"
            ]
        )
        .0
    );
    let public = format!("{name}.pub.pem");
    openssl(
        dir,
        &[
            "dgst",
            "-sha256",
            "-verify",
            &public,
            "-signature",
            "oracle-sig",
            "oracle-data",
        ],
    )
    .0
}

fn resolver(host: &str) -> Resolver {
    Resolver::new(RegistryOptions {
        insecure: vec![host.to_string()],
        retries: 0,
        timeout: Duration::from_secs(10),
        ..RegistryOptions::default()
    })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The tag-found signature verdicts of a discovery.
fn tag_signatures(p: &Provenance) -> Vec<SignatureVerdict> {
    p.verification
        .as_ref()
        .expect("verification was made")
        .iter()
        .filter(|v| v.source == "tag" && v.kind == SignatureKind::Signature)
        .cloned()
        .collect()
}

#[test]
fn a_cosign_signature_made_by_openssl_is_verified_with_its_key_only() {
    if !ready(NEEDS) {
        return;
    }
    let reg = registry::Registry::start(None);
    let keys = tempfile::tempdir().unwrap();
    let (public, key_id) = keypair(keys.path(), "signer");
    let (other, _) = keypair(keys.path(), "other");

    let mut layout = Layout::new();
    let image = layout.image("signed by openssl");
    layout.tag(&image, "1");
    layout.push(&reg.host, "1", "team/app");
    let served = registry::skopeo_raw(&[], &format!("{}/team/app:1", reg.host));
    let digest = Digest::sha256_of(&served);

    // cosign's simple-signing payload for the image, signed as `cosign sign --key` lays it out.
    let payload = serde_json::to_vec(&serde_json::json!({"critical": {
        "identity": {"docker-reference": format!("{}/team/app", reg.host)},
        "image": {"docker-manifest-digest": digest.to_string()},
        "type": "cosign container image signature"}, "optional": null}))
    .unwrap();
    let sig = sign(keys.path(), "signer", &payload);
    assert!(openssl_verifies(keys.path(), "signer", &payload, &sig));
    assert!(!openssl_verifies(keys.path(), "other", &payload, &sig));
    let sig_manifest = layout.manifest(
        layout.cosign_config(&payload),
        &[(
            &payload,
            SIMPLE_SIGNING,
            serde_json::json!({SIGNATURE_ANNOTATION: sig}),
        )],
    );
    let tag = format!("sha256-{}.sig", digest.encoded());
    layout.tag(&sig_manifest, &tag);
    layout.push(&reg.host, &tag, "team/app");
    assert_eq!(
        Digest::sha256_of(&registry::skopeo_raw(
            &[],
            &format!("{}/team/app:{tag}", reg.host)
        )),
        Digest::parse(sig_manifest["digest"].as_str().unwrap()).unwrap(),
        "the .sig manifest is served as written"
    );

    let image_ref = ImageRef::parse(&format!("{}/team/app:1", reg.host)).unwrap();
    let resolver = resolver(&reg.host);
    let trust = Trust::production();
    let rt = rt();
    let discover =
        |keys: &[String]| rt.block_on(resolver.provenance(&image_ref, &digest, keys, Some(&trust)));

    // With the signer's key: verified, the key recorded.
    let found = discover(std::slice::from_ref(&public));
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(found.provenance.signature, Some(true));
    assert_eq!(found.provenance.attestation, Some(false));
    assert_eq!(found.provenance.sbom, Some(false));
    assert_eq!(found.provenance.referrers, Some(vec![]));
    let v = tag_signatures(&found.provenance);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].verdict, Verdict::Verified, "{v:?}");
    assert_eq!(v[0].key_id.as_deref(), Some(key_id.as_str()));
    assert_eq!((v[0].subject.as_ref(), v[0].reason.as_ref()), (None, None));

    // With another key only: present but unverified, with why.
    let found = discover(std::slice::from_ref(&other));
    let v = tag_signatures(&found.provenance);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].verdict, Verdict::Unverified, "{v:?}");
    assert!(v[0].key_id.is_none() && v[0].reason.is_some(), "{v:?}");

    // Both keys: the one that verifies wins, whatever the order.
    let found = discover(&[other, public]);
    let v = tag_signatures(&found.provenance);
    assert_eq!(v[0].verdict, Verdict::Verified, "{v:?}");
    assert_eq!(v[0].key_id.as_deref(), Some(key_id.as_str()));

    // No key: unverified, "no key".
    let found = discover(&[]);
    let v = tag_signatures(&found.provenance);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].verdict, Verdict::Unverified);
    assert!(
        v[0].reason
            .as_deref()
            .is_some_and(|r| r.starts_with("no key")),
        "{v:?}"
    );

    // An image without signatures: verification made, nothing found.
    let mut layout = Layout::new();
    let plain = layout.image("plain");
    layout.tag(&plain, "1");
    layout.push(&reg.host, "1", "team/plain");
    let plain_digest = Digest::sha256_of(&registry::skopeo_raw(
        &[],
        &format!("{}/team/plain:1", reg.host),
    ));
    let plain_ref = ImageRef::parse(&format!("{}/team/plain:1", reg.host)).unwrap();
    let found = rt.block_on(resolver.provenance(&plain_ref, &plain_digest, &[], Some(&trust)));
    assert_eq!(found.provenance.signature, Some(false));
    assert_eq!(found.provenance.verification, Some(vec![]));
}

#[test]
fn an_unreachable_registry_is_recorded_as_could_not_be_checked() {
    if !ready(NEEDS) {
        return;
    }
    // A registry that ran and stopped: its port now refuses connections.
    let reg = registry::Registry::start(None);
    let host = reg.host.clone();
    drop(reg);
    let image = ImageRef::parse(&format!("{host}/team/app:1")).unwrap();
    let digest = Digest::sha256_of(b"gone");
    let resolver = resolver(&host);
    let targets = [Target {
        image: image.clone(),
        digest: digest.clone(),
        keys: vec![],
    }];
    let found = rt().block_on(resolver.provenance_all(&targets, Some(&Trust::production())));
    let d = &found[&(image.normalized(), digest)];
    // Nothing is "absent": every check is unknown, verification too.
    assert_eq!(d.provenance, Provenance::default());
    assert_eq!(d.provenance.verification, None);
    assert!(d.sboms.is_empty());
    assert!(!d.problems.is_empty());
    assert!(
        d.problems
            .iter()
            .all(|p| p.contains(&host) || p.contains("sha256-")),
        "{:?}",
        d.problems
    );
}
