//! AICR's templated in-tree manifests (`$IMAGEBOM_AICR/recipes/components/*/manifests`) render
//! natively exactly as the Helm v4 SDK renders them as the only template of AICR's `<name>-post`
//! wrapper chart (`.Values` = `{<component>: <values.yaml>}`, `.Chart.Name` the chart name,
//! `.Chart.Version` without `v`, the component's namespace).

use imagebom_recipe::Recipe;

const ORACLE: &str = r#"
import json, sys, yaml, helm_python as helm
out = {}
for job in json.load(open(sys.argv[1])):
    values = yaml.safe_load(open(job["values"])) if job["values"] else {}
    with helm.Chart.load(job["chart"]) as chart:
        m = chart.render({job["component"]: values or {}}, name=job["release"],
                         namespace=job["namespace"], is_install=True)
    out[job["key"]] = m.get(job["template"], "")
json.dump(out, open(sys.argv[2], "w"))
"#;

#[test]
fn aicr_templated_manifests_render_as_the_helm_sdk_does() {
    let Some(aicr) = imagebom_testkit::shared("aicr", "IMAGEBOM_AICR", "recipes") else {
        return;
    };
    let Some(python) = imagebom_testkit::venv_python() else {
        return;
    };
    let recipe = Recipe::load(&aicr.join("recipes/registry.yaml")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut jobs = Vec::new();
    let mut ours = Vec::new();
    let mut plain = 0;
    for (i, c) in recipe.components.iter().enumerate() {
        let streams = imagebom_render::render_manifests(&recipe, i)
            .unwrap_or_else(|e| panic!("component {}: {e}", c.name));
        for (f, s) in recipe.manifest_files[i].iter().zip(streams) {
            let source = std::fs::read_to_string(f).unwrap();
            if !source.contains("{{") {
                assert_eq!(
                    s.text,
                    source,
                    "{}: a plain file is read as it is",
                    f.display()
                );
                plain += 1;
                continue;
            }
            let key = f.display().to_string();
            let chart = c
                .helm
                .as_ref()
                .map_or(c.name.as_str(), |h| h.chart.as_str());
            let version = c
                .helm
                .as_ref()
                .map(|h| h.version.trim_start_matches('v'))
                .filter(|v| !v.is_empty())
                .unwrap_or("0.1.0");
            let dir = tmp.path().join(format!("chart{}", jobs.len()));
            let base = f.file_name().unwrap().to_str().unwrap();
            std::fs::create_dir_all(dir.join("templates")).unwrap();
            std::fs::write(
                dir.join("Chart.yaml"),
                format!("apiVersion: v2\nname: {chart}\nversion: {version}\n"),
            )
            .unwrap();
            std::fs::write(dir.join("templates").join(base), &source).unwrap();
            let values = aicr.join(format!("recipes/components/{}/values.yaml", c.name));
            jobs.push(serde_json::json!({
                "key": key,
                "chart": dir,
                "template": format!("{chart}/templates/{base}"),
                "values": values.is_file().then(|| values.display().to_string()),
                "component": c.name,
                "release": format!("{}-post", c.name),
                "namespace": c.namespace.clone().unwrap_or_else(|| "default".into()),
            }));
            ours.push((key, s.text));
        }
    }
    assert_eq!(
        (ours.len(), plain),
        (22, 9),
        "22 of the 31 manifest files are templates"
    );
    let out =
        imagebom_testkit::run_oracle_script(&python, ORACLE, &serde_json::to_vec(&jobs).unwrap());
    let helm: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&out).unwrap();
    for (key, text) in &ours {
        let want = helm[key].as_str().unwrap();
        assert!(!want.trim().is_empty() || text.trim().is_empty(), "{key}");
        assert_eq!(text, want, "{key}: differs from the Helm SDK");
    }
}
