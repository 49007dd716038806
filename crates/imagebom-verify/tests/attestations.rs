//! What attestations say, read from the shared documents: SLSA provenance v0.2 and v1
//! (builder, build type, source repository, ref and commit as each document writes them),
//! SBOM and vulnerability predicates recognised by type, and the per-image summary.

use std::path::{Path, PathBuf};

use imagebom_testkit::{ready, Need};
use imagebom_verify::{
    dsse::Envelope, ImageAttestations, PredicateKind, Provenance, Signer, Statement,
};
use serde_json::{json, Value};

const SIGSTORE: Need = Need::Shared {
    name: "sigstore",
    env: "IMAGEBOM_SIGSTORE",
    marker: "cosign/attestations",
};

fn dir() -> PathBuf {
    SIGSTORE.path()
}

fn read(base: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(base.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A statement wrapping a predicate file, as an attestation of it would.
fn wrap(predicate_type: &str, predicate: Value) -> Statement {
    let st = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "x", "digest": {"sha256": "00"}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    });
    Statement::from_json(st.to_string().as_bytes()).unwrap()
}

fn predicate(base: &Path, name: &str) -> Value {
    serde_json::from_slice(&read(
        base,
        &format!("cosign/attestations/predicates/{name}"),
    ))
    .unwrap()
}

