//! Rendering features on small charts: each chart is rendered natively and by the real Helm v4
//! SDK (the oracle, `shared/oracle/helm_render.py`) and the streams must be equal; a few
//! values are also asserted directly. A missing oracle fails.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use imagebom_helm::{parse_set, render, to_stream, Chart, ChartFiles, RenderOptions};
use imagebom_template::Dict;
use imagebom_testkit::Need;

/// What these tests need beyond the repository (imagebom-testkit: said and skipped when
/// missing, a failure under `CI=true`).
const NEEDS: &[Need] = &[Need::CORPUS, Need::CORPUS_WIDE, Need::ORACLE, Need::Venv];

fn files(list: &[(&str, &str)]) -> ChartFiles {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

fn write_chart(dir: &Path, f: &ChartFiles) {
    for (k, v) in f {
        let p = dir.join(k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, v).unwrap();
    }
}

/// Oracle stream, or Err(stderr) when Helm fails.
fn helm(f: &ChartFiles, values: Option<&str>) -> Result<String, String> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chart");
    write_chart(&dir, f);
    let out = tmp.path().join("out.yaml");
    let mut cmd = Command::new(Need::Venv.path());
    cmd.arg(Need::ORACLE.path().join("helm_render.py"))
        .arg(&dir)
        .arg(&out);
    if let Some(v) = values {
        std::fs::write(tmp.path().join("v.yaml"), v).unwrap();
        cmd.arg(tmp.path().join("v.yaml"));
    }
    let o = cmd.output().unwrap();
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    Ok(std::fs::read_to_string(out).unwrap())
}

/// The SDK's error message (the exception text) for a chart that fails to render.
fn helm_error(f: &ChartFiles) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chart");
    write_chart(&dir, f);
    let code = "import sys, helm_python as helm\n\
                with helm.Chart.load(sys.argv[1]) as c:\n\
                \x20   try:\n\
                \x20       c.render(None, name='release-name', namespace='default', is_install=True)\n\
                \x20       print('NO ERROR', end='')\n\
                \x20   except Exception as e:\n\
                \x20       print(str(e), end='')\n";
    let o = Command::new(Need::Venv.path())
        .arg("-c")
        .arg(code)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "oracle: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn native(f: &ChartFiles, values: Option<&str>) -> Result<String, String> {
    let c = Chart::from_files(f.clone()).map_err(|e| e.to_string())?;
    let v = match values {
        Some(t) => imagebom_helm::load_values("v", t.as_bytes()).unwrap(),
        None => Dict::new(),
    };
    let opts = RenderOptions {
        values: v,
        ..RenderOptions::default()
    };
    render(&c, &opts)
        .map(|r| to_stream(&r))
        .map_err(|e| e.to_string())
}

fn same_as_helm(f: &ChartFiles, values: Option<&str>) -> String {
    let want = helm(f, values).unwrap_or_else(|e| panic!("helm failed: {e}"));
    let got = native(f, values).unwrap_or_else(|e| panic!("native failed: {e}"));
    if got != want {
        let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
        let mut d = String::new();
        for i in 0..w.len().max(g.len()) {
            let (a, b) = (w.get(i).copied(), g.get(i).copied());
            if a != b {
                d.push_str(&format!(
                    "line {}: helm {a:?}\n        native {b:?}\n",
                    i + 1
                ));
            }
        }
        panic!("native render differs from Helm:\n{d}");
    }
    got
}

const PARENT: &str = "apiVersion: v2\nname: top\nversion: 1.0.0\nappVersion: \"9.9\"\ndependencies:\n- name: sub\n  version: 0.1.x\n  condition: sub.enabled\n- name: lib\n  version: 1.0.0\n- name: sub\n  version: 0.1.0\n  alias: other\n  condition: other.enabled\n";

