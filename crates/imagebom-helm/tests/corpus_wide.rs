//! Fidelity of the native renderer on the wide corpus (`shared/corpus-wide`, 20 real charts):
//! every chart is rendered with `values/<name>.yaml` when present and compared with Helm's
//! render `rendered/<name>.yaml`, byte for byte except the values Helm randomises; those are
//! named in [`RANDOM`] and compared by shape (type, length, alphabet). The pod-spec images of
//! the native render must equal `expected/<name>.images.txt`, and each error case
//! (`errors/<name>.novalues.error.txt`) must fail with Helm's text. The charts that still
//! differ are listed in [`KNOWN`], which the test checks exactly.
//!
//! Path: `$IMAGEBOM_CORPUS_WIDE` (default `<workspace>/../shared/corpus-wide`). A missing
//! corpus fails.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use imagebom_extract::{extract, split_stream, Limits, Origin};
use imagebom_helm::{load_values, render, to_stream, Chart, HelmError, RenderOptions};
use imagebom_model::Category;
use imagebom_template::convert::{from_yaml_str, to_json};
use imagebom_template::Dict;
use imagebom_testkit::Need;
use serde_json::Value as Json;

/// What these tests need beyond the repository (imagebom-testkit: said and skipped when
/// missing, a failure under `CI=true`).
const NEEDS: &[Need] = &[Need::CORPUS_WIDE, Need::Venv];

/// How a value Helm randomises is compared: both sides must have this shape.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// `randAlphaNum N | b64enc`: base64 of N ASCII letters and digits.
    Base64AlphaNum,
    /// `sha256sum` of a document holding random values: 64 lowercase hex digits.
    Sha256Hex,
    /// `PREFIX` then `randAlphaNum N | lower`: N lowercase letters and digits.
    LowerAlphaNumAfter(&'static str),
    /// A certificate or private key of `genCA`/`genSignedCert`/`genSelfSignedCert`, PEM or
    /// base64 of PEM: compared by its decoded structure, random parts masked
    /// (`tests/oracle/x509_structure.py`, Python `cryptography`).
    Pem,
}