/// The statement inside a bundle's or a `.intoto.jsonl` line's DSSE envelope (read, not verified).
fn enveloped(base: &Path, rel: &str) -> Statement {
    let text = String::from_utf8(read(base, rel)).unwrap();
    let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let env = line.get("dsseEnvelope").unwrap_or(&line);
    let env = Envelope::from_json(env.to_string().as_bytes()).unwrap();
    Statement::from_json(&env.payload).unwrap()
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

#[test]
fn slsa_v02_predicate() {
    if !ready(&[SIGSTORE]) {
        return;
    }
    let st = wrap(
        "https://slsa.dev/provenance/v0.2",
        predicate(&dir(), "sigstore-python-slsa_predicate_v0_2.json"),
    );
    assert_eq!(st.kind(), PredicateKind::SlsaProvenanceV02);
    assert_eq!(
        st.provenance().unwrap(),
        Provenance {
            predicate_type: "https://slsa.dev/provenance/v0.2".into(),
            builder_id: some("https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.0.0"),
            build_type: some("https://github.com/slsa-framework/slsa-github-generator/generic@v1"),
            source_repository: some("https://github.com/sigstore/sigstore-python"),
            source_ref: some("refs/tags/v3.2.0"),
            source_commit: some("fc29ec190575ae345cea23f0953b64ca6f2ab8ba"),
            entry_point: some(".github/workflows/release.yml"),
        }
    );
}

#[test]
fn slsa_v1_predicate() {
    if !ready(&[SIGSTORE]) {
        return;
    }
    let st = wrap(
        "https://slsa.dev/provenance/v1",
        predicate(&dir(), "sigstore-python-slsa_predicate_v1_0.json"),
    );
    assert_eq!(st.kind(), PredicateKind::SlsaProvenanceV1);
    assert_eq!(
        st.provenance().unwrap(),
        Provenance {
            predicate_type: "https://slsa.dev/provenance/v1".into(),
            builder_id: some("https://github.com/octo-org/octo-repo/.github/workflows/docker.yaml@refs/heads/development"),
            build_type: some("https://actions.github.io/buildtypes/workflow/v1"),
            source_repository: some("https://github.com/octo-org/octo-repo"),
            source_ref: some("refs/tags/1.21.0"),
            source_commit: some("1ac93ce21ee526b36fd154b9058d97dfaa424c50"),
            entry_point: some(".github/workflows/ci.yaml"),
        }
    );
}

#[test]
fn statements_and_their_predicate_kinds() {
    if !ready(&[SIGSTORE]) {
        return;
    }
    let base = dir();
    let st = |name: &str| {
        Statement::from_json(&read(
            &base,
            &format!("cosign/attestations/statements/{name}"),
        ))
        .unwrap()
    };
    let spdx = st("policy-controller-spdx-statement.json");
    assert_eq!(
        (spdx.statement_type.as_str(), spdx.kind()),
        ("https://in-toto.io/Statement/v0.1", PredicateKind::Spdx)
    );
    assert_eq!(
        spdx.subject[0].name,
        "ghcr.io/chainguard-dev/log4shell-demo/app"
    );
    let conformance = st("sigstore-conformance-statement.json");
    assert_eq!(conformance.kind(), PredicateKind::SlsaProvenanceV1);
    let npm = st("sigstore-go-statement-provenance-sigstorejs1.3.0.json");
    let p = npm.provenance().unwrap();
    assert_eq!(
        p.builder_id.as_deref(),
        Some("https://github.com/actions/runner")
    );
    assert_eq!(
        p.source_repository.as_deref(),
        Some("https://github.com/sigstore/sigstore-js")
    );
    // An unknown statement type is refused with its name.
    let err =
        Statement::from_json(br#"{"_type":"https://example/x","subject":[],"predicateType":"p"}"#)
            .unwrap_err();
    assert!(err.to_string().contains("https://example/x"), "{err}");
}

#[test]
fn sbom_and_vulnerability_predicates_are_recognised() {
    if !ready(&[SIGSTORE]) {
        return;
    }
    let base = dir();
    let mut summary = ImageAttestations::default();
    for (uri, file) in [
        (
            "https://cyclonedx.org/bom",
            "cosign-bom-go-mod.cyclonedx.json",
        ),
        ("https://spdx.dev/Document", "cosign-bom-go-mod.spdx.json"),
        (
            "https://cosign.sigstore.dev/attestation/vuln/v1",
            "cosign-vuln-predicate.json",
        ),
    ] {
        let st = wrap(uri, predicate(&base, file));
        assert_ne!(st.kind(), PredicateKind::Other, "{uri}");
        summary.add_statement(&st);
    }
    assert!(summary.sbom && summary.vulnerabilities);
    assert_eq!(summary.predicate_types.len(), 3);
    assert!(summary.builders.is_empty());
    assert_eq!(
        PredicateKind::of("https://in-toto.io/attestation/vulns/v0.1"),
        PredicateKind::Vulnerabilities
    );
    assert_eq!(
        PredicateKind::of("https://example.invalid/custom"),
        PredicateKind::Other
    );
}

#[test]
fn slsa_verifier_envelopes_and_bundles() {
    if !ready(&[SIGSTORE]) {
        return;
    }
    let base = dir();
    let generic = enveloped(&base, "cosign/attestations/envelopes/slsa-verifier-gha_generic-v1.10.0-workflow_dispatch.intoto.jsonl");
    assert_eq!(generic.kind(), PredicateKind::SlsaProvenanceV02);
    assert!(generic
        .provenance()
        .unwrap()
        .builder_id
        .unwrap()
        .contains("generator_generic_slsa3.yml@refs/tags/v1.10.0"));

    let go = enveloped(
        &base,
        "slsa-verifier/gha_go-v2.1.0-workflow_dispatch.intoto.jsonl",
    )
    .provenance()
    .unwrap();
    assert_eq!(go.builder_id.as_deref(), Some("https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml@refs/tags/v2.1.0"));
    assert_eq!(
        go.source_repository.as_deref(),
        Some("https://github.com/slsa-framework/example-package")
    );
    assert_eq!(
        go.source_commit.as_deref(),
        Some("4d329c75e7ec1725f7c9ce917a8799d408d06be3")
    );

    let v1 = enveloped(
        &base,
        "slsa-verifier/provenance-npm-test-cli-v1-prega.provenance.sigstore.json",
    )
    .provenance()
    .unwrap();
    assert_eq!(
        v1.builder_id.as_deref(),
        Some("https://github.com/actions/runner/github-hosted")
    );
    assert_eq!(
        v1.build_type.as_deref(),
        Some("https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1")
    );
    assert_eq!(
        v1.source_repository.as_deref(),
        Some("https://github.com/sigstore/sigstore-js")
    );
    assert_eq!(v1.source_ref.as_deref(), Some("refs/heads/main"));
    assert_eq!(
        v1.source_commit.as_deref(),
        Some("46e7056ff9912ebfee5298d94024895a9fea76c0")
    );

    let v02 = enveloped(
        &base,
        "slsa-verifier/provenance-npm-test-cli-v02-prega.provenance.sigstore.json",
    )
    .provenance()
    .unwrap();
    assert_eq!(
        v02.builder_id.as_deref(),
        Some("https://github.com/actions/runner")
    );
    assert_eq!(
        v02.build_type.as_deref(),
        Some("https://github.com/npm/cli/gha/v2")
    );
    assert_eq!(
        v02.source_repository.as_deref(),
        Some("https://github.com/laurentsimon/provenance-npm-test")
    );
    assert_eq!(
        v02.source_commit.as_deref(),
        Some("b38894f2dda4355ea5606fccb166e61565e12a14")
    );
}

/// A verified cosign `.att` (slsa-verifier's container image) read into the per-image summary:
/// signer, issuer, builder and source from the verified statement.
#[test]
fn verified_container_provenance_summary() {
    if !ready(&[SIGSTORE]) {
        return;
    }
    use imagebom_verify::cosign::{self, Layer};
    let base = dir().join("cosign/slsa-verifier/gha_generic_container-v1.4.0/container_workflow_dispatch/blobs/sha256");
    let manifest: Value = serde_json::from_slice(&read(
        &base,
        "738d456c898daf28d211c2e0b8ecf5dc67b9a1d631c99ef2c4b4669bcb7a0354",
    ))
    .unwrap();
    let desc = &manifest["layers"][0];
    let blob = read(
        &base,
        "784c5bd14237b9a979fd0251f01dcc7956f06da243ca1e9c52470c410e53c654",
    );
    let ann = desc["annotations"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let layer = Layer {
        media_type: cosign::DSSE_LAYER,
        blob: &blob,
        annotations: &ann,
    };
    let builder = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.4.0";
    let policy = imagebom_verify::Policy::Identities(vec![imagebom_verify::Identity::exact(
        builder,
        "https://token.actions.githubusercontent.com",
    )]);
    let digest = "sha256:a74d89d8dd863ca5dae4a29e0feede81ddf59197849a80784af5a02ab7786925";
    let v = cosign::verify_attestation_layer(
        &layer,
        digest,
        &imagebom_verify::TrustedRoot::production(),
        &policy,
        &Default::default(),
    )
    .unwrap();
    let Signer::Keyless(id) = &v.signer else {
        panic!("keyless expected")
    };
    assert_eq!(
        id.issuer.as_deref(),
        Some("https://token.actions.githubusercontent.com")
    );
    let mut summary = ImageAttestations::default();
    summary.add_signer(&v.signer);
    summary.add_statement(v.statement.as_ref().unwrap());
    assert!(summary.signers.contains(builder));
    assert!(summary
        .predicate_types
        .contains("https://slsa.dev/provenance/v0.2"));
    let p = v.statement.unwrap().provenance().unwrap();
    assert_eq!(p.builder_id.as_deref(), Some(builder));
    assert_eq!(summary.sources.len(), 1, "{summary:?}");
    assert!(!summary.sbom);
}
