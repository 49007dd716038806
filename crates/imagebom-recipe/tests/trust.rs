//! The recipe's trust policy: `verify`, `owner`, `admissionPolicy`, `imagePolicies`.

use imagebom_model::ImageRef;
use imagebom_recipe::Recipe;
use std::path::Path;

fn load(dir: &Path, trust: &str) -> Result<Recipe, String> {
    std::fs::write(dir.join("m.yaml"), "kind: Pod\n").unwrap();
    let p = dir.join("recipe.yaml");
    std::fs::write(
        &p,
        format!(
            "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {{name: t, version: '1'}}\ncomponents:\n  - name: web\n    manifests: [m.yaml]\n{trust}"
        ),
    )
    .unwrap();
    Recipe::load(&p).map_err(|e| e.to_string())
}

/// `openssl pkey -pubin -outform DER | sha256`: the Sigstore key ID, by the oracle.
fn openssl_key_id(pem: &Path) -> Option<String> {
    let openssl = imagebom_testkit::program("/usr/bin/openssl", "openssl")?;
    let out = std::process::Command::new(openssl)
        .args(["pkey", "-pubin", "-outform", "DER", "-in"])
        .arg(pem)
        .output()
        .unwrap();
    assert!(out.status.success());
    use sha2::Digest;
    Some(hex::encode(sha2::Sha256::digest(&out.stdout)))
}

#[test]
fn trust_policy_reaches_the_inventory() {
    let Some(policies) = imagebom_testkit::shared("policies", "IMAGEBOM_POLICIES", "crds") else {
        return;
    };
    let key = policies.join("examples/policy-controller/examples/cosign.pub");
    let Some(want_id) = openssl_key_id(&key) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(&key, d.path().join("k.pub")).unwrap();
    let r = load(
        d.path(),
        "    verify:\n      identities: [{issuer: https://accounts.google.com, subject: a@example.com}]\n      keys: [k.pub]\n      provenance: {builderId: https://b/1}\n    imagePolicies:\n      - {match: 'docker.io/library/*', owner: ops, admissionPolicy: {kind: ClusterPolicy, name: hub}}\n",
    )
    .unwrap();
    let info = &r.component_infos()[0];
    let trust = info.trust.as_ref().unwrap();
    assert_eq!(trust.policy.keys[0].key_id, want_id);
    assert_eq!(trust.policy.keys[0].source, "k.pub");
    assert_eq!(
        trust.policy.keys[0]
            .pem
            .split_whitespace()
            .collect::<Vec<_>>(),
        std::fs::read_to_string(&key)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
    );
    let prov = trust.policy.provenance.as_ref().unwrap();
    assert_eq!(prov.predicate_type, "https://slsa.dev/provenance/v1");
    let hub = trust.policy_for(&ImageRef::parse("busybox:1").unwrap());
    assert_eq!(hub.owner.as_deref(), Some("ops"));
    assert!(!hub.verifies());
    let other = trust.policy_for(&ImageRef::parse("ghcr.io/a/b:1").unwrap());
    assert!(other.verifies());
}

#[test]
fn recipe_without_trust_has_none() {
    let d = tempfile::tempdir().unwrap();
    let r = load(d.path(), "").unwrap();
    assert!(r.component_infos()[0].trust.is_none());
}

#[test]
fn bad_trust_policies_name_file_and_component() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("junk.pub"), "not a key\n").unwrap();
    let recipe = d.path().join("recipe.yaml").display().to_string();
    for (body, want) in [
        (
            "    verify: {identities: [{issuer: x, subjectRegExp: '(a'}]}\n",
            "components[0].verify.identities[0].subjectRegExp (component \"web\")",
        ),
        (
            "    verify: {keys: [missing.pub]}\n",
            "components[0].verify.keys[0] (component \"web\"): cannot read key",
        ),
        (
            "    verify: {keys: [junk.pub]}\n",
            "junk.pub: not a usable public key",
        ),
        (
            "    verify: {keys: [\"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\"]}\n",
            "inline: holds a private key",
        ),
        ("    verify: {}\n", "names no identity and no key"),
        (
            "    verify: {keys: [junk.pub], provenance: {predicateType: https://x/y}}\n",
            "not a usable public key",
        ),
        (
            "    imagePolicies: [{match: 'ghcr.io/a b/**', owner: x}]\n",
            "imagePolicies[0].match (component \"web\")",
        ),
        (
            "    admissionPolicy: {kind: '', name: x}\n",
            "needs a kind and a name",
        ),
    ] {
        let e = load(d.path(), body).unwrap_err();
        assert!(e.starts_with(&format!("{recipe}:")), "{e}");
        assert!(e.contains(want), "{body}: {e}");
        assert!(!e.contains("AAAA"), "{e}");
    }
}

#[test]
fn schema_knows_the_trust_fields() {
    let text =
        std::fs::read_to_string(imagebom_testkit::workspace().join("schemas/recipe.schema.json"))
            .unwrap();
    let s = jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap();
    let doc = serde_json::json!({
        "apiVersion": "imagebom.dev/v1alpha1", "kind": "Recipe",
        "metadata": {"name": "t", "version": "1"},
        "components": [{"name": "web", "manifests": ["m.yaml"],
            "verify": {"identities": [{"issuer": "i", "subjectRegExp": "^s"}], "keys": ["k.pub"],
                       "provenance": {"builderId": "b"}},
            "owner": "ops", "admissionPolicy": {"kind": "ClusterPolicy", "name": "p"},
            "imagePolicies": [{"match": "docker.io/library/*", "owner": "ops"}]}]
    });
    assert!(s.is_valid(&doc));
    let mut bad = doc.clone();
    bad["components"][0]["verify"]["identities"][0]["subject"] = "x".into();
    assert!(!s.is_valid(&bad), "subject and subjectRegExp together");
    let mut empty = doc.clone();
    empty["components"][0]["verify"] = serde_json::json!({});
    assert!(!s.is_valid(&empty), "verify without identity or key");
}
