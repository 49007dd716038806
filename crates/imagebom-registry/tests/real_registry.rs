//! The client against a real registry: Debian's `docker-registry` (distribution 2.8) on
//! loopback, filled by `skopeo copy` from OCI layouts written here. skopeo is the oracle for
//! what the registry serves (`skopeo inspect --raw`).

use imagebom_model::Digest;
use imagebom_registry::{
    Client, ClientOptions, Credential, ErrorCode, ErrorKind, Reference, Repository, RetryPolicy,
};
use imagebom_testkit::layout::{Layout, INDEX, MANIFEST};
use imagebom_testkit::{ready, registry, Need};
use std::time::Duration;

const NEEDS: &[Need] = &[Need::REGISTRY, Need::SKOPEO];
const SBOM: &str = "application/vnd.example.sbom+json";
/// A real registry ([`imagebom_testkit::registry`]) and the user it asks for, if any.
struct Registry {
    _reg: registry::Registry,
    host: String,
    auth: Option<(String, String)>,
}

impl Registry {
    /// A registry; with `basic`, docker-registry's htpasswd auth for the testkit's user.
    fn start(basic: bool) -> Registry {
        let reg = registry::Registry::start(basic.then_some(registry::HTPASSWD));
        Registry {
            host: reg.host.clone(),
            _reg: reg,
            auth: basic.then(|| (registry::USER.into(), registry::PASSWORD.into())),
        }
    }

    fn creds(&self, flag: &str) -> Vec<String> {
        self.auth
            .iter()
            .map(|(u, p)| format!("{flag}={u}:{p}"))
            .collect()
    }

    fn push(&self, layout: &Layout, tag: &str, repo: &str) {
        let creds = self.creds("--dest-creds");
        let mut extra = vec!["--all"];
        extra.extend(creds.iter().map(String::as_str));
        registry::skopeo_copy(
            &extra,
            &layout.reference(tag),
            &format!("docker://{}/{repo}:{tag}", self.host),
        );
    }

    /// What skopeo reads as the manifest of `reference`: the oracle.
    fn raw(&self, reference: &str) -> Vec<u8> {
        let creds = self.creds("--creds");
        let extra: Vec<&str> = creds.iter().map(String::as_str).collect();
        registry::skopeo_raw(&extra, &format!("{}/{reference}", self.host))
    }

    fn client(&self) -> Client {
        Client::new(ClientOptions {
            timeout: Duration::from_secs(20),
            retry: RetryPolicy {
                retries: 0,
                ..RetryPolicy::default()
            },
            insecure: vec![self.host.clone()],
            ..ClientOptions::default()
        })
        .unwrap()
    }

    fn repo(&self, name: &str) -> Repository {
        Repository::new(self.host.clone(), name)
    }
}