fn parent_chart() -> ChartFiles {
    files(&[
        ("Chart.yaml", PARENT),
        (
            "values.yaml",
            "global: {reg: top.io}\nsub: {enabled: true, x: from-parent}\nother: {enabled: false}\nmissing: ~\n",
        ),
        ("files/a.txt", "line1\nline2\n"),
        ("files/b.txt", "b"),
        ("crds/crd.yaml", "kind: CustomResourceDefinition\n"),
        (
            "templates/cm.yaml",
            concat!(
                "kind: ConfigMap\n",
                "name: {{ .Release.Name }}-{{ .Chart.Name }}-{{ .Chart.AppVersion }}\n",
                "ns: {{ .Release.Namespace }} install={{ .Release.IsInstall }} rev={{ .Release.Revision }} svc={{ .Release.Service }}\n",
                "root: {{ .Chart.IsRoot }} tmpl: {{ .Template.Name }} base: {{ .Template.BasePath }}\n",
                "kube: {{ .Capabilities.KubeVersion.Version }} {{ .Capabilities.KubeVersion.Major }}.{{ .Capabilities.KubeVersion.Minor }}\n",
                "apps: {{ .Capabilities.APIVersions.Has \"apps/v1\" }} nope: {{ .Capabilities.APIVersions.Has \"nope/v9\" }}\n",
                "file: {{ .Files.Get \"files/b.txt\" }} lines: {{ range .Files.Lines \"files/a.txt\" }}[{{ . }}]{{ end }}\n",
                "glob:{{ range $p, $_ := .Files.Glob \"files/*.txt\" }} {{ $p }}{{ end }}\n",
                "missing: {{ .Values.missing }}{{ .Values.nothing }}\n",
                "lib: {{ include \"lib.name\" . }}\n",
                "sub: {{ with .Subcharts.sub }}{{ .Values.x }} {{ .Chart.Name }}{{ end }}\n",
                "deps:{{ range .Chart.Dependencies }} {{ .Name }}={{ .Enabled }}{{ end }}\n",
            ),
        ),
        ("templates/NOTES.txt", "Thanks for installing {{ .Chart.Name }}"),
        ("templates/empty.yaml", "{{- if false }}x{{ end }}\n"),
        ("charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n"),
        ("charts/sub/values.yaml", "x: from-sub\nz: sub-default\nglobal: {own: sub}\n"),
        (
            "charts/sub/templates/s.yaml",
            "kind: Sub\nname: {{ .Chart.Name }} root={{ .Chart.IsRoot }}\nvals: {{ .Values.x }} {{ .Values.z }} {{ .Values.global.reg }} {{ .Values.global.own }}\nlib: {{ include \"lib.name\" . }}\n",
        ),
        ("charts/sub/templates/NOTES.txt", "sub notes"),
        (
            "charts/lib/Chart.yaml",
            "apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n",
        ),
        (
            "charts/lib/templates/_helpers.tpl",
            "{{- define \"lib.name\" -}}lib-{{ .Chart.Name }}{{- end -}}",
        ),
        ("charts/lib/templates/not-rendered.yaml", "kind: Never\n"),
    ])
}

#[test]
fn built_in_objects_subcharts_globals_library_files_match_helm() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let f = parent_chart();
    let out = same_as_helm(&f, None);
    assert!(out.contains("name: release-name-top-9.9"), "{out}");
    assert!(
        out.contains("vals: from-parent sub-default top.io sub"),
        "{out}"
    );
    assert!(out.contains("lib: lib-top"), "{out}");
    assert!(out.contains("apps: true nope: false"), "{out}");
    assert!(out.contains("glob: files/a.txt files/b.txt"), "{out}");
    assert!(
        !out.contains("Never"),
        "library templates are not rendered: {out}"
    );
    assert!(!out.contains("other"), "disabled alias: {out}");
    assert!(
        !out.contains("Thanks"),
        "NOTES.txt is not a manifest: {out}"
    );
}