/// Values the Helm SDK randomises with default values: chart, template, JSON pointer (applied
/// to every document of the template that has it), shape. Nothing else may differ.
type Random = (&'static str, &'static str, &'static str, Shape);

const RANDOM: &[Random] = &[
    (
        "grafana",
        "grafana/templates/secret.yaml",
        "/data/admin-password",
        Shape::Base64AlphaNum,
    ),
    (
        "grafana",
        "grafana/templates/deployment.yaml",
        "/spec/template/metadata/annotations/checksum~1secret",
        Shape::Sha256Hex,
    ),
    (
        "jenkins",
        "jenkins/templates/secret.yaml",
        "/data/jenkins-admin-password",
        Shape::Base64AlphaNum,
    ),
    (
        "jenkins",
        "jenkins/templates/tests/jenkins-test.yaml",
        "/metadata/name",
        Shape::LowerAlphaNumAfter("release-name-ui-test-"),
    ),
    (
        "kafka",
        "kafka/templates/controller-eligible/statefulset.yaml",
        "/spec/template/metadata/annotations/checksum~1secret",
        Shape::Sha256Hex,
    ),
    (
        "kafka",
        "kafka/templates/secrets.yaml",
        "/data/client-passwords",
        Shape::Base64AlphaNum,
    ),
    (
        "kafka",
        "kafka/templates/secrets.yaml",
        "/data/system-user-password",
        Shape::Base64AlphaNum,
    ),
    (
        "kafka",
        "kafka/templates/secrets.yaml",
        "/data/inter-broker-password",
        Shape::Base64AlphaNum,
    ),
    (
        "kafka",
        "kafka/templates/secrets.yaml",
        "/data/controller-password",
        Shape::Base64AlphaNum,
    ),
    (
        "kafka",
        "kafka/templates/secrets.yaml",
        "/data/cluster-id",
        Shape::Base64AlphaNum,
    ),
    (
        "kafka",
        "kafka/templates/secrets.yaml",
        "/data/controller-0-id",
        Shape::Base64AlphaNum,
    ),
    (
        "kafka",
        "kafka/templates/secrets.yaml",
        "/data/controller-1-id",
        Shape::Base64AlphaNum,
    ),
    (
        "kafka",
        "kafka/templates/secrets.yaml",
        "/data/controller-2-id",
        Shape::Base64AlphaNum,
    ),
    (
        "mysql",
        "mysql/templates/secrets.yaml",
        "/data/mysql-root-password",
        Shape::Base64AlphaNum,
    ),
    (
        "mysql",
        "mysql/templates/secrets.yaml",
        "/data/mysql-password",
        Shape::Base64AlphaNum,
    ),
    (
        "postgresql",
        "postgresql/templates/secrets.yaml",
        "/data/postgres-password",
        Shape::Base64AlphaNum,
    ),
    (
        "wordpress",
        "wordpress/templates/secrets.yaml",
        "/data/wordpress-password",
        Shape::Base64AlphaNum,
    ),
    (
        "wordpress",
        "wordpress/charts/mariadb/templates/secrets.yaml",
        "/data/mariadb-root-password",
        Shape::Base64AlphaNum,
    ),
    (
        "wordpress",
        "wordpress/charts/mariadb/templates/secrets.yaml",
        "/data/mariadb-password",
        Shape::Base64AlphaNum,
    ),
];

/// Charts whose native render, image set or error still differs from Helm's: chart, reason,
/// owner (the helper fixing it). Checked exactly: a chart listed here that no longer differs
/// fails the test, and so does an unlisted chart that differs.
const KNOWN: &[(&str, &str, &str)] = &[];

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

fn chart_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(Need::CORPUS_WIDE.path().join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The chart's values file (`values/<name>.yaml`), if it has one.
fn values_of(name: &str) -> Option<String> {
    let p = Need::CORPUS_WIDE.path().join(format!("values/{name}.yaml"));
    p.is_file().then(|| read(&p))
}

fn native(name: &str, values: Option<&str>) -> Result<String, HelmError> {
    let chart = Chart::load_dir(Need::CORPUS_WIDE.path().join("charts").join(name))?;
    let values = match values {
        Some(v) => load_values(&format!("values/{name}.yaml"), v.as_bytes())?,
        None => Dict::new(),
    };
    let opts = RenderOptions {
        values,
        ..RenderOptions::default()
    };
    Ok(to_stream(&render(&chart, &opts)?))
}

/// Documents per `# Source:` (a document without one belongs to the template before it),
/// parsed as YAML with Helm's number semantics, as JSON.
fn documents(stream: &str) -> BTreeMap<String, Vec<Json>> {
    let mut out: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for d in split_stream(stream) {
        let source = d.source.clone().unwrap_or_else(|| "?".into());
        let v = match from_yaml_str(d.text) {
            Ok(v) => to_json(&v),
            Err(e) => Json::String(format!("<unparsable: {e}>\n{}", d.text)),
        };
        if !v.is_null() {
            out.entry(source).or_default().push(v);
        }
    }
    out
}

/// The randomised values of `chart` found in `docs`, each replaced by `<random>`: returns
/// (RANDOM index, value) for every value found.
fn take_random(
    random: &[Random],
    chart: &str,
    docs: &mut BTreeMap<String, Vec<Json>>,
) -> Vec<(usize, Json)> {
    let mut found = Vec::new();
    for (i, (c, source, pointer, _)) in random.iter().enumerate() {
        if *c != chart {
            continue;
        }
        for d in docs.get_mut(*source).into_iter().flatten() {
            if let Some(v) = d.pointer_mut(pointer) {
                found.push((i, std::mem::replace(v, Json::String("<random>".into()))));
            }
        }
    }
    found
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 {
        return None;
    }
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in body.bytes() {
        bits = bits << 6 | ALPHABET.iter().position(|&a| a == c)? as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    Some(out)
}

/// Why `v` does not have `shape` (None when it has).
fn shape_error(shape: Shape, v: &Json) -> Option<String> {
    let Some(s) = v.as_str() else {
        return Some(format!("not a string: {v}"));
    };
    let ok = match shape {
        Shape::Base64AlphaNum => base64_decode(s)
            .is_some_and(|d| !d.is_empty() && d.iter().all(u8::is_ascii_alphanumeric)),
        Shape::Sha256Hex => {
            s.len() == 64
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        Shape::Pem => {
            s.starts_with("-----BEGIN ")
                || base64_decode(s).is_some_and(|d| d.starts_with(b"-----BEGIN "))
        }
        Shape::LowerAlphaNumAfter(prefix) => s.strip_prefix(prefix).is_some_and(|r| {
            !r.is_empty()
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        }),
    };
    (!ok).then(|| format!("{s:?} is not {shape:?}"))
}

/// Helm's random value against ours: both of the shape and of the same length (decoded
/// length for base64).
fn same_shape(shape: Shape, want: &Json, got: &Json) -> Option<String> {
    if let Some(e) = shape_error(shape, want) {
        return Some(format!("helm: {e}"));
    }
    if let Some(e) = shape_error(shape, got) {
        return Some(format!("native: {e}"));
    }
    if let Shape::Pem = shape {
        let [a, b] = pem_structures([want, got]);
        return (a != b).then(|| format!("PEM structure: {}", first_difference(&a, &b, "")));
    }
    let len = |v: &Json| {
        let s = v.as_str().unwrap_or_default();
        match shape {
            Shape::Base64AlphaNum => base64_decode(s).map_or(0, |d| d.len()),
            _ => s.len(),
        }
    };
    (len(want) != len(got)).then(|| format!("length {} vs {}", len(want), len(got)))
}

/// The decoded structures of two PEM values, random parts masked (`tests/oracle/x509_structure.py`,
/// the script the certificate tests use).
fn pem_structures(values: [&Json; 2]) -> [Json; 2] {
    use std::io::Write as _;
    let mut child = Command::new(Need::Venv.path())
        .arg(imagebom_testkit::workspace().join("tests/oracle/x509_structure.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running x509_structure.py");
    let jobs: Vec<Json> = values
        .iter()
        .map(|v| serde_json::json!({ "value": v }))
        .collect();
    let input = serde_json::to_vec(&jobs).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "x509_structure.py failed");
    let v: Vec<Json> = serde_json::from_slice(&out.stdout).unwrap();
    for r in &v {
        assert!(r.get("error").is_none(), "x509_structure.py: {r}");
    }
    [v[0].clone(), v[1].clone()]
}

/// Replaces every occurrence of the random values in a stream by `<random>` (byte comparison
/// up to randomness).
fn mask_text(text: &str, values: &[(usize, Json)]) -> String {
    let mut t = text.to_string();
    for (_, v) in values {
        if let Some(s) = v.as_str().filter(|s| s.len() >= 8) {
            t = t.replace(s, "<random>");
        }
    }
    t
}

/// How a chart's render compares with Helm's.
#[derive(Debug, PartialEq)]
enum Fidelity {
    /// The streams are equal byte for byte.
    Bytes,
    /// Equal byte for byte once the N random values are masked, which have Helm's shapes.
    UpToRandom(usize),
    /// Different; the report says how.
    Differs(String),
}

fn compare_render(random: &[Random], chart: &str, want: &str, got: &str) -> Fidelity {
    if want == got {
        return Fidelity::Bytes;
    }
    let (mut w, mut g) = (documents(want), documents(got));
    let (wr, gr) = (
        take_random(random, chart, &mut w),
        take_random(random, chart, &mut g),
    );
    let mut report = String::new();
    for (i, (c, source, pointer, shape)) in random.iter().enumerate() {
        if *c != chart {
            continue;
        }
        let (a, b): (Vec<&Json>, Vec<&Json>) = (
            wr.iter().filter(|r| r.0 == i).map(|r| &r.1).collect(),
            gr.iter().filter(|r| r.0 == i).map(|r| &r.1).collect(),
        );
        if a.is_empty() {
            let _ = writeln!(
                report,
                "  RANDOM entry not in Helm's render: {source} {pointer}"
            );
        }
        if a.len() != b.len() {
            let _ = writeln!(
                report,
                "  {source} {pointer}: {} vs {} values",
                a.len(),
                b.len()
            );
        }
        for (x, y) in a.iter().zip(&b) {
            if let Some(e) = same_shape(*shape, x, y) {
                let _ = writeln!(report, "  {source} {pointer}: {e}");
            }
        }
    }
    report.push_str(&diff_documents(&w, &g));
    if report.is_empty() && mask_text(want, &wr) != mask_text(got, &gr) {
        let _ = writeln!(
            report,
            "  documents equal as parsed, bytes differ at line {}",
            first_line_difference(&mask_text(want, &wr), &mask_text(got, &gr))
        );
    }
    if report.is_empty() {
        Fidelity::UpToRandom(wr.len())
    } else {
        Fidelity::Differs(report)
    }
}

fn first_line_difference(a: &str, b: &str) -> String {
    let (mut la, mut lb) = (a.lines(), b.lines());
    for n in 1.. {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => break,
            (x, y) => return format!("{n}: helm {x:?} / native {y:?}"),
        }
    }
    "?".into()
}

fn diff_documents(w: &BTreeMap<String, Vec<Json>>, g: &BTreeMap<String, Vec<Json>>) -> String {
    let mut report = String::new();
    let ws: BTreeSet<&String> = w.keys().collect();
    let gs: BTreeSet<&String> = g.keys().collect();
    for m in ws.difference(&gs) {
        let _ = writeln!(report, "  missing source: {m}");
    }
    for u in gs.difference(&ws) {
        let _ = writeln!(report, "  unexpected source: {u}");
    }
    for s in ws.intersection(&gs) {
        let (a, b) = (&w[*s], &g[*s]);
        if a != b {
            let _ = writeln!(report, "  {s}: {} vs {} documents", a.len(), b.len());
            for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
                if x != y {
                    let _ = writeln!(report, "    doc {i}: {}", first_difference(x, y, ""));
                }
            }
        }
    }
    report
}

fn first_difference(a: &Json, b: &Json, path: &str) -> String {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let p = format!("{path}/{k}");
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) if u != v => return first_difference(u, v, &p),
                    (Some(u), None) => return format!("{p}: missing (helm: {})", short(u)),
                    (None, Some(v)) => return format!("{p}: unexpected ({})", short(v)),
                    _ => {}
                }
            }
            format!("{path}: differ")
        }
        (Json::Array(x), Json::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                if u != v {
                    return first_difference(u, v, &format!("{path}/{i}"));
                }
            }
            format!("{path}: differ")
        }
        _ => format!("{path}: helm {} / native {}", short(a), short(b)),
    }
}

