//! Generated certificates (`genCA`, `genSelfSignedCert`, `genSignedCert`, with and without
//! key) against the real Helm v4 SDK: the same templates rendered natively and by the oracle
//! (`shared/oracle/helm_render.py`) must give the same decoded X.509 structures with the random
//! parts masked (`tests/oracle/x509_structure.py`, Python `cryptography`): extensions and their
//! order, criticality and DER values, name string types, time tags, validity length, key and
//! signature algorithms, and key identifiers derived from the keys as the SDK's Go derives them.
//! Certificates made from a given key, whose `.Key` is not random, must give the same `.Key`.
//!
//! Paths: the oracle's Python in `$IMAGEBOM_VENV` (default `<workspace>/.venv`), the wide corpus
//! in `$IMAGEBOM_CORPUS_WIDE` (default `<workspace>/../shared/corpus-wide`). A missing oracle or
//! corpus fails.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use imagebom_helm::{load_values, render, to_stream, Chart, RenderOptions};
use imagebom_testkit::Need;
use serde_json::{json, Value as Json};

/// What these tests need beyond the repository (imagebom-testkit: said and skipped when
/// missing, a failure under `CI=true`).
const NEEDS: &[Need] = &[Need::CORPUS_WIDE, Need::ORACLE, Need::Venv];