#[test]
fn user_values_conditions_and_aliases_match_helm() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let f = parent_chart();
    let values = "sub:\n  enabled: false\nother:\n  enabled: true\n  x: via-alias\nglobal:\n  reg: user.io\n";
    let out = same_as_helm(&f, Some(values));
    assert!(
        out.contains("# Source: top/charts/other/templates/s.yaml"),
        "{out}"
    );
    assert!(!out.contains("top/charts/sub/"), "{out}");
    assert!(
        out.contains("vals: via-alias sub-default user.io sub"),
        "{out}"
    );
}

#[test]
fn notes_crds_and_set_values() {
    let c = Chart::from_files(parent_chart()).unwrap();
    let values = Dict::new();
    parse_set("sub.x=from-set,sub.z=2", &values).unwrap();
    let r = render(
        &c,
        &RenderOptions {
            values,
            include_crds: true,
            ..RenderOptions::default()
        },
    )
    .unwrap();
    assert_eq!(r.notes.as_deref(), Some("Thanks for installing top"));
    assert_eq!(r.crds.len(), 1);
    assert_eq!(r.crds[0].0, "top/crds/crd.yaml");
    assert!(!r.manifests.contains_key("top/templates/empty.yaml"));
    let s = &r.manifests["top/charts/sub/templates/s.yaml"];
    assert!(s.contains("vals: from-set 2 top.io sub"), "{s}");
    assert!(to_stream(&r).starts_with("---\n# Source: top/crds/crd.yaml\n"));
}

#[test]
fn errors_read_like_helms() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let base = |tpl: &str, extra: &[(&str, &str)]| {
        let mut f = files(&[
            ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n"),
            ("templates/t.yaml", tpl),
        ]);
        for (k, v) in extra {
            f.insert(k.to_string(), v.as_bytes().to_vec());
        }
        f
    };
    // fail in NOTES.txt fails the render.
    let f = base(
        "a: 1\n",
        &[("templates/NOTES.txt", "x\n  {{ fail \"boom\" }}")],
    );
    assert_eq!(native(&f, None).unwrap_err(), helm_error(&f));
    assert_eq!(
        native(&f, None).unwrap_err(),
        "execution error at (c/templates/NOTES.txt:2:5): boom"
    );
    // required.
    let f = base("a: {{ required \"a is required\" .Values.a }}\n", &[]);
    assert_eq!(native(&f, None).unwrap_err(), helm_error(&f));
    // nil pointer, directly and through include.
    let f = base("a: {{ .Values.a.b.c }}\n", &[]);
    assert_eq!(native(&f, None).unwrap_err(), helm_error(&f));
    let f = base(
        "a: {{ include \"x\" . }}\n",
        &[(
            "templates/_h.tpl",
            "{{ define \"x\" }}{{ .Values.a.b.c }}{{ end }}",
        )],
    );
    assert_eq!(native(&f, None).unwrap_err(), helm_error(&f));
}

#[test]
fn parse_errors_read_like_helms() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let f = files(&[
        ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n"),
        ("templates/t.yaml", "a: {{ .Values.a }\n"),
    ]);
    assert_eq!(native(&f, None).unwrap_err(), helm_error(&f));
}