fn short(v: &Json) -> String {
    let t = v.to_string();
    match t.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t,
    }
}

/// The pod-spec images of a stream (what `expected/<name>.images.txt` lists).
fn pod_images(name: &str, stream: &str) -> Result<BTreeSet<String>, String> {
    let origin = Origin {
        component: name.into(),
        file: format!("{name}.yaml"),
    };
    let x = extract(stream, &origin, &Limits::default()).map_err(|e| e.to_string())?;
    Ok(x.images
        .iter()
        .filter(|(_, o)| o.category == Category::Pod)
        .map(|(_, o)| o.original.clone())
        .collect())
}

fn expected_images(name: &str) -> BTreeSet<String> {
    read(
        &Need::CORPUS_WIDE
            .path()
            .join(format!("expected/{name}.images.txt")),
    )
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(str::to_string)
    .collect()
}

fn image_report(name: &str, stream: &str) -> String {
    let mut r = String::new();
    let want = expected_images(name);
    match pod_images(name, stream) {
        Ok(have) => {
            for m in want.difference(&have) {
                let _ = writeln!(r, "  image missing: {m}");
            }
            for u in have.difference(&want) {
                let _ = writeln!(r, "  image unexpected: {u}");
            }
        }
        Err(e) => {
            let _ = writeln!(r, "  extraction failed: {e}");
        }
    }
    r
}