fn run_python(args: &[&Path], stdin: &str) -> String {
    python_result(args, stdin).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// The script's stdout, or its stderr when it fails.
fn python_result(args: &[&Path], stdin: &str) -> Result<String, String> {
    let mut child = Command::new(Need::Venv.path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running the oracle's Python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    Ok(String::from_utf8(o.stdout).unwrap())
}

/// `helm template` of the chart by the real Helm SDK, or the SDK's error output.
fn helm_result(chart: &Path, values: &str) -> Result<String, String> {
    let tmp = tempfile::tempdir().unwrap();
    let (out, vf) = (tmp.path().join("out.yaml"), tmp.path().join("values.yaml"));
    std::fs::write(&vf, values).unwrap();
    let script = Need::ORACLE.path().join("helm_render.py");
    python_result(&[&script, chart, &out, &vf], "")?;
    Ok(std::fs::read_to_string(&out).unwrap())
}

fn helm(chart: &Path, values: &str) -> String {
    helm_result(chart, values).unwrap_or_else(|e| panic!("Helm SDK: {e}"))
}

fn native_result(chart: &Path, values: &str) -> Result<String, String> {
    let chart = Chart::load_dir(chart).unwrap_or_else(|e| panic!("{}: {e}", chart.display()));
    let opts = RenderOptions {
        values: load_values("values", values.as_bytes()).unwrap(),
        ..RenderOptions::default()
    };
    render(&chart, &opts)
        .map(|r| to_stream(&r))
        .map_err(|e| e.to_string())
}

fn native(chart: &Path, values: &str) -> String {
    native_result(chart, values).unwrap_or_else(|e| panic!("native render: {e}"))
}

/// Masked structures of every certificate of a rendered stream (`x509_structure.py`):
/// `{"certs": {location: structure}, "serial_bits": {location: n}}`.
fn structures(stream: &str) -> Json {
    let script = imagebom_testkit::workspace().join("tests/oracle/x509_structure.py");
    let jobs = json!([{ "stream": stream }]).to_string();
    let mut out: Json = serde_json::from_str(&run_python(&[&script], &jobs)).unwrap();
    let out = out[0].take();
    assert!(out.get("error").is_none(), "x509_structure.py: {out}");
    out
}

/// Differences between the native and the SDK's certificate structures and key skeletons,
/// one line each.
fn diff(native: &Json, helm: &Json) -> Vec<String> {
    let mut out = Vec::new();
    for what in ["certs", "keys"] {
        let (n, h) = (
            native[what].as_object().unwrap(),
            helm[what].as_object().unwrap(),
        );
        for (loc, hs) in h {
            match n.get(loc) {
                None => out.push(format!("{loc}: none natively")),
                Some(ns) if ns != hs => out.push(format!(
                    "{loc}:\n  native {}\n  helm   {}",
                    serde_json::to_string(ns).unwrap(),
                    serde_json::to_string(hs).unwrap()
                )),
                Some(_) => {}
            }
        }
        out.extend(
            n.keys()
                .filter(|l| !h.contains_key(*l))
                .map(|l| format!("{l}: not in Helm's render")),
        );
    }
    out
}

fn chart_dir(templates: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("Chart.yaml"),
        "apiVersion: v2\nname: t\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::create_dir(tmp.path().join("templates")).unwrap();
    for (name, text) in templates {
        std::fs::write(tmp.path().join("templates").join(name), text).unwrap();
    }
    tmp
}

/// Keys made by Python `cryptography` as values: RSA (2048 bits in PKCS#8 and PKCS#1, 3072 in
/// PKCS#1), P-256 (PKCS#8, SEC1), P-384 and ed25519 (PKCS#8, as `openssl genpkey` writes).
fn key_values() -> String {
    let code = r#"
import json
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519
def pem(k, f): return k.private_bytes(s.Encoding.PEM, f, s.NoEncryption()).decode()
r = rsa.generate_private_key(65537, 2048)
print(json.dumps({"keys": {
  "rsa8": pem(r, s.PrivateFormat.PKCS8),
  "rsa1": pem(rsa.generate_private_key(65537, 2048), s.PrivateFormat.TraditionalOpenSSL),
  "ec8": pem(ec.generate_private_key(ec.SECP256R1()), s.PrivateFormat.PKCS8),
  "ec1": pem(ec.generate_private_key(ec.SECP256R1()), s.PrivateFormat.TraditionalOpenSSL),
  "ed8": pem(ed25519.Ed25519PrivateKey.generate(), s.PrivateFormat.PKCS8),
  "p384": pem(ec.generate_private_key(ec.SECP384R1()), s.PrivateFormat.PKCS8),
  "rsa3072": pem(rsa.generate_private_key(65537, 3072), s.PrivateFormat.TraditionalOpenSSL)}}))
"#;
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("keys.py");
    std::fs::write(&f, code).unwrap();
    run_python(&[&f], "")
}

/// Every generator, with generated and given keys of each type, SANs of each kind, names of
/// each string type, a validity past 2049 and one negative, an empty subject, and a leaf named
/// as its CA.
const CERTS: &str = r#"
{{- $ca := genCA "my-ca" 365 }}
{{- $ek := genPrivateKey "ecdsa" }}
{{- $eca := genCAWithKey "ec-ca" 100 $ek }}
{{- $rca := genCAWithKey "rsa-ca" 30 .Values.keys.rsa8 }}
{{- $k := .Values.keys }}
ca: {{ $ca.Cert | b64enc }}
leaf: {{ (genSignedCert "svc.ns.svc" (list "10.0.0.1" "::1") (list "svc" "*.svc.ns") 30 $ca).Cert | b64enc }}
sameName: {{ (genSignedCert "my-ca" nil nil 1 $ca).Cert | b64enc }}
self: {{ (genSelfSignedCert "self" nil (list "a.example") 10).Cert | b64enc }}
bare: {{ (genSelfSignedCert "bare" nil nil 0).Cert | b64enc }}
wild: {{ (genSelfSignedCert "*.wild.example" (list) (list "*.wild.example" "127.0.0.1") 1).Cert | b64enc }}
utf8: {{ (genSelfSignedCert "ünï & co" nil nil 1).Cert | b64enc }}
long: {{ (genCA "long-ca" 36500).Cert | b64enc }}
expired: {{ (genSelfSignedCert "old" nil nil -2).Cert | b64enc }}
empty: {{ (genSelfSignedCert "" nil (list "no-subject") 1).Cert | b64enc }}
eca: {{ $eca.Cert | b64enc }}
edLeaf: {{ (genSignedCertWithKey "ed-leaf" (list "192.168.1.1") (list "x.y") 5 $eca (genPrivateKey "ed25519")).Cert | b64enc }}
ecSelf: {{ (genSelfSignedCertWithKey "ec-self" (list "::ffff:10.1.2.3") nil 3650 $ek).Cert | b64enc }}
rca: {{ $rca.Cert | b64enc }}
rsaLeaf: {{ (genSignedCertWithKey "rsa-leaf" nil (list "r") 30 $rca $k.rsa1).Cert | b64enc }}
ecLeaf: {{ (genSignedCertWithKey "ec-leaf" nil nil 30 $rca $k.ec8).Cert | b64enc }}
rsaSelf: {{ (genSelfSignedCertWithKey "rsa-self" nil nil 30 $k.rsa8).Cert | b64enc }}
edCa: {{ (genCAWithKey "ed-ca" 30 $k.ed8).Cert | b64enc }}
{{- $pca := genCAWithKey "p384-ca" 10 $k.p384 }}
p384Ca: {{ $pca.Cert | b64enc }}
p384Leaf: {{ (genSignedCert "p384-leaf" nil (list "l") 1 $pca).Cert | b64enc }}
rsa3072: {{ (genSelfSignedCertWithKey "rsa3072" nil nil 1 $k.rsa3072).Cert | b64enc }}
"#;

/// `.Key` of certificates made from given keys: not random, so compared as text.
const KEYS: &str = r#"
{{- $k := .Values.keys }}
{{- $ca := genCAWithKey "k" 1 $k.ec1 }}
rsa8: {{ (genCAWithKey "k" 1 $k.rsa8).Key | quote }}
rsa1: {{ (genSelfSignedCertWithKey "k" nil nil 1 $k.rsa1).Key | quote }}
ec8: {{ (genSignedCertWithKey "k" nil nil 1 $ca $k.ec8).Key | quote }}
ec1: {{ $ca.Key | quote }}
ed8: {{ (genSelfSignedCertWithKey "k" nil nil 1 $k.ed8).Key | quote }}
p384: {{ (genCAWithKey "k" 1 $k.p384).Key | quote }}
rsa3072: {{ (genCAWithKey "k" 1 $k.rsa3072).Key | quote }}
"#;

#[test]
fn certs_match_helm_sdk_structures() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let dir = chart_dir(&[("certs.yaml", CERTS), ("keys.yaml", KEYS)]);
    let values = key_values();
    let (ours, theirs) = (native(dir.path(), &values), helm(dir.path(), &values));
    let (n, h) = (structures(&ours), structures(&theirs));
    assert_eq!(h["certs"].as_object().unwrap().len(), 21, "{theirs}");
    assert_eq!(h["keys"].as_object().unwrap().len(), 7, "{theirs}");
    let d = diff(&n, &h);
    assert!(
        d.is_empty(),
        "{} certificates differ:\n{}",
        d.len(),
        d.join("\n")
    );
    let keys = |s: &str| {
        s.split("# Source: t/templates/keys.yaml")
            .nth(1)
            .map(str::to_string)
    };
    assert_eq!(
        keys(&ours),
        keys(&theirs),
        "given keys are written back as Go writes them"
    );
}

/// Generated keys (`genPrivateKey`, and a certificate's `.Key`) have Go's encoding: PEM type,
/// size and DER layout (lengths of fixed-size fields included, e.g. the padded EC scalar).
#[test]
fn certs_generated_keys_match_helm_sdk_skeletons() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let t = r#"rsa: {{ genPrivateKey "rsa" | b64enc }}
default: {{ genPrivateKey "" | b64enc }}
ecdsa: {{ genPrivateKey "ecdsa" | b64enc }}
ed25519: {{ genPrivateKey "ed25519" | b64enc }}
ca: {{ (genCA "k" 1).Key | b64enc }}
self: {{ (genSelfSignedCert "k" nil nil 1).Key | b64enc }}
"#;
    let dir = chart_dir(&[("k.yaml", t)]);
    let (n, h) = (
        structures(&native(dir.path(), "")),
        structures(&helm(dir.path(), "")),
    );
    assert_eq!(h["keys"].as_object().unwrap().len(), 6, "{h}");
    let d = diff(&n, &h);
    assert!(d.is_empty(), "{}", d.join("\n"));
}