#[test]
fn kube_version_and_schema_errors() {
    let f = files(&[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: c\nversion: 1.0.0\nkubeVersion: \">=1.32.0-0\"\n",
        ),
        ("templates/t.yaml", "a: 1\n"),
    ]);
    let c = Chart::from_files(f).unwrap();
    let e = render(
        &c,
        &RenderOptions {
            kube_version: "v1.20.0".into(),
            ..RenderOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "chart requires kubeVersion: >=1.32.0-0 which is incompatible with Kubernetes v1.20.0"
    );
    assert!(render(&c, &RenderOptions::default()).is_ok());

    let f = files(&[
        ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n"),
        ("values.yaml", "replicas: 1\n"),
        (
            "values.schema.json",
            r#"{"type":"object","properties":{"replicas":{"type":"integer"}}}"#,
        ),
        ("templates/t.yaml", "a: {{ .Values.replicas }}\n"),
    ]);
    let c = Chart::from_files(f).unwrap();
    assert!(render(&c, &RenderOptions::default()).is_ok());
    let values = Dict::new();
    parse_set("replicas=two", &values).unwrap();
    let e = render(
        &c,
        &RenderOptions {
            values,
            ..RenderOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("values don't meet the specifications of the schema(s) in the following chart(s):\nc:\n- at '/replicas': "),
        "{e}"
    );
}

#[test]
fn library_chart_alone_is_not_installable() {
    let c = Chart::from_files(files(&[(
        "Chart.yaml",
        "apiVersion: v2\nname: l\nversion: 1.0.0\ntype: library\n",
    )]))
    .unwrap();
    let e = render(&c, &RenderOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("library charts are not installable"),
        "{e}"
    );
}

#[test]
fn comments_trim_only_their_marked_side_and_files_as_config_match_helm() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let f = files(&[
        ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n"),
        ("conf/a.ini", "x = 1\ny = 2\n"),
        ("conf/b.txt", "single"),
        (
            "templates/t.yaml",
            "rules:\n  - a: 1\n  {{- /* left-trimmed\n  comment */}}\n  - b: 2\n  {{- /* both */ -}}\n  - c: 3\n",
        ),
        (
            "templates/cm.yaml",
            concat!(
                "data:\n{{ .Files.AsConfig | indent 2 }}\nsecrets:\n{{ .Files.AsSecrets | indent 2 }}\n",
                "glob:\n{{ (.Files.Glob \"conf/*.ini\").AsConfig | indent 2 }}\n",
                "globsecrets: {{ (.Files.Glob \"conf/*.txt\").AsSecrets }}\n",
                "all:{{ range $p, $_ := .Files }} {{ $p }}{{ end }} {{ len .Files }}\n",
                "kube: {{ .Capabilities.KubeVersion }} {{ .Capabilities.KubeVersion.GitVersion }}\n",
                "helm: {{ .Capabilities.HelmVersion }} apis: {{ gt (len .Capabilities.APIVersions) 10 }}\n",
            ),
        ),
    ]);
    let out = same_as_helm(&f, None);
    assert!(out.contains("  - a: 1\n  - b: 2- c: 3"), "{out}");
}

#[test]
fn glob_results_tpl_and_set_ints_match_helm() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let f = files(&[
        ("Chart.yaml", "apiVersion: v2\nname: g\nversion: 1.0.0\n"),
        ("values.yaml", "t: \"{{ .Release.Name }}-{{ .Values.num }}\"\nnum: 3\n"),
        ("conf/a.ini", "a\n"),
        ("conf/b.ini", "b\n"),
        (
            "templates/t.yaml",
            concat!(
                "none: {{ if .Files.Glob \"none/*\" }}yes{{ else }}no{{ end }}\n",
                "some: {{ if .Files.Glob \"conf/*\" }}yes{{ else }}no{{ end }} {{ len (.Files.Glob \"conf/*\") }}\n",
                "tpl: {{ tpl .Values.t . }}\n",
                "n: {{ .Values.num }} {{ typeOf .Values.num }}\n",
            ),
        ),
    ]);
    let out = same_as_helm(&f, None);
    assert!(
        out.contains("none: no\nsome: yes 2\ntpl: release-name-3\nn: 3 float64"),
        "{out}"
    );
    // --set integers are integers (int64 in Helm), not floats.
    let c = Chart::from_files(f).unwrap();
    let values = Dict::new();
    parse_set("num=7", &values).unwrap();
    let r = render(
        &c,
        &RenderOptions {
            values,
            ..RenderOptions::default()
        },
    )
    .unwrap();
    let t = &r.manifests["g/templates/t.yaml"];
    assert!(t.contains("tpl: release-name-7\nn: 7 int"), "{t}");
    assert!(!t.contains("float64"), "{t}");
}