/// The error case: rendered without its values file, the chart fails with Helm's text. The
/// file holds what the SDK's Python binding prints: `<exception class>: <Helm's message>`.
fn error_report(name: &str) -> String {
    let p = Need::CORPUS_WIDE
        .path()
        .join(format!("errors/{name}.novalues.error.txt"));
    if !p.is_file() {
        return String::new();
    }
    let text = read(&p);
    let want = text
        .split_once(": ")
        .filter(|(class, _)| class.starts_with("Helm") && class.ends_with("Error"))
        .and_then(|(_, m)| m.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{}: not `HelmXError: message`", p.display()));
    match native(name, None) {
        Ok(_) => format!("  without values: rendered, Helm fails with {want:?}\n"),
        Err(e) if e.to_string() == want => String::new(),
        Err(e) => format!(
            "  without values: error {:?}\n    Helm: {want:?}\n",
            e.to_string()
        ),
    }
}

/// One chart: its fidelity and the report of everything that differs ("" when nothing).
fn check_chart(name: &str) -> (Fidelity, String) {
    let want = read(
        &Need::CORPUS_WIDE
            .path()
            .join(format!("rendered/{name}.yaml")),
    );
    let values = values_of(name);
    let (fidelity, images) = match native(name, values.as_deref()) {
        Ok(got) => (
            compare_render(RANDOM, name, &want, &got),
            image_report(name, &got),
        ),
        Err(e) => (
            Fidelity::Differs(format!("  native render failed: {e}\n")),
            String::new(),
        ),
    };
    let mut report = match &fidelity {
        Fidelity::Differs(r) => r.clone(),
        _ => String::new(),
    };
    report.push_str(&images);
    report.push_str(&error_report(name));
    (fidelity, report)
}

#[test]
fn every_wide_chart_renders_as_helm_does() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let names = chart_names();
    assert!(names.len() >= 20, "wide corpus charts: {names:?}");
    let mut failures = String::new();
    let (mut bytes, mut random, mut known) = (0, 0, 0);
    for name in &names {
        let (fidelity, report) = check_chart(name);
        let listed = KNOWN.iter().find(|k| k.0 == name);
        let status = match (&fidelity, report.is_empty()) {
            (Fidelity::Bytes, true) => "equal byte for byte".to_string(),
            (Fidelity::UpToRandom(n), true) => format!("equal up to {n} random values"),
            (Fidelity::Bytes | Fidelity::UpToRandom(_), false) => {
                "render equal; other checks differ".into()
            }
            (Fidelity::Differs(_), _) => "differs".into(),
        };
        eprintln!("{name}: {status}");
        match (listed, report.is_empty()) {
            (None, true) => match fidelity {
                Fidelity::Bytes => bytes += 1,
                _ => random += 1,
            },
            (Some((_, reason, owner)), false) => {
                known += 1;
                eprintln!("  known ({owner}: {reason}):\n{report}");
            }
            (None, false) => {
                let _ = write!(failures, "{name} differs from Helm:\n{report}");
            }
            (Some((_, reason, owner)), true) => {
                let _ = writeln!(
                    failures,
                    "{name} now renders as Helm does: remove it from KNOWN ({owner}: {reason})"
                );
            }
        }
    }
    for (chart, ..) in KNOWN {
        assert!(
            names.iter().any(|n| n == chart),
            "KNOWN names no chart: {chart}"
        );
    }
    eprintln!(
        "{} charts: {bytes} equal byte for byte, {random} equal up to randomness, {known} known differences",
        names.len()
    );
    assert!(failures.is_empty(), "{failures}");
}

