//! `generators:` with a HelmChartInflationGenerator config builds what the same chart as a
//! `helmCharts` entry (with `helmGlobals`) builds: Kustomize runs both through the same
//! builtin plugin. (The helm case `tests/helm-cases/generator-config` also checks such configs
//! against `kubectl kustomize --enable-helm` driving the Helm SDK, in `kubectl_cases.rs`.) The
//! ConfigMap and Secret kinds are the own case `tests/cases/generators-field`.

use imagebom_kustomize::build;
use imagebom_testkit::copy_dir;
use std::path::Path;

const CHART: &str = "name: web\nreleaseName: front\nnamespace: shop\nincludeCRDs: true\n\
                     skipTests: true\nadditionalValuesFiles: [values/extra.yaml]\nvaluesInline:\n  \
                     replicas: 3\n";

#[test]
fn a_helm_chart_inflation_generator_config_builds_as_the_helm_charts_entry() {
    let features = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helm-cases/features");
    let tmp = tempfile::tempdir().unwrap();
    let indent = |s: &str| {
        s.lines()
            .enumerate()
            .map(|(i, l)| format!("{}{l}\n", if i == 0 { "- " } else { "  " }))
            .collect::<String>()
    };
    let with_field = tmp.path().join("field");
    let with_generator = tmp.path().join("generator");
    for dir in [&with_field, &with_generator] {
        copy_dir(&features.join("charts"), &dir.join("vendor"));
        copy_dir(&features.join("values"), &dir.join("values"));
    }
    let common =
        "namespace: shop\ncommonLabels:\n  team: web\nconfigMapGenerator:\n- name: settings\n  \
                  literals: [mode=prod]\n";
    std::fs::write(
        with_field.join("kustomization.yaml"),
        format!(
            "{common}helmGlobals:\n  chartHome: vendor\nhelmCharts:\n{}",
            indent(CHART)
        ),
    )
    .unwrap();
    std::fs::write(
        with_generator.join("kustomization.yaml"),
        format!("{common}generators: [helm.yaml]\n"),
    )
    .unwrap();
    std::fs::write(
        with_generator.join("helm.yaml"),
        format!(
            "apiVersion: builtin\nkind: HelmChartInflationGenerator\nmetadata:\n  name: web-chart\n\
             chartHome: vendor\n{CHART}"
        ),
    )
    .unwrap();
    let want = build(&with_field).unwrap();
    let got = build(&with_generator).unwrap();
    assert!(want.len() >= 4, "{}", imagebom_kustomize::to_yaml(&want));
    let docs =
        |o: &[imagebom_kustomize::Object]| o.iter().map(|o| o.doc.clone()).collect::<Vec<_>>();
    assert_eq!(docs(&got), docs(&want));
    assert_eq!(
        imagebom_kustomize::to_yaml(&got),
        imagebom_kustomize::to_yaml(&want)
    );
}

/// IAMPolicyGenerator is a builtin generator imagebom does not implement: refused naming the
/// config file, never ignored.
#[test]
fn an_iam_policy_generator_is_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("kustomization.yaml"),
        "generators: [iam.yaml]\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("iam.yaml"),
        "apiVersion: builtin\nkind: IAMPolicyGenerator\nmetadata: {name: x}\ncloud: gke\n",
    )
    .unwrap();
    let err = build(tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("iam.yaml")
            && err.contains("IAMPolicyGenerator")
            && err.contains("not supported"),
        "{err}"
    );
}