/// Helm quirk: without a `dependencies` list in the parent's Chart.yaml, dependency
/// processing stops there, so a vendored subchart's own disabled dependency still renders;
/// with `dependencies: []` it is processed (and left out).
#[test]
fn dependency_processing_needs_a_dependencies_list_like_helm() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let mut f = files(&[
        ("Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.0.0\n"),
        ("templates/t.yaml", "a: 1\n"),
        (
            "charts/sub/Chart.yaml",
            "apiVersion: v2\nname: sub\nversion: 1.0.0\ndependencies:\n- name: leaf\n  version: 1.0.0\n  condition: leaf.enabled\n",
        ),
        ("charts/sub/values.yaml", "leaf:\n  enabled: false\n"),
        ("charts/sub/charts/leaf/Chart.yaml", "apiVersion: v2\nname: leaf\nversion: 1.0.0\n"),
        ("charts/sub/charts/leaf/templates/l.yaml", "leaf: 1\n"),
    ]);
    let out = same_as_helm(&f, None);
    assert!(
        out.contains("top/charts/sub/charts/leaf/templates/l.yaml"),
        "{out}"
    );
    f.insert(
        "Chart.yaml".into(),
        b"apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies: []\n".to_vec(),
    );
    let out = same_as_helm(&f, None);
    assert!(!out.contains("leaf"), "{out}");
}

/// A chart large enough that its schema is validated on another thread while the templates
/// are parsed on all cores: the outcome is Helm's whether the values violate the schema (the
/// schema error wins over a template parse error, as in Helm), or not (the first template, in
/// Helm's order, that fails to parse is named), or everything is fine.
#[test]
fn large_chart_threaded_parse_and_schema_keep_helms_outcome() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let pad = "x".repeat(70 << 10);
    let schema = format!(
        "{{\"$schema\": \"http://json-schema.org/draft-07/schema#\", \"description\": \"{pad}\", \
         \"type\": \"object\", \"properties\": {{\"replicas\": {{\"type\": \"integer\"}}}}}}"
    );
    let filler = "# {{ .Values.replicas }}\n".repeat(2000);
    let mut list: Vec<(String, String)> = vec![
        (
            "Chart.yaml".into(),
            "apiVersion: v2\nname: big\nversion: 1.0.0\n".into(),
        ),
        ("values.yaml".into(), "replicas: 2\n".into()),
        ("values.schema.json".into(), schema),
    ];
    for i in 0..8 {
        list.push((
            format!("templates/t{i}.yaml"),
            format!("{filler}kind: ConfigMap\nmetadata: {{name: t{i}}}\n"),
        ));
    }
    let chart = |extra: &[(&str, &str)]| -> ChartFiles {
        let mut l: Vec<(&str, &str)> = list.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        l.extend_from_slice(extra);
        files(&l)
    };
    let ok = chart(&[]);
    assert!(ok.values().map(Vec::len).sum::<usize>() > 200 << 10);
    same_as_helm(&ok, None);

    // Two templates that do not parse: Helm names the first in its order.
    let broken = chart(&[
        ("templates/a.yaml", "{{ if }}"),
        ("templates/z.yaml", "{{ end }}"),
    ]);
    let want = helm_error(&broken);
    let got = native(&broken, None).unwrap_err();
    assert_eq!(got, want.trim());

    // Values that violate the schema as well: the schema error comes first.
    let got = native(&broken, Some("replicas: many\n")).unwrap_err();
    let want = helm(&broken, Some("replicas: many\n")).unwrap_err();
    assert!(got.contains("replicas"), "{got}");
    assert!(want.contains("replicas"), "{want}");
    assert!(
        !got.contains("a.yaml"),
        "the parse error must not win: {got}"
    );
}

/// The dependencies the Helm SDK's `helm dependency list` reports as `missing` for a chart.
fn helm_missing_dependencies(f: &ChartFiles) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chart");
    write_chart(&dir, f);
    let code = "import sys, helm_python as helm\n\
                for d in helm.dependency_list(sys.argv[1]):\n\
                \x20   if d['status'] == 'missing': print(d['name'])\n";
    let o = Command::new(Need::Venv.path())
        .arg("-c")
        .arg(code)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "oracle: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// A dependency declared in Chart.yaml (or requirements.yaml) but absent from `charts/` fails
