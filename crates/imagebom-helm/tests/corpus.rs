//! Fidelity of the native renderer on the shared corpus, against renders of the real Helm v4
//! SDK: the committed `rendered/<name>.yaml` and live renders by the oracle
//! (`shared/oracle/helm_render.py`) made at test time. Documents are compared as parsed YAML
//! per `# Source:`; the only differences allowed are the values Helm randomises, each named
//! in [`RANDOM`]. The image sets must equal `expected/<name>.images.txt`.
//!
//! Paths: `$IMAGEBOM_CORPUS` (default `<workspace>/../shared/corpus`), the oracle's Python in
//! `$IMAGEBOM_VENV` (default `<workspace>/.venv`). A missing corpus or oracle fails.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use imagebom_extract::{extract, split_stream, Limits, Origin};
use imagebom_helm::{load_values, render, to_stream, Chart, HelmError, RenderOptions};
use imagebom_template::convert::{from_yaml_str, to_json};
use imagebom_template::Dict;
use imagebom_testkit::Need;
use serde_json::Value as Json;

/// What these tests need beyond the repository (imagebom-testkit: said and skipped when
/// missing, a failure under `CI=true`).
const NEEDS: &[Need] = &[Need::CORPUS, Need::ORACLE, Need::Venv];

/// Values the Helm SDK randomises (chart, template, JSON pointer in the document). Nothing
/// else may differ.
const RANDOM: &[(&str, &str, &str)] = &[
    (
        "redis",
        "redis/templates/secret.yaml",
        "/data/redis-password",
    ),
    (
        "redis",
        "redis/templates/master/application.yaml",
        "/spec/template/metadata/annotations/checksum~1secret",
    ),
    (
        "redis",
        "redis/templates/replicas/application.yaml",
        "/spec/template/metadata/annotations/checksum~1secret",
    ),
    (
        "kube-prometheus-stack",
        "kube-prometheus-stack/charts/grafana/templates/secret.yaml",
        "/data/admin-password",
    ),
    (
        "kube-prometheus-stack",
        "kube-prometheus-stack/charts/grafana/templates/deployment.yaml",
        "/spec/template/metadata/annotations/checksum~1secret",
    ),
];

/// Renders with the real Helm SDK; Err(message) when the SDK fails.
fn oracle_render(chart: &Path, values: Option<&str>) -> Result<String, String> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.yaml");
    let mut cmd = Command::new(Need::Venv.path());
    cmd.arg(Need::ORACLE.path().join("helm_render.py"))
        .arg(chart)
        .arg(&out);
    if let Some(v) = values {
        let vf = tmp.path().join("values.yaml");
        std::fs::write(&vf, v).unwrap();
        cmd.arg(vf);
    }
    let o = cmd.output().expect("running the Helm SDK oracle");
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    Ok(std::fs::read_to_string(&out).unwrap())
}

fn native(chart_dir: &Path, values: Option<&str>) -> Result<String, HelmError> {
    let chart = Chart::load_dir(chart_dir)?;
    let values = match values {
        Some(v) => load_values("values", v.as_bytes())?,
        None => Dict::new(),
    };
    let opts = RenderOptions {
        values,
        ..RenderOptions::default()
    };
    Ok(to_stream(&render(&chart, &opts)?))
}

/// Documents per `# Source:`, parsed as YAML (Helm's number semantics), as JSON.
fn documents(stream: &str) -> BTreeMap<String, Vec<Json>> {
    let mut out: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for d in split_stream(stream) {
        let source = d.source.clone().unwrap_or_else(|| "?".into());
        let v = match from_yaml_str(d.text) {
            Ok(v) => to_json(&v),
            Err(e) => Json::String(format!("<unparsable: {e}>\n{}", d.text)),
        };
        if v.is_null() {
            continue;
        }
        out.entry(source).or_default().push(v);
    }
    out
}

fn mask_random(chart: &str, docs: &mut BTreeMap<String, Vec<Json>>) {
    for (c, source, pointer) in RANDOM {
        if *c != chart {
            continue;
        }
        for d in docs.get_mut(*source).into_iter().flatten() {
            if let Some(v) = d.pointer_mut(pointer) {
                *v = Json::String("<random>".into());
            }
        }
    }
}

