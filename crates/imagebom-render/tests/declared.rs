//! Declared images of a real chart with subcharts (Bitnami's wordpress in the wide corpus:
//! mariadb and memcached behind `condition`s, each with its own `images` annotation): a
//! subchart's declared images are listed exactly when the Helm v4 SDK renders that subchart.

use std::collections::BTreeSet;
use std::path::Path;

use imagebom_helm::{declared_images, load_values, Chart};
use imagebom_template::convert::from_yaml_str;
use imagebom_template::Value;

/// Subcharts (`wordpress/charts/<x>`) the Helm SDK renders templates of, with `values`.
fn helm_rendered_subcharts(python: &Path, corpus: &Path, values: &str) -> BTreeSet<String> {
    let tmp = tempfile::tempdir().unwrap();
    let vf = tmp.path().join("values.yaml");
    std::fs::write(&vf, values).unwrap();
    let out = tmp.path().join("out.yaml");
    let script = corpus.join("../oracle/helm_render.py");
    let status = std::process::Command::new(python)
        .arg(&script)
        .arg(corpus.join("charts/wordpress"))
        .arg(&out)
        .arg(&vf)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("# Source: wordpress/charts/"))
        .filter_map(|rest| rest.split('/').next())
        .map(|s| format!("wordpress/charts/{s}"))
        .collect()
}

/// Subcharts whose own `Chart.yaml` carries an images annotation.
fn annotated_subcharts(corpus: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(corpus.join("charts/wordpress/charts")).unwrap() {
        let p = e.unwrap().path();
        let Ok(text) = std::fs::read_to_string(p.join("Chart.yaml")) else {
            continue;
        };
        let meta = from_yaml_str(&text).unwrap();
        if matches!(
            meta.field("annotations").and_then(|a| a.field("images")),
            Some(Value::String(_))
        ) {
            out.insert(format!(
                "wordpress/charts/{}",
                p.file_name().unwrap().to_str().unwrap()
            ));
        }
    }
    out
}

#[test]
fn wordpress_subchart_declarations_follow_helm_conditions() {
    let Some(corpus) = imagebom_testkit::shared("corpus-wide", "IMAGEBOM_CORPUS_WIDE", "charts")
    else {
        return;
    };
    let Some(python) = imagebom_testkit::venv_python() else {
        return;
    };
    let chart = Chart::load_dir(corpus.join("charts/wordpress")).unwrap();
    let annotated = annotated_subcharts(&corpus);
    assert!(annotated.len() >= 2, "{annotated:?}");
    let cases = [
        "{}\n",
        "memcached: {enabled: true}\nmariadb: {enabled: false}\n",
        "memcached: {enabled: true}\n",
    ];
    let mut distinct = BTreeSet::new();
    for values in cases {
        let rendered = helm_rendered_subcharts(&python, &corpus, values);
        let expected: BTreeSet<String> = rendered.intersection(&annotated).cloned().collect();
        distinct.insert(expected.clone());
        let d =
            declared_images(&chart, &load_values("values", values.as_bytes()).unwrap()).unwrap();
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        let got: BTreeSet<String> = d
            .images
            .iter()
            .filter(|i| i.chart != "wordpress")
            .map(|i| i.chart.clone())
            .collect();
        assert_eq!(got, expected, "values {values:?}");
        // The parent's own entries are there whatever the subcharts do.
        assert!(
            d.images.iter().any(|i| i.chart == "wordpress"),
            "{values:?}"
        );
    }
}