/// the render as `helm template` does (its check covers disabled and aliased dependencies
/// too), naming the chart and every missing dependency the SDK's `dependency list` reports.
#[test]
fn missing_dependencies_fail_like_helm_template() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let deps = "- name: sub\n  version: 0.1.x\n- name: gone\n  version: 1.x\n  condition: gone.enabled\n- name: away\n  version: 2.x\n  alias: far\n";
    let mut f = files(&[
        (
            "Chart.yaml",
            &format!("apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n{deps}"),
        ),
        ("values.yaml", "gone: {enabled: false}\n"),
        ("templates/t.yaml", "a: 1\n"),
        (
            "charts/sub/Chart.yaml",
            "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        ),
    ]);
    let want = helm_missing_dependencies(&f);
    assert_eq!(want, ["gone", "away"]);
    let e = native(&f, None).unwrap_err();
    assert_eq!(
        e,
        format!(
            "chart top: an error occurred while checking for chart dependencies. You may need to \
             run 'helm dependency build' to fetch missing dependencies: found in Chart.yaml, but \
             missing in charts/ directory: {}",
            want.join(", ")
        )
    );
    // apiVersion v1 charts declare them in requirements.yaml.
    f.insert(
        "Chart.yaml".into(),
        b"apiVersion: v1\nname: top\nversion: 1.0.0\n".to_vec(),
    );
    f.insert(
        "requirements.yaml".into(),
        format!("dependencies:\n{deps}").into_bytes(),
    );
    assert_eq!(helm_missing_dependencies(&f), want);
    let e = native(&f, None).unwrap_err();
    assert!(e.ends_with(": gone, away"), "{e}");
    // With every dependency present, the render is Helm's.
    f.insert(
        "charts/gone/Chart.yaml".into(),
        b"apiVersion: v2\nname: gone\nversion: 1.0.0\n".to_vec(),
    );
    f.insert(
        "charts/away/Chart.yaml".into(),
        b"apiVersion: v2\nname: away\nversion: 2.0.0\n".to_vec(),
    );
    assert!(helm_missing_dependencies(&f).is_empty());
    same_as_helm(&f, None);
}

/// Error texts as the Helm SDK prints them, whole: a function error wrapping a plain Go error
/// stays on Go's one line (directly and under `include`), `include` of a missing template,
/// a literal of the wrong type for a map parameter, a write into a nil map.
#[test]
fn function_include_and_literal_errors_read_like_helms_whole() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let cases = [
        "a: {{ semverCompare \"not a constraint\" \"1.0.0\" }}\n",
        "a: {{ include \"x\" . }}\n",
        "a: {{ include \"nope\" . }}\n",
        "a: {{ include \"y\" . }}\n",
        "a: {{ hasKey \"notamap\" \"k\" }}\n",
        "a: {{ merge (dict) true }}\n",
        "a: {{ keys (dict) 3 }}\n",
        "a: {{ $m := index .Values \"nope\" }}{{ set $m \"k\" 1 }}\n",
        "a: {{ hasKey .Values.missing \"k\" }}\n",
        "a: {{ toYaml (dict \"a\" (concat (list) (list))) }} {{ mustRegexMatch \"[\" \"x\" }}\n",
    ];
    for tpl in cases {
        let f = files(&[
            ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n"),
            ("templates/t.yaml", tpl),
            (
                "templates/_h.tpl",
                "{{ define \"x\" }}{{ semverCompare \">1\" \"bad\" }}{{ end }}{{ define \"y\" }}{{ include \"missing.helper\" . }}{{ end }}",
            ),
        ]);
        assert_eq!(native(&f, None).unwrap_err(), helm_error(&f), "{tpl}");
    }
}

