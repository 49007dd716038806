//! Small kustomizations of our own (`tests/cases/*`), each exercising features the shared
//! corpus uses little or not at all, built natively and by the real `kubectl kustomize`
//! (Kustomize v5) on this machine: the documents must be equal, in order, and `to_yaml` must
//! print them byte for byte as `kubectl kustomize` does.

use imagebom_kustomize::{build, to_yaml};
use imagebom_testkit::{copy_dir, ready, Need};
use serde_yaml_ng::Value;
use std::path::Path;
use std::process::Command;

const KUBECTL: Need = Need::Program("/usr/bin/kubectl", "kubectl");

/// `kubectl kustomize DIR`, the oracle's run.
fn kubectl_kustomize(dir: impl AsRef<std::ffi::OsStr>) -> std::process::Output {
    Command::new("/usr/bin/kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl runs")
}

fn parse(text: &str) -> Vec<Value> {
    let docs: Result<Vec<Value>, _> = serde_yaml_ng::Deserializer::from_str(text)
        .map(serde::Deserialize::deserialize)
        .collect();
    match docs {
        Ok(docs) => docs.into_iter().filter(|v| !v.is_null()).collect(),
        // Deeper than serde_yaml_ng's recursion limit (tests/cases/deep-nesting): yaml-rust2's
        // loader, which has none, converted here (independently of the crate's own fallback).
        Err(e) if e.to_string().starts_with("recursion limit exceeded") => {
            yaml_rust2::YamlLoader::load_from_str(text)
                .expect("YAML")
                .iter()
                .map(from_yaml_rust2)
                .filter(|v| !v.is_null())
                .collect()
        }
        Err(e) => panic!("YAML: {e}"),
    }
}

fn from_yaml_rust2(y: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match y {
        Yaml::Hash(h) => Value::Mapping(
            h.iter()
                .map(|(k, v)| (from_yaml_rust2(k), from_yaml_rust2(v)))
                .collect(),
        ),
        Yaml::Array(a) => Value::Sequence(a.iter().map(from_yaml_rust2).collect()),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Real(r) => Value::from(r.parse::<f64>().expect("a float")),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Null => Value::Null,
        other => panic!("unexpected YAML node {other:?}"),
    }
}

