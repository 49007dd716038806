//! Runs every case of the purl specification's own test suite (`pkg:oci`, `pkg:docker` and
//! the core grammar) from `$IMAGEBOM_CONFORMANCE` (default `../shared/conformance` beside the
//! workspace). A missing suite is said on stderr and fails under `CI=true` (imagebom-testkit).

use imagebom_model::purl::PackageUrl;
use serde_json::Value;
use std::path::PathBuf;

/// The suite, or `None` (said on stderr; a failure under `CI=true`) when it is missing.
fn suite_dir() -> Option<PathBuf> {
    imagebom_testkit::shared("conformance", "IMAGEBOM_CONFORMANCE", "purl").map(|d| d.join("purl"))
}

fn build(expected: &Value) -> Result<String, String> {
    let ty = expected["type"].as_str().ok_or("no type")?;
    let name = expected["name"].as_str().ok_or("no name")?;
    let mut p = PackageUrl::new(ty.to_string(), name.to_string()).map_err(|e| e.to_string())?;
    if let Some(ns) = expected["namespace"].as_str() {
        p.with_namespace(ns.to_string())
            .map_err(|e| e.to_string())?;
    }
    if let Some(v) = expected["version"].as_str() {
        p.with_version(v.to_string()).map_err(|e| e.to_string())?;
    }
    if let Some(q) = expected["qualifiers"].as_object() {
        for (k, v) in q {
            p.add_qualifier(k.clone(), v.as_str().unwrap_or_default().to_string())
                .map_err(|e| e.to_string())?;
        }
    }
    if let Some(s) = expected["subpath"].as_str() {
        p.with_subpath(s.to_string()).map_err(|e| e.to_string())?;
    }
    Ok(p.to_string())
}

fn components(p: &PackageUrl) -> Value {
    let q: serde_json::Map<String, Value> = p
        .qualifiers()
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    serde_json::json!({
        "type": p.ty(),
        "namespace": p.namespace(),
        "name": p.name(),
        "version": p.version(),
        "qualifiers": if q.is_empty() { Value::Null } else { Value::Object(q) },
        "subpath": p.subpath(),
    })
}

#[test]
fn purl_spec_suite_passes_every_case() {
    let Some(suite) = suite_dir() else { return };
    let mut ran = 0;
    let mut failures = Vec::new();
    for file in [
        "oci-test.json",
        "docker-test.json",
        "specification-test.json",
    ] {
        let text = std::fs::read_to_string(suite.join(file)).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        for case in doc["tests"].as_array().unwrap() {
            ran += 1;
            let desc = format!("{file}: {} ({})", case["description"], case["test_type"]);
            let fail = case["expected_failure"].as_bool().unwrap_or(false);
            let outcome: Result<Value, String> = match case["test_type"].as_str().unwrap() {
                "parse" => {
                    let input = case["input"].as_str().unwrap();
                    input
                        .parse::<PackageUrl>()
                        .map(|p| components(&p))
                        .map_err(|e| e.to_string())
                }
                "validate" | "roundtrip" => {
                    let input = case["input"].as_str().unwrap();
                    input
                        .parse::<PackageUrl>()
                        .map(|p| Value::String(p.to_string()))
                        .map_err(|e| e.to_string())
                }
                "build" => build(&case["input"]).map(Value::String),
                other => panic!("{desc}: unknown test type {other}"),
            };
            match (fail, outcome) {
                (true, Ok(v)) => failures.push(format!("{desc}: expected failure, got {v}")),
                (true, Err(_)) => {}
                (false, Err(e)) => failures.push(format!("{desc}: unexpected error {e}")),
                (false, Ok(v)) => {
                    if v != case["expected_output"] {
                        failures.push(format!(
                            "{desc}: got {v}, expected {}",
                            case["expected_output"]
                        ))
                    }
                }
            }
        }
    }
    assert!(ran >= 43, "only {ran} cases ran");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn our_image_purls_are_canonical() {
    use imagebom_model::{purl::oci_purl, Digest, ImageRef};
    // The suite's canonical example, built from an image reference.
    let r = ImageRef::parse("debian:latest").unwrap();
    let d = Digest::parse(&format!("sha256:{}", "2".repeat(64))).unwrap();
    let ours = oci_purl(&r, Some(&d));
    let reparsed: PackageUrl = ours.parse().unwrap();
    assert_eq!(
        reparsed.to_string(),
        ours,
        "our purl is not in canonical form"
    );
    assert_eq!(reparsed.version(), Some(d.to_string().as_str()));
}