/// The shape checks are not vacuous: they reject what Helm would not produce.
#[test]
fn random_shapes_reject_other_values() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let s = |v: &str| Json::String(v.into());
    let b64 = Shape::Base64AlphaNum;
    assert_eq!(
        base64_decode("SmpZMU1hdk1Mdg=="),
        Some(b"JjY1MavMLv".to_vec())
    );
    assert!(same_shape(b64, &s("SmpZMU1hdk1Mdg=="), &s("ZFozMWhEZjFwdw==")).is_none());
    assert!(same_shape(b64, &s("SmpZMU1hdk1Mdg=="), &s("ZFozMWhEZjFwdzE=")).is_some());
    assert!(same_shape(b64, &s("SmpZMU1hdk1Mdg=="), &s("LS0tLS0tLS0tLQ==")).is_some());
    assert!(same_shape(b64, &s("SmpZMU1hdk1Mdg=="), &Json::Null).is_some());
    let hex = Shape::Sha256Hex;
    let h = "a".repeat(64);
    assert!(same_shape(hex, &s(&h), &s(&"0".repeat(64))).is_none());
    assert!(same_shape(hex, &s(&h), &s(&"A".repeat(64))).is_some());
    let name = Shape::LowerAlphaNumAfter("release-name-ui-test-");
    let n = s("release-name-ui-test-msal2");
    assert!(same_shape(name, &n, &s("release-name-ui-test-gq7pb")).is_none());
    assert!(same_shape(name, &n, &s("release-name-ui-test-GQ7PB")).is_some());
    assert!(same_shape(name, &n, &s("release-name-ui-test-gq7p")).is_some());
}