/// Stores an SBOM artifact in `layout`: its manifest's descriptor with its `artifactType`.
fn sbom_artifact(layout: &Layout) -> serde_json::Value {
    let empty = layout.blob(b"{}", "application/vnd.oci.empty.v1+json");
    let payload = layout.blob(br#"{"sbom":true}"#, SBOM);
    layout.manifest(Some(SBOM), empty, vec![payload])
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn digest_of(v: &serde_json::Value) -> Digest {
    Digest::parse(v["digest"].as_str().unwrap()).unwrap()
}

/// Manifests by tag and digest, HEAD, blobs, tags (paginated), not-found codes.
#[test]
fn regclient_pulls_verified_manifests_blobs_and_tags() {
    if !ready(NEEDS) {
        return;
    }
    let reg = Registry::start(false);
    let mut layout = Layout::new();
    let amd = layout.image("amd64");
    let arm = layout.image("arm64");
    let index = layout.index(&[amd, arm]);
    for t in ["1.0", "1.1", "2.0"] {
        layout.tag(&index, t);
    }
    for t in ["1.0", "1.1", "2.0"] {
        reg.push(&layout, t, "team/app");
    }
    let oracle = reg.raw("team/app:1.0");
    let client = reg.client();
    let repo = reg.repo("team/app");
    let rt = rt();
    rt.block_on(async {
        let tagged = Reference::tagged(repo.clone(), "1.0").unwrap();
        let m = client.manifest(&tagged, &[INDEX, MANIFEST], 1 << 20).await.unwrap();
        assert_eq!(m.bytes, oracle);
        assert_eq!(m.digest, Digest::sha256_of(&oracle));
        assert_eq!(m.media_type.as_deref(), Some(INDEX));
        let head = client.head_manifest(&tagged, &[INDEX, MANIFEST]).await.unwrap();
        assert_eq!(head.digest, Some(m.digest.clone()));
        assert_eq!(head.size, Some(oracle.len() as u64));

        // By digest: a child manifest as the served index lists it (skopeo may have
        // compressed the layers on the way), verified against the pin.
        let served: serde_json::Value = serde_json::from_slice(&oracle).unwrap();
        let amd = &served["manifests"][0];
        let child = Reference::pinned(repo.clone(), digest_of(amd));
        let cm = client.manifest(&child, &[MANIFEST], 1 << 20).await.unwrap();
        assert_eq!(cm.digest, digest_of(amd));
        assert_eq!(cm.bytes, reg.raw(&format!("team/app@{}", digest_of(amd))));
        let doc: serde_json::Value = serde_json::from_slice(&cm.bytes).unwrap();
        let config = digest_of(&doc["config"]);
        let blob = client.blob(&repo, &config, 1 << 20, "max").await.unwrap();
        assert_eq!(Digest::sha256_of(&blob), config);
        let e = client.blob(&repo, &config, 8, "max_blob").await.unwrap_err();
        assert!(matches!(e.kind, ErrorKind::TooLarge { limit: 8, .. }), "{e}");

        // Not found: the registry's own error codes.
        let gone = Reference::pinned(repo.clone(), Digest::sha256_of(b"nothing"));
        let e = client.manifest(&gone, &[MANIFEST], 1 << 20).await.unwrap_err();
        assert!(
            matches!(&e.kind, ErrorKind::NotFound { codes } if codes.contains(&ErrorCode::ManifestUnknown)),
            "{e:?}"
        );
        let e = client.tags(&reg.repo("team/none")).await.unwrap_err();
        assert!(
            matches!(&e.kind, ErrorKind::NotFound { codes } if codes.contains(&ErrorCode::NameUnknown)),
            "{e:?}"
        );
        let mut tags = client.tags(&repo).await.unwrap();
        tags.sort();
        assert_eq!(tags, ["1.0", "1.1", "2.0"]);
    });
    // Pages of one tag: the Link header is followed to the end.
    let paged = Client::new(ClientOptions {
        insecure: vec![reg.host.clone()],
        tag_page_size: Some(1),
        ..ClientOptions::default()
    })
    .unwrap();
    let mut tags = rt.block_on(paged.tags(&repo)).unwrap();
    tags.sort();
    assert_eq!(tags, ["1.0", "1.1", "2.0"]);
}

/// distribution 2.8 has no referrers API: the tag schema index answers.
#[test]
fn regclient_referrers_fall_back_to_the_tag_schema() {
    if !ready(NEEDS) {
        return;
    }
    let reg = Registry::start(false);
    let mut layout = Layout::new();
    let image = layout.image("amd64");
    layout.tag(&image, "1.0");
    let subject = digest_of(&image);
    let schema_tag = format!("sha256-{}", subject.encoded());
    let referrers = layout.index(&[sbom_artifact(&layout)]);
    layout.tag(&referrers, &schema_tag);
    reg.push(&layout, "1.0", "team/app");
    reg.push(&layout, &schema_tag, "team/app");
    // The oracle: the index skopeo reads at the schema tag (skopeo may rewrite it on the way).
    let served: serde_json::Value =
        serde_json::from_slice(&reg.raw(&format!("team/app:{schema_tag}"))).unwrap();
    let client = reg.client();
    let repo = reg.repo("team/app");
    rt().block_on(async {
        let found = client.referrers(&repo, &subject, None).await.unwrap();
        let want: Vec<(String, Option<String>)> = served["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["digest"].as_str().unwrap().to_string(),
                    m["artifactType"].as_str().map(String::from),
                )
            })
            .collect();
        let got: Vec<(String, Option<String>)> = found
            .iter()
            .map(|d| (d.digest.clone(), d.artifact_type.clone()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(got.len(), 1);
        let none = client
            .referrers(&repo, &subject, Some("application/x-other"))
            .await
            .unwrap();
        assert!(none.is_empty());
        let other = Digest::sha256_of(b"no referrers");
        assert!(client
            .referrers(&repo, &other, None)
            .await
            .unwrap()
            .is_empty());
    });
}

/// Basic auth (docker-registry's htpasswd): refused anonymously with `UNAUTHORIZED`,
/// served with the credential.
#[test]
fn regclient_basic_auth_against_htpasswd() {
    if !ready(NEEDS) {
        return;
    }
    let reg = Registry::start(true);
    let mut layout = Layout::new();
    let image = layout.image("amd64");
    layout.tag(&image, "1.0");
    reg.push(&layout, "1.0", "team/app");
    let oracle = reg.raw("team/app:1.0");
    let tagged = Reference::tagged(reg.repo("team/app"), "1.0").unwrap();
    let rt = rt();
    let anonymous = reg.client();
    anonymous.set_credential(&reg.host, Credential::Anonymous);
    let e = rt
        .block_on(anonymous.manifest(&tagged, &[MANIFEST], 1 << 20))
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Denied { .. }), "{e:?}");
    let wrong = reg.client();
    wrong.set_credential(
        &reg.host,
        Credential::Basic(imagebom_registry::Basic::new("chart-user", "wr0ng")),
    );
    let e = rt
        .block_on(wrong.manifest(&tagged, &[MANIFEST], 1 << 20))
        .unwrap_err();
    assert!(!format!("{e} {e:?}").contains("wr0ng"), "{e:?}");
    let client = reg.client();
    client.set_credential(
        &reg.host,
        Credential::Basic(imagebom_registry::Basic::new("chart-user", "chart-secret")),
    );
    let m = rt
        .block_on(client.manifest(&tagged, &[MANIFEST], 1 << 20))
        .unwrap();
    assert_eq!(m.bytes, oracle);
    let tags = rt.block_on(client.tags(&reg.repo("team/app"))).unwrap();
    assert_eq!(tags, ["1.0"]);
}