/// Serials are uniform below 2^128, as Sprig draws them: in 32 certificates one has 128 bits
/// (all below is a 2^-32 chance).
#[test]
fn certs_serials_span_128_bits() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let t = "{{- $k := genPrivateKey \"ecdsa\" }}\n{{- range until 32 }}\n- {{ (genSelfSignedCertWithKey \"s\" nil nil 1 $k).Cert | b64enc }}\n{{- end }}\n";
    let dir = chart_dir(&[("s.yaml", t)]);
    for (who, stream) in [
        ("native", native(dir.path(), "")),
        ("helm", helm(dir.path(), "")),
    ] {
        let bits: Vec<u64> = structures(&stream)["serial_bits"]
            .as_object()
            .unwrap()
            .values()
            .map(|b| b.as_u64().unwrap())
            .collect();
        assert_eq!(bits.len(), 32, "{who}");
        assert_eq!(bits.iter().max(), Some(&128), "{who}: {bits:?}");
    }
}

/// Bad arguments fail as in Helm: the native error carries the SDK's message (the text after
/// `error calling F: `, or the last line of the SDK's error).
#[test]
fn certs_errors_match_helm_sdk() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let cases = [
        r#"{{ (genSelfSignedCert "x" nil (list "ünï") 1).Cert }}"#,
        r#"{{ (genSelfSignedCert "x" (list "1.2.3") nil 1).Cert }}"#,
        r#"{{ (genSelfSignedCert "x" (list 5) nil 1).Cert }}"#,
        r#"{{ (genSelfSignedCert "x" nil (list true) 1).Cert }}"#,
        r#"{{ (genSignedCert "x" nil nil 1 (dict "Cert" "junk" "Key" "junk")).Cert }}"#,
        r#"{{ $a := genCA "a" 1 }}{{ $b := genCA "b" 1 }}{{ $m := buildCustomCert ($a.Cert | b64enc) ($b.Key | b64enc) }}{{ (genSignedCert "x" nil nil 1 $m).Cert }}"#,
        r#"{{ (genCAWithKey "x" 1 "junk").Cert }}"#,
        r#"{{ (genSelfSignedCertWithKey "x" nil nil 1 (genCA "a" 1).Cert).Cert }}"#,
        r#"{{ (buildCustomCert "junk" "junk").Cert }}"#,
        r#"{{ (buildCustomCert ("not pem" | b64enc) "eA==").Cert }}"#,
        r#"{{ $c := genCA "a" 1 }}{{ (buildCustomCert ($c.Cert | b64enc) ("x" | b64enc)).Cert }}"#,
        r#"{{ $c := genCA "a" 1 }}{{ (buildCustomCert ($c.Cert | b64enc) "!!").Cert }}"#,
    ];
    let mut failures = Vec::new();
    for t in cases {
        let dir = chart_dir(&[("t.yaml", t)]);
        let theirs = helm_result(dir.path(), "").expect_err(t);
        let line = theirs.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
        let want = line
            .split_once("error calling ")
            .map_or(line.trim(), |(_, m)| {
                m.split_once(": ").map_or(m, |(_, rest)| rest)
            });
        match native_result(dir.path(), "") {
            Err(ours) if ours.contains(want) => {}
            other => failures.push(format!("{t}\n  helm   {want}\n  native {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The wide corpus's charts that generate certificates, with the values that make them do it
/// (wordpress and its mariadb subchart also do, but do not render natively yet: `hasKey` on
/// the `.data` of an empty `lookup`).
const CHARTS: &[(&str, &str)] = &[
    ("metrics-server", "tls:\n  type: helm\n"),
    ("mysql", "tls:\n  enabled: true\n"),
    (
        "postgresql",
        "tls:\n  enabled: true\n  autoGenerated: true\n",
    ),
    (
        "kafka",
        "listeners:\n  client:\n    protocol: SSL\ntls:\n  autoGenerated:\n    enabled: true\n",
    ),
    (
        "traefik",
        "hub:\n  token: xyz\n  apimanagement:\n    enabled: true\n",
    ),
];

#[test]
fn certs_of_corpus_charts_match_helm_sdk() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let corpus = Need::CORPUS_WIDE.path();
    let (mut failures, mut count) = (BTreeMap::new(), 0);
    for (name, values) in CHARTS {
        let dir = corpus.join("charts").join(name);
        let (n, h) = (
            structures(&native(&dir, values)),
            structures(&helm(&dir, values)),
        );
        assert!(
            !h["certs"].as_object().unwrap().is_empty(),
            "{name}: no certificate in Helm's render"
        );
        count += h["certs"].as_object().unwrap().len();
        let d = diff(&n, &h);
        if !d.is_empty() {
            failures.insert(*name, d.join("\n"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(count >= 17, "{count} certificates");
}