#[test]
fn own_cases_equal_kubectl_kustomize() {
    if !ready(&[KUBECTL]) {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/cases")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 4, "the own cases are missing");
    let mut problems = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let out = kubectl_kustomize(dir);
        assert!(
            out.status.success(),
            "kubectl kustomize {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs_text = String::from_utf8(out.stdout).unwrap();
        let objects = match build(dir) {
            Ok(o) => o,
            Err(e) => {
                problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        let ours: Vec<Value> = objects.iter().map(|o| o.doc.clone()).collect();
        if ours != parse(&theirs_text) {
            problems.push(format!(
                "{name}: differs from kubectl kustomize\n--- native\n{}\n--- kubectl\n{theirs_text}",
                to_yaml(&objects)
            ));
        } else if to_yaml(&objects) != theirs_text {
            problems.push(format!(
                "{name}: the same documents, but to_yaml's bytes differ from kubectl kustomize's\n--- native\n{}\n--- kubectl\n{theirs_text}",
                to_yaml(&objects)
            ));
        } else {
            eprintln!("EQUAL (bytes) {name}");
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn errors_name_the_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let missing = root.join("no-such-dir");
    let err = build(&missing).unwrap_err().to_string();
    assert!(err.contains("no-such-dir"), "{err}");
    // A directory without a kustomization: Kustomize's wording, naming the directory.
    let tmp = std::env::temp_dir().join(format!("imagebom-kustomize-empty-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let err = build(&tmp).unwrap_err().to_string();
    assert!(
        err.contains("unable to find one of 'kustomization.yaml'"),
        "{err}"
    );
    std::fs::write(
        tmp.join("kustomization.yaml"),
        "resources: [missing.yaml]\n",
    )
    .unwrap();
    let err = build(&tmp).unwrap_err().to_string();
    assert!(
        err.contains("kustomization.yaml") && err.contains("missing.yaml"),
        "{err}"
    );
    std::fs::write(tmp.join("kustomization.yaml"), "resources: [a.yaml\n").unwrap();
    let err = build(&tmp).unwrap_err().to_string();
    assert!(err.contains("kustomization.yaml"), "{err}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Kustomize prints through JSON: a float that is not finite (`.inf`, `.nan`) or a mapping key
/// that is not a string fails `kubectl kustomize`, and fails the native build too, naming the
/// file.
#[test]
fn what_json_cannot_hold_fails_as_in_kubectl() {
    if !ready(&[KUBECTL]) {
        return;
    }
    for (name, spec, says) in [
        ("inf", "  limit: .inf\n", "json: unsupported value: +Inf"),
        (
            "nan",
            "  values: [1, .nan]\n",
            "json: unsupported value: NaN",
        ),
        ("int-key", "  1: one\n", "json: unsupported type"),
        (
            "bool-key",
            "  nested: {true: yes}\n",
            "json: unsupported type",
        ),
        ("octal-key", "  0755: x\n", "json: unsupported type"),
        ("date-key", "  2002-12-14: x\n", "json: unsupported type"),
        (
            "underscore-key",
            "  - {1_000: x}\n",
            "json: unsupported type",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("kustomization.yaml"),
            "resources: [w.yaml]\n",
        )
        .unwrap();
        std::fs::write(
            tmp.path().join("w.yaml"),
            format!("apiVersion: example.com/v1\nkind: W\nmetadata:\n  name: w\nspec:\n{spec}"),
        )
        .unwrap();
        let out = kubectl_kustomize(tmp.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(says),
            "{name}: {stderr}"
        );
        let err = build(tmp.path())
            .map(|o| to_yaml(&o))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(says) && err.contains("w.yaml"),
            "{name}: {err}"
        );
    }
}

/// Real manifests through the printer: every rendered chart of `../shared/corpus` and
/// `../shared/corpus-wide` and every manifest of the corpus, each the one resource of a
/// kustomization, built natively and by `kubectl kustomize`: the same documents, the same
/// bytes (kube-prometheus-stack, loki and cert-manager once differed).
#[test]
fn rendered_charts_print_as_kubectl_kustomize_prints_them() {
    if !ready(&[KUBECTL, Need::CORPUS, Need::CORPUS_WIDE]) {
        return;
    }
    let corpus = imagebom_testkit::shared("corpus", "IMAGEBOM_CORPUS", "expected").unwrap();
    let wide = imagebom_testkit::shared("corpus-wide", "IMAGEBOM_CORPUS_WIDE", "rendered").unwrap();
    let mut files: Vec<_> = [
        corpus.join("rendered"),
        corpus.join("manifests"),
        wide.join("rendered"),
    ]
    .iter()
    .flat_map(|d| std::fs::read_dir(d).expect("corpus dir").flatten())
    .map(|e| e.path())
    .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    .collect();
    files.sort();
    assert!(files.len() >= 20, "the rendered corpus is missing");
    let mut problems = Vec::new();
    for file in &files {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::copy(file, tmp.path().join("r.yaml")).unwrap();
        std::fs::write(
            tmp.path().join("kustomization.yaml"),
            "resources: [r.yaml]\n",
        )
        .unwrap();
        let out = kubectl_kustomize(tmp.path());
        assert!(out.status.success(), "kubectl kustomize {}", file.display());
        let theirs = String::from_utf8(out.stdout).unwrap();
        match build(tmp.path()) {
            Err(e) => problems.push(format!("{}: {e}", file.display())),
            Ok(objects) => {
                let ours: Vec<Value> = objects.iter().map(|o| o.doc.clone()).collect();
                if ours != parse(&theirs) {
                    problems.push(format!("{}: documents differ", file.display()));
                } else if to_yaml(&objects) != theirs {
                    problems.push(format!("{}: bytes differ", file.display()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A line starting with `---` and holding more than a comment is no separator to Kustomize:
/// both fail, in Kustomize's words.
#[test]
fn a_bad_document_separator_fails_as_in_kubectl() {
    if !ready(&[KUBECTL]) {
        return;
    }
    for bad in ["---x", "--- x: 1", "----"] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("kustomization.yaml"),
            "resources: [w.yaml]\n",
        )
        .unwrap();
        let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";
        std::fs::write(tmp.path().join("w.yaml"), format!("{doc}{bad}\n{doc}")).unwrap();
        let out = kubectl_kustomize(tmp.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let says = format!("invalid document separator: {bad}");
        assert!(
            !out.status.success() && stderr.contains(&says),
            "{bad}: {stderr}"
        );
        let err = build(tmp.path()).unwrap_err().to_string();
        assert!(
            err.contains(&says) && err.contains("w.yaml"),
            "{bad}: {err}"
        );
    }
}

/// A YAML merge key whose value is no map fails both, in go-yaml's words.
#[test]
fn a_merge_key_on_a_scalar_fails_as_in_kubectl() {
    if !ready(&[KUBECTL]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("kustomization.yaml"),
        "resources: [w.yaml]\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("w.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  <<: v\n",
    )
    .unwrap();
    let out = kubectl_kustomize(tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let says = "map merge requires map or sequence of maps as the value";
    assert!(!out.status.success() && stderr.contains(says), "{stderr}");
    let err = build(tmp.path()).unwrap_err().to_string();
    assert!(err.contains(says) && err.contains("w.yaml"), "{err}");
}

/// `helmCharts` against the real Kustomize: `kubectl kustomize --enable-helm --helm-command
/// tests/oracle/helm_sdk.py` (Kustomize merges the values, builds the `helm template`
/// arguments and places the output; the wrapper renders with the real Helm v4 Go SDK).
/// Cases: the shared `argocd-helm-kube-version` (whose committed oracle output is only the
/// "must specify --enable-helm" error), `tests/helm-cases/*`, and the corpus chart
/// `node-feature-discovery` vendored into a temporary `chartHome`.
#[test]
fn helm_charts_equal_kubectl_kustomize_with_the_helm_sdk() {
    const KCORPUS: Need = Need::Shared {
        name: "kustomize",
        env: "IMAGEBOM_KUSTOMIZE",
        marker: "cases.json",
    };
    if !ready(&[KUBECTL, Need::Venv, KCORPUS, Need::CORPUS]) {
        return;
    }
    let python = imagebom_testkit::venv_python().expect("venv");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let wrapper = tmp.path().join("helm");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec {} {} \"$@\"\n",
            python.display(),
            manifest.join("tests/oracle/helm_sdk.py").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    let kroot = imagebom_testkit::shared("kustomize", "IMAGEBOM_KUSTOMIZE", "cases.json")
        .expect("kustomize corpus");
    let croot = imagebom_testkit::shared("corpus", "IMAGEBOM_CORPUS", "expected").expect("corpus");
    // node-feature-discovery from the chart corpus, vendored under chartHome.
    let nfd = tmp.path().join("nfd");
    copy_dir(
        &croot.join("charts/node-feature-discovery"),
        &nfd.join("vendor/node-feature-discovery"),
    );
    std::fs::write(
        nfd.join("kustomization.yaml"),
        "namespace: nfd\nhelmGlobals:\n  chartHome: vendor\nhelmCharts:\n- name: node-feature-discovery\n  \
         releaseName: nfd\n  namespace: nfd\n  valuesInline:\n    worker:\n      tolerations: []\n    \
         gc:\n      enable: false\nimages:\n- name: registry.k8s.io/nfd/node-feature-discovery\n  \
         newName: mirror.example.com/nfd\n  newTag: v0.17.0\n",
    )
    .unwrap();
    let mut dirs = vec![kroot.join("cases/argocd-helm-kube-version"), nfd];
    let mut own: Vec<_> = std::fs::read_dir(manifest.join("tests/helm-cases"))
        .expect("tests/helm-cases")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    own.sort();
    assert!(!own.is_empty(), "the helm cases are missing");
    dirs.extend(own);
    let mut problems = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let out = Command::new("/usr/bin/kubectl")
            .arg("kustomize")
            .arg("--enable-helm")
            .arg("--helm-command")
            .arg(&wrapper)
            .arg(dir)
            .output()
            .expect("kubectl runs");
        assert!(
            out.status.success(),
            "kubectl kustomize --enable-helm {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs_text = String::from_utf8(out.stdout).unwrap();
        let theirs = parse(&theirs_text);
        assert!(!theirs.is_empty(), "{name}: the oracle gave no objects");
        match build(dir) {
            Err(e) => problems.push(format!("{name}: {e}")),
            Ok(objects) => {
                let ours: Vec<Value> = objects.iter().map(|o| o.doc.clone()).collect();
                if ours != theirs {
                    problems.push(format!(
                        "{name}: differs from kubectl kustomize --enable-helm\n--- native\n{}\n--- kubectl\n{theirs_text}",
                        to_yaml(&objects)
                    ));
                } else {
                    let bytes = to_yaml(&objects) == theirs_text;
                    eprintln!(
                        "EQUAL{} {name} ({} objects)",
                        if bytes { " (bytes)" } else { "" },
                        ours.len()
                    );
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `validators` are plugins: Kustomize (plugins disabled, its default) and imagebom (which
/// runs none) both refuse the build, naming the plugin's kind.
#[test]
fn validators_fail_as_kustomize_fails_without_plugins() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("kustomization.yaml"),
        "resources: [cm.yaml]\nvalidators: [v.yaml]\n",
    )
    .unwrap();
    std::fs::write(
        d.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("v.yaml"),
        "apiVersion: example.com/v1\nkind: MyValidator\nmetadata: {name: v}\n",
    )
    .unwrap();
    let err = build(d).unwrap_err().to_string();
    let want = "external plugins disabled; unable to load external plugin 'MyValidator'";
    assert!(
        err.contains(want) && err.contains("kustomization.yaml"),
        "{err}"
    );
    if ready(&[KUBECTL]) {
        let out = kubectl_kustomize(d);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(want), "{stderr}");
    }
}

/// The fields imagebom does not implement are refused, naming the kustomization, never
/// ignored (Kustomize reads them, so ignoring them would print something else).
#[test]
fn unimplemented_fields_are_refused_naming_the_file() {
    for (field, value) in [
        ("buildMetadata", "[managedByLabel]"),
        (
            "helmChartInflationGenerator",
            "[{chartName: x, chartHome: charts}]",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("kustomization.yaml"),
            format!("{field}: {value}\n"),
        )
        .unwrap();
        let err = build(tmp.path()).unwrap_err().to_string();
        assert!(
            err.contains("kustomization.yaml")
                && err.contains(&format!("`{field}` is not supported")),
            "{err}"
        );
    }
}

/// A `generators` config of a kind Kustomize runs only as a plugin (or a builtin that is no
/// generator) fails as `kubectl kustomize` fails with plugins disabled (its default): the same
/// message, and ours names the config file. (The builtin generator kinds are the own case
/// `generators-field` and `tests/generators.rs`.)
#[test]
fn generators_of_other_kinds_fail_as_kubectl_kustomize_fails() {
    let cases: [(&str, &str, &str); 5] = [
        (
            "[g.yaml]",
            "apiVersion: example.com/v1\nkind: MyGen\nmetadata: {name: x}\n",
            "external plugins disabled; unable to load external plugin 'MyGen'",
        ),
        (
            "[g.yaml]",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
            "external plugins disabled; unable to load external plugin 'ConfigMap'",
        ),
        (
            "[g.yaml]",
            "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: a}\nliterals: [a=1]\n\
             ---\napiVersion: builtin\nkind: FooGenerator\nmetadata: {name: x}\n",
            "unable to load builtin FooGenerator.builtin.[noGrp]",
        ),
        (
            "[g.yaml]",
            "apiVersion: builtin\nkind: PrefixSuffixTransformer\nmetadata: {name: x}\nprefix: a-\n\
             fieldSpecs: [{path: metadata/name}]\n",
            "plugin PrefixSuffixTransformer.builtin.[noGrp]/x.[noNs] not a generator",
        ),
        (
            "\n- |\n  apiVersion: foo/v1\n  kind: Bar\n  metadata: {name: q}\n",
            "",
            "external plugins disabled; unable to load external plugin 'Bar'",
        ),
    ];
    for (entries, config, want) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(
            d.join("kustomization.yaml"),
            format!("generators: {entries}\n"),
        )
        .unwrap();
        if !config.is_empty() {
            std::fs::write(d.join("g.yaml"), config).unwrap();
        }
        let err = build(d).unwrap_err().to_string();
        let prefixed = format!("loading generator plugins: failed to load generator: {want}");
        assert!(err.contains(&prefixed), "{want:?} missing from: {err}");
        let named = if config.is_empty() {
            "kustomization.yaml"
        } else {
            "g.yaml"
        };
        assert!(err.contains(named), "{named} missing from: {err}");
        if ready(&[KUBECTL]) {
            let out = kubectl_kustomize(d);
            assert!(!out.status.success(), "kubectl built {config}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            let theirs = stderr
                .split_once("err=\"")
                .and_then(|(_, e)| e.trim_end().strip_suffix('"'))
                .unwrap_or_else(|| panic!("no err= in {stderr}"));
            assert_eq!(theirs, prefixed, "kubectl's words changed");
        }
    }
}
