//! Every bundle case of `../shared/sigstore/cases.json` gets the verdict the real sigstore-python
//! 4.5.1 recorded there (`tests/integration/test_sigstore.py` re-runs that oracle live).

use std::path::Path;

use imagebom_testkit::{ready, Need};
use imagebom_verify::{
    verify_bundle, Artifact, HashAlg, Identity, Options, Policy, PublicKey, TrustedRoot,
};
use serde_json::Value;

const SIGSTORE: Need = Need::Shared {
    name: "sigstore",
    env: "IMAGEBOM_SIGSTORE",
    marker: "cases.json",
};

fn dir() -> std::path::PathBuf {
    SIGSTORE.path()
}

fn read(base: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(base.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Runs one case; `Ok` when imagebom verifies it.
fn run(base: &Path, case: &Value) -> Result<(), String> {
    let s = |k: &str| case.get(k).and_then(Value::as_str);
    let bundle = read(base, s("bundle").unwrap());
    let root = TrustedRoot::from_json(&read(base, s("trusted_root").unwrap()))
        .map_err(|e| format!("root: {e}"))?;
    let artifact_bytes;
    let artifact = match (s("artifact"), case.get("artifact_digest")) {
        (_, Some(d)) if !d.is_null() => {
            let alg = HashAlg::from_name(d["algorithm"].as_str().unwrap()).unwrap();
            Artifact::Digest(alg, hex::decode(d["value"].as_str().unwrap()).unwrap())
        }
        (Some(path), _) => {
            artifact_bytes = read(base, path);
            Artifact::Bytes(&artifact_bytes)
        }
        _ => panic!("case without artifact: {case}"),
    };
    let policy = match (s("key"), s("identity"), s("issuer")) {
        (Some(key), _, _) => Policy::Key(
            PublicKey::from_pem(&String::from_utf8(read(base, key)).unwrap())
                .map_err(|e| format!("key: {e}"))?,
        ),
        (None, Some(id), Some(iss)) => Policy::Identities(vec![Identity::exact(id, iss)]),
        _ => Policy::Identities(vec![]),
    };
    verify_bundle(&bundle, &artifact, &root, &policy, &Options::default())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn every_case_matches_sigstore_python() {
    if !ready(&[SIGSTORE]) {
        return;
    }
    let base = dir();
    let doc: Value = serde_json::from_slice(&read(&base, "cases.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 91, "cases.json should hold 91 cases");
    let mut wrong = Vec::new();
    let (mut ok, mut fail) = (0, 0);
    for case in cases {
        let want = case["oracle"]["verdict"].as_str().unwrap();
        assert_eq!(
            want,
            case["expect"].as_str().unwrap(),
            "{}: the oracle and the expectation differ",
            case["case"]
        );
        let got = run(&base, case);
        match (&got, want) {
            (Ok(()), "ok") => ok += 1,
            (Err(e), "fail") => {
                fail += 1;
                eprintln!("  rejected {}: {e}", case["case"].as_str().unwrap());
            }
            _ => wrong.push(format!(
                "{}: sigstore-python says {want}, imagebom {:?}",
                case["case"].as_str().unwrap(),
                got
            )),
        }
    }
    eprintln!(
        "sigstore cases: {ok} verified, {fail} rejected, {} disagree",
        wrong.len()
    );
    assert!(
        wrong.is_empty(),
        "{} of {} cases disagree:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

/// The 17 cases sigstore-python gets wrong or cannot run (Rekor v1 `intoto` entries, v0.1
/// bundles with only a promise, managed keys, otherName SANs, in-toto Statement v0.1, an
/// inclusive TSA validity end): imagebom gives the upstream verdict, which sigstore-js confirms
/// for 15 of them.
#[test]
fn the_sigstore_python_disagreements_follow_upstream() {
    if !ready(&[SIGSTORE]) {
        return;
    }
    let base = dir();
    let doc: Value = serde_json::from_slice(&read(&base, "cases.disagreements.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 17);
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let want = case["expect"].as_str().unwrap();
            let got = run(&base, case);
            (got.is_ok() != (want == "ok")).then(|| {
                format!(
                    "{}: upstream {want}, imagebom {got:?}",
                    case["case"].as_str().unwrap()
                )
            })
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