/// Values that make charts generate certificates and keys (none does with its defaults):
/// chart, values, the randomised values of that render besides [`RANDOM`]'s.
const CERT_CASES: &[(&str, &str, &[Random])] = &[
    (
        "metrics-server",
        "tls:\n  type: helm\n",
        &[
            (
                "metrics-server",
                "metrics-server/templates/apiservice.yaml",
                "/data/tls.crt",
                Shape::Pem,
            ),
            (
                "metrics-server",
                "metrics-server/templates/apiservice.yaml",
                "/data/tls.key",
                Shape::Pem,
            ),
            (
                "metrics-server",
                "metrics-server/templates/apiservice.yaml",
                "/spec/caBundle",
                Shape::Pem,
            ),
        ],
    ),
    (
        "mysql",
        "tls:\n  enabled: true\n",
        &[
            (
                "mysql",
                "mysql/templates/tls-secret.yaml",
                "/data/ca.crt",
                Shape::Pem,
            ),
            (
                "mysql",
                "mysql/templates/tls-secret.yaml",
                "/data/tls.crt",
                Shape::Pem,
            ),
            (
                "mysql",
                "mysql/templates/tls-secret.yaml",
                "/data/tls.key",
                Shape::Pem,
            ),
        ],
    ),
];

/// Certificate cases that still differ: chart, reason, owner (checked exactly, as [`KNOWN`]).
const KNOWN_CERTS: &[(&str, &str, &str)] = &[];

/// Renders with the real Helm SDK (`shared/oracle/helm_render.py`).
fn oracle_render(name: &str, values: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let (vf, out) = (tmp.path().join("values.yaml"), tmp.path().join("out.yaml"));
    std::fs::write(&vf, values).unwrap();
    let o = Command::new(Need::Venv.path())
        .arg(Need::CORPUS_WIDE.path().join("../oracle/helm_render.py"))
        .arg(Need::CORPUS_WIDE.path().join("charts").join(name))
        .arg(&out)
        .arg(&vf)
        .output()
        .expect("running the Helm SDK oracle");
    assert!(
        o.status.success(),
        "oracle on {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    read(&out)
}

/// Generated certificates and keys have Helm's structure (subject, issuer, SANs, validity,
/// key type and size, extensions), compared with a live render of the Helm SDK.
#[test]
fn generated_certificates_have_helms_structure() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let mut failures = String::new();
    for (name, values, certs) in CERT_CASES {
        let random: Vec<Random> = RANDOM.iter().chain(certs.iter()).copied().collect();
        let want = oracle_render(name, values);
        let report = match native(name, Some(values)) {
            Ok(got) => match compare_render(&random, name, &want, &got) {
                Fidelity::Differs(r) => r,
                _ => String::new(),
            },
            Err(e) => format!("  native render failed: {e}\n"),
        };
        match (KNOWN_CERTS.iter().find(|k| k.0 == *name), report.is_empty()) {
            (None, true) => eprintln!("{name}: certificates as Helm's"),
            (Some((_, reason, owner)), false) => {
                eprintln!("{name}: known ({owner}: {reason})\n{report}")
            }
            (None, false) => {
                let _ = write!(
                    failures,
                    "{name} with {values:?} differs from Helm:\n{report}"
                );
            }
            (Some((_, reason, owner)), true) => {
                let _ = writeln!(
                    failures,
                    "{name} now renders as Helm does: remove it from KNOWN_CERTS ({owner}: {reason})"
                );
            }
        }
    }
    assert!(failures.is_empty(), "{failures}");
}