/// `(documents, yaml_error)` of a stream: Helm v4's `SplitManifests` split (its separator
/// regex, blank documents dropped, each left-trimmed) and what PyYAML says of the whole stream.
fn helm_split_and_yaml(stream: &str) -> (Vec<String>, String) {
    let code = "import sys, re, json, yaml\n\
                s = sys.stdin.read()\n\
                docs = [d.lstrip() for d in re.split(r'(?m)^---[ \\t]*', s.lstrip()) if d.strip()]\n\
                try:\n\
                \x20   n = [d for d in yaml.safe_load_all(s) if d is not None]; err = ''\n\
                except yaml.YAMLError as e:\n\
                \x20   err = str(e).splitlines()[0]\n\
                print(json.dumps([docs, err]))\n";
    let mut child = Command::new(Need::Venv.path())
        .arg("-c")
        .arg(code)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A separator glued to what follows (`---# comment`, `---apiVersion: v1`, as cert-manager's
/// rbac.yaml emits) is split as Helm splits it: the stream holds Helm's documents and is
/// valid YAML (the SDK's raw template text is not); everything else is the SDK's bytes.
#[test]
fn glued_separators_split_as_helm_splits_them() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let f = files(&[
        ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n"),
        (
            "templates/t.yaml",
            "kind: A\n\n---# Permission to approve\nkind: B\n---apiVersion: v1\nkind: C\n--- # spaced\nkind: D\n---\t\nkind: E\n",
        ),
        ("templates/u.yaml", "kind: F\n---\n# plain\nkind: G\n"),
    ]);
    let want = helm(&f, None).unwrap();
    let got = native(&f, None).unwrap();
    let (helm_docs, helm_yaml) = helm_split_and_yaml(&want);
    let (docs, yaml) = helm_split_and_yaml(&got);
    assert!(!helm_yaml.is_empty(), "the SDK's raw text parses: {want}");
    assert_eq!(yaml, "", "{got}");
    assert_eq!(docs, helm_docs);
    // Byte for byte the SDK's text with each glued `---` line broken after the dashes (a tab
    // after them, which YAML refuses there, dropped).
    let expected: String = want
        .split_inclusive('\n')
        .map(|l| match l.strip_prefix("---") {
            Some(r) if !r.trim_end_matches('\n').trim_matches(' ').is_empty() => {
                let c = r.trim_start_matches([' ', '\t']);
                let nl = if c.starts_with('\n') { "" } else { "\n" };
                format!("---{nl}{c}")
            }
            _ => l.to_string(),
        })
        .collect();
    assert_eq!(got, expected);
}

/// Documents of a stream by `# Source:` template, as JSON.
fn stream_documents(stream: &str) -> BTreeMap<String, Vec<serde_json::Value>> {
    let mut out: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for d in imagebom_extract::split_stream(stream) {
        let v = imagebom_template::convert::from_yaml_str(d.text).unwrap();
        let v = imagebom_template::convert::to_json(&v);
        if !v.is_null() {
            out.entry(d.source.unwrap_or_default()).or_default().push(v);
        }
    }
    out
}

/// The charts of `shared/corpus-wide` that failed before issue 12 §3 (`has` on
/// `.Capabilities.APIVersions`, a nil map through a variable and through `(index …)`) render
/// document for document as the committed Helm v4 SDK renders; wordpress's three
/// `randAlphaNum` passwords (base64 of 10 alphanumerics) are compared by shape.
#[test]
fn corpus_wide_charts_that_failed_render_as_helm_does() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let wide = imagebom_testkit::workspace().join("../shared/corpus-wide");
    let random = [
        (
            "wordpress/charts/mariadb/templates/secrets.yaml",
            "/data/mariadb-password",
        ),
        (
            "wordpress/charts/mariadb/templates/secrets.yaml",
            "/data/mariadb-root-password",
        ),
        (
            "wordpress/templates/secrets.yaml",
            "/data/wordpress-password",
        ),
    ];
    for name in ["external-secrets", "wordpress", "istiod"] {
        let chart = Chart::load_dir(wide.join("charts").join(name)).unwrap();
        let got =
            render(&chart, &RenderOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = std::fs::read_to_string(wide.join(format!("rendered/{name}.yaml"))).unwrap();
        let (mut w, mut g) = (stream_documents(&want), stream_documents(&to_stream(&got)));
        for (source, pointer) in random.iter().filter(|(s, _)| s.starts_with(name)) {
            for docs in [&mut w, &mut g] {
                let v = docs.get_mut(*source).unwrap()[0]
                    .pointer_mut(pointer)
                    .unwrap();
                let text = v.as_str().unwrap();
                assert!(
                    text.len() == 16 && text.ends_with("=="),
                    "{name} {source} {pointer}: {text}"
                );
                *v = serde_json::Value::String("<random>".into());
            }
        }
        assert_eq!(
            w.keys().collect::<Vec<_>>(),
            g.keys().collect::<Vec<_>>(),
            "{name}"
        );
        for (source, docs) in &w {
            assert_eq!(docs, &g[source], "{name}: {source}");
        }
    }
}

/// `parent_chart` with templates that list `.Files` (every file's contents) and print
/// `AsConfig`, `AsSecrets` and the subchart's `.Files.Get`, written to a directory.
fn files_chart() -> ChartFiles {
    let mut f = parent_chart();
    f.insert(
        "templates/files.yaml".into(),
        concat!(
            "kind: Files\n",
            "all:{{ range $p, $c := .Files }} {{ $p }}={{ $c | quote }}{{ end }}\n",
            "n: {{ len .Files }} config: {{ (.Files.Glob \"files/*\").AsConfig | quote }}\n",
            "secrets: {{ (.Files.Glob \"files/*\").AsSecrets | quote }}\n",
            "crd: {{ .Files.Get \"crds/crd.yaml\" | quote }}\n",
        )
        .as_bytes()
        .to_vec(),
    );
    f.insert(
        "charts/sub/files/s.txt".into(),
        b"\xEF\xBB\xBFsub file".to_vec(),
    );
    f.insert(
        "charts/sub/templates/f.yaml".into(),
        b"kind: SubFile\nget: {{ .Files.Get \"files/s.txt\" | quote }}\n".to_vec(),
    );
    f
}

fn native_dir(dir: &Path, include_crds: bool) -> Result<imagebom_helm::Rendered, String> {
    let c = Chart::load_dir(dir).map_err(|e| e.to_string())?;
    render(
        &c,
        &RenderOptions {
            include_crds,
            ..RenderOptions::default()
        },
    )
    .map_err(|e| e.to_string())
}

#[test]
fn tmplspeed_files_of_a_directory_read_on_demand_match_helm() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let f = files_chart();
    let want = helm(&f, None).unwrap_or_else(|e| panic!("helm failed: {e}"));
    let tmp = tempfile::tempdir().unwrap();
    write_chart(tmp.path(), &f);
    let got = to_stream(&native_dir(tmp.path(), false).unwrap());
    assert_eq!(got, want);
    assert!(got.contains("get: \"sub file\""), "{got}");
    assert!(
        got.contains("crds/crd.yaml=\"kind: CustomResourceDefinition\\n\""),
        "{got}"
    );
}

#[test]
fn tmplspeed_crds_and_files_are_read_only_when_the_render_needs_them() {
    let tmp = tempfile::tempdir().unwrap();
    write_chart(tmp.path(), &parent_chart());
    let c = Chart::load_dir(tmp.path()).unwrap();
    let crd = tmp.path().join("crds/crd.yaml");
    std::fs::remove_file(&crd).unwrap();
    // Without includeCrds nothing reads the CRD.
    let r = render(&c, &RenderOptions::default()).unwrap();
    assert!(r.crds.is_empty());
    // With it, the file that is gone is an error naming it.
    let e = render(
        &c,
        &RenderOptions {
            include_crds: true,
            ..RenderOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains(&crd.display().to_string()), "{e}");
    // A `.Files.Get` of a file that is gone names it too.
    let c = Chart::load_dir(tmp.path()).unwrap();
    let b = tmp.path().join("files/b.txt");
    std::fs::remove_file(&b).unwrap();
    let e = render(&c, &RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains(&b.display().to_string()), "{e}");
}