/// Differences between two streams (`want` from Helm), restricted to `only` sources if given.
fn compare(
    chart: &str,
    what: &str,
    want: &str,
    got: &str,
    only: Option<&BTreeSet<String>>,
) -> String {
    let mut w = documents(want);
    let mut g = documents(got);
    if let Some(only) = only {
        w.retain(|k, _| only.contains(k));
        g.retain(|k, _| only.contains(k));
    }
    mask_random(chart, &mut w);
    mask_random(chart, &mut g);
    let mut report = String::new();
    let ws: BTreeSet<&String> = w.keys().collect();
    let gs: BTreeSet<&String> = g.keys().collect();
    for m in ws.difference(&gs) {
        let _ = writeln!(report, "  [{what}] missing source: {m}");
    }
    for u in gs.difference(&ws) {
        let _ = writeln!(report, "  [{what}] unexpected source: {u}");
    }
    for s in ws.intersection(&gs) {
        let (a, b) = (&w[*s], &g[*s]);
        if a != b {
            let _ = writeln!(
                report,
                "  [{what}] {s}: documents differ ({} vs {})",
                a.len(),
                b.len()
            );
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
                    (Some(u), None) => return format!("{p}: missing (helm: {u})"),
                    (None, Some(v)) => return format!("{p}: unexpected ({v})"),
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
        _ => {
            let s = |v: &Json| {
                let t = v.to_string();
                if t.len() > 300 {
                    format!(
                        "{}…",
                        &t[..t.char_indices().nth(300).map_or(t.len(), |c| c.0)]
                    )
                } else {
                    t
                }
            };
            format!("{path}: helm {} / native {}", s(a), s(b))
        }
    }
}

fn images(name: &str, stream: &str) -> Result<BTreeSet<String>, String> {
    let origin = Origin {
        component: name.into(),
        file: format!("{name}.yaml"),
    };
    let x = extract(stream, &origin, &Limits::default()).map_err(|e| e.to_string())?;
    use imagebom_model::Category;
    x.images
        .iter()
        .filter(|(_, o)| {
            matches!(
                o.category,
                Category::Pod | Category::Cr | Category::CrTriplet | Category::CrDisabled
            )
        })
        .map(|(_, o)| o.original.clone())
        .collect::<BTreeSet<String>>()
        .pipe(Ok)
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<S> Pipe for S {}

fn expected_images(name: &str) -> BTreeSet<String> {
    std::fs::read_to_string(
        Need::CORPUS
            .path()
            .join(format!("expected/{name}.images.txt")),
    )
    .unwrap()
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(str::to_string)
    .collect()
}

fn chart_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(Need::CORPUS.path().join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Charts checked in [`every_chart_renders_as_helm_does`] (opentelemetry-collector, which
/// fails by design, has its own tests).
fn ordinary_charts() -> Vec<String> {
    chart_names()
        .into_iter()
        .filter(|n| n != "opentelemetry-collector")
        .collect()
}

#[test]
fn every_chart_renders_as_helm_does() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let names = ordinary_charts();
    assert!(names.len() >= 6, "corpus charts: {names:?}");
    let mut report = String::new();
    for name in &names {
        let dir = Need::CORPUS.path().join("charts").join(name);
        let got = match native(&dir, None) {
            Ok(s) => s,
            Err(e) => {
                let _ = writeln!(report, "{name}: native render failed: {e}");
                continue;
            }
        };
        let mut r = String::new();
        let committed =
            std::fs::read_to_string(Need::CORPUS.path().join(format!("rendered/{name}.yaml")))
                .unwrap();
        r.push_str(&compare(name, "rendered/", &committed, &got, None));
        match oracle_render(&dir, None) {
            Ok(live) => r.push_str(&compare(name, "live oracle", &live, &got, None)),
            Err(e) => panic!("oracle failed on {name}: {e}"),
        }
        let want = expected_images(name);
        let have = images(name, &got).unwrap_or_else(|e| {
            let _ = writeln!(r, "  extraction failed: {e}");
            BTreeSet::new()
        });
        for m in want.difference(&have) {
            let _ = writeln!(r, "  image missing: {m}");
        }
        for u in have.difference(&want) {
            let _ = writeln!(r, "  image unexpected: {u}");
        }
        if r.is_empty() {
            eprintln!("{name}: OK");
        } else {
            let _ = write!(report, "{name}:\n{r}");
        }
    }
    assert!(
        report.is_empty(),
        "native renders differ from Helm:\n{report}"
    );
}

#[test]
fn opentelemetry_collector_fails_in_notes_like_helm() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let want = std::fs::read_to_string(
        Need::CORPUS
            .path()
            .join("expected/opentelemetry-collector.error.txt"),
    )
    .unwrap();
    let e = native(
        &Need::CORPUS.path().join("charts/opentelemetry-collector"),
        None,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), want.trim_end());
    assert!(expected_images("opentelemetry-collector").is_empty());
}

/// The opentelemetry-collector chart fails with its defaults, but ships example values files
/// (`examples/*/values.yaml`): each must render exactly as the Helm SDK renders it.
#[test]
fn opentelemetry_collector_examples_render_as_helm_does() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let chart = Need::CORPUS.path().join("charts/opentelemetry-collector");
    let mut examples: Vec<PathBuf> = std::fs::read_dir(chart.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path().join("values.yaml"))
        .filter(|p| p.is_file())
        .collect();
    examples.sort();
    assert!(examples.len() >= 20, "examples: {}", examples.len());
    let mut report = String::new();
    for ex in &examples {
        let name = ex
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let values = std::fs::read_to_string(ex).unwrap();
        let live = oracle_render(&chart, Some(&values))
            .unwrap_or_else(|e| panic!("oracle on {name}: {e}"));
        match native(&chart, Some(&values)) {
            Ok(got) => report.push_str(&compare(
                "opentelemetry-collector",
                &name,
                &live,
                &got,
                None,
            )),
            Err(e) => {
                let _ = writeln!(report, "  {name}: native render failed: {e}");
            }
        }
    }
    assert!(report.is_empty(), "examples differ from Helm:\n{report}");
}

