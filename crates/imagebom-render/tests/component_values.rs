//! A component without a chart gives its templated manifests values of its own
//! (`components[].valuesFiles`, `components[].values`; our format's plain convention: they are
//! `.Values`). A real AICR templated manifest rendered with values given directly, checked
//! against the Helm v4 SDK rendering the same file as the one template of a chart named after
//! the component (version `0.1.0`, release = component name).

use imagebom_recipe::Recipe;

const ORACLE: &str = r#"
import json, sys, helm_python as helm
job = json.load(open(sys.argv[1]))
with helm.Chart.load(job["chart"]) as chart:
    m = chart.render(job["values"], name=job["release"], namespace=job["namespace"], is_install=True)
json.dump(m.get(job["template"], ""), open(sys.argv[2], "w"))
"#;

const COMPONENT: &str = "nodewright-customizations";

/// The Helm SDK's render of `manifest` with `values` (JSON), as described above.
fn helm_render(
    python: &std::path::Path,
    dir: &std::path::Path,
    manifest: &std::path::Path,
    values: serde_json::Value,
) -> String {
    let chart = dir.join("oracle-chart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {COMPONENT}\nversion: 0.1.0\n"),
    )
    .unwrap();
    std::fs::copy(manifest, chart.join("templates/tuning.yaml")).unwrap();
    let job = serde_json::json!({
        "chart": chart, "values": values, "release": COMPONENT, "namespace": "skyhook",
        "template": format!("{COMPONENT}/templates/tuning.yaml"),
    });
    let out = imagebom_testkit::run_oracle_script(python, ORACLE, job.to_string().as_bytes());
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn a_chartless_component_renders_its_templated_manifest_with_its_own_values() {
    let Some(aicr) = imagebom_testkit::shared("aicr", "IMAGEBOM_AICR", "recipes") else {
        return;
    };
    let Some(python) = imagebom_testkit::venv_python() else {
        return;
    };
    let manifest = aicr.join(format!(
        "recipes/components/{COMPONENT}/manifests/tuning.yaml"
    ));
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("off.yaml"),
        format!("{COMPONENT}:\n  enabled: \"false\"\n  acceleratedTolerations:\n    - {{key: nvidia.com/gpu, operator: Exists}}\n"),
    )
    .unwrap();
    let recipe = |values: &str| {
        let path = tmp.path().join("recipe.yaml");
        std::fs::write(
            &path,
            format!(
                "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {{name: r, version: '1'}}\n\
                 components:\n  - name: {COMPONENT}\n    namespace: skyhook\n    manifests: [{}]\n    \
                 manifestsAre: templates\n    valuesFiles: [off.yaml]\n{values}",
                manifest.display()
            ),
        )
        .unwrap();
        Recipe::load(&path).unwrap()
    };

    // The values file alone turns the customization off: nothing but comments is rendered.
    let off = recipe("");
    let streams = imagebom_render::render_manifests(&off, 0).unwrap();
    let want = helm_render(
        &python,
        tmp.path(),
        &manifest,
        serde_json::json!({COMPONENT: {"enabled": "false",
            "acceleratedTolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]}}),
    );
    assert_eq!(streams[0].text, want, "differs from the Helm SDK");
    assert!(
        !streams[0].text.contains("kind: Skyhook"),
        "{}",
        streams[0].text
    );

    // Inline values come after the files and are merged into them.
    let on = recipe(&format!(
        "    values:\n      {COMPONENT}: {{enabled: true}}\n"
    ));
    let streams = imagebom_render::render_manifests(&on, 0).unwrap();
    let want = helm_render(
        &python,
        tmp.path(),
        &manifest,
        serde_json::json!({COMPONENT: {"enabled": true,
            "acceleratedTolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]}}),
    );
    let s = &streams[0];
    assert_eq!(s.text, want, "differs from the Helm SDK");
    assert!(s.text.contains("kind: Skyhook") && s.text.contains("key: nvidia.com/gpu"));
    // The evidence names the manifest file; its lines are those of the rendered text.
    assert_eq!(
        std::fs::canonicalize(&s.file).unwrap(),
        std::fs::canonicalize(&manifest).unwrap(),
        "{}",
        s.file
    );
    assert!(!s.from_chart);
    let line = s
        .text
        .lines()
        .position(|l| l.contains("image: ghcr.io/nvidia/nodewright-packages/nvidia-setup"))
        .expect("the rendered Skyhook names its package image");
    assert!(line > 0);
}

#[test]
fn a_template_error_in_a_chartless_component_names_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("m.yaml"),
        "kind: Pod\nspec:\n  containers:\n    - image: {{ .Values.image | required \"image is required\" }}\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("v.yaml"), "image: busybox:1.37\n").unwrap();
    let path = tmp.path().join("recipe.yaml");
    let write = |values: &str| {
        std::fs::write(
            &path,
            format!(
                "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {{name: r, version: '1'}}\n\
                 components:\n  - name: pod\n    manifests: [m.yaml]\n    manifestsAre: templates\n{values}"
            ),
        )
        .unwrap();
        Recipe::load(&path).unwrap()
    };
    let ok = write("    valuesFiles: [v.yaml]\n");
    let s = imagebom_render::render_manifests(&ok, 0).unwrap();
    assert!(s[0].text.contains("image: busybox:1.37"), "{}", s[0].text);
    let inline = write("    values: {image: 'nginx:1.27'}\n");
    let s = imagebom_render::render_manifests(&inline, 0).unwrap();
    assert!(s[0].text.contains("image: nginx:1.27"), "{}", s[0].text);
    let none = write("");
    let e = imagebom_render::render_manifests(&none, 0)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("m.yaml") && e.contains(":4") && e.contains("image is required"),
        "{e}"
    );
}