/// Non-default values (inputs written here; the expected renders come from the live oracle):
/// subcharts switched on, optional components, other workload kinds.
const OTHER_VALUES: &[(&str, &str)] = &[
    (
        "redis",
        "sentinel:\n  enabled: true\nmetrics:\n  enabled: true\n  serviceMonitor:\n    enabled: true\nvolumePermissions:\n  enabled: true\nauth:\n  password: fixed\n",
    ),
    (
        "redis",
        "architecture: standalone\nauth:\n  enabled: false\nnetworkPolicy:\n  enabled: false\nmaster:\n  persistence:\n    enabled: false\n",
    ),
    (
        "ingress-nginx",
        "controller:\n  kind: DaemonSet\n  metrics:\n    enabled: true\n    serviceMonitor:\n      enabled: true\n  autoscaling:\n    enabled: true\ndefaultBackend:\n  enabled: true\n",
    ),
    (
        "cert-manager",
        "prometheus:\n  servicemonitor:\n    enabled: true\nwebhook:\n  networkPolicy:\n    enabled: true\npodDisruptionBudget:\n  enabled: true\ncrds:\n  enabled: true\n",
    ),
    (
        "node-feature-discovery",
        "topologyUpdater:\n  enable: true\nprometheus:\n  enable: true\n",
    ),
    (
        "gpu-operator",
        "driver:\n  nvidiaDriverCRD:\n    deployDefaultCR: true\n    enabled: true\ndcgm:\n  enabled: true\n",
    ),
    (
        "network-operator",
        "sriovNetworkOperator:\n  enabled: true\nmaintenanceOperator:\n  enabled: true\nnfd:\n  enabled: true\n  deployNodeFeatureRules: true\n",
    ),
    (
        "kube-prometheus-stack",
        "global:\n  imageRegistry: registry.example.com\nwindowsMonitoring:\n  enabled: true\nthanosRuler:\n  enabled: true\nprometheus:\n  prometheusSpec:\n    replicas: 2\n    thanos:\n      image: quay.io/thanos/thanos:v0.30.0\nalertmanager:\n  ingress:\n    enabled: true\n    hosts: [am.example.com]\ngrafana:\n  adminPassword: fixed\n  sidecar:\n    datasources:\n      alertmanager:\n        enabled: false\nkube-state-metrics:\n  selfMonitor:\n    enabled: true\nprometheus-node-exporter:\n  hostNetwork: false\n",
    ),
];

#[test]
fn corpus_charts_with_other_values_render_as_helm_does() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let mut report = String::new();
    for (name, values) in OTHER_VALUES {
        let dir = Need::CORPUS.path().join("charts").join(name);
        let live =
            oracle_render(&dir, Some(values)).unwrap_or_else(|e| panic!("oracle on {name}: {e}"));
        assert!(live.contains("# Source:"), "{name}: empty oracle render");
        match native(&dir, Some(values)) {
            Ok(got) => report.push_str(&compare(
                name,
                "live oracle, other values",
                &live,
                &got,
                None,
            )),
            Err(e) => {
                let _ = writeln!(report, "  {name}: native render failed: {e}");
            }
        }
    }
    assert!(
        report.is_empty(),
        "renders with other values differ from Helm:\n{report}"
    );
}
