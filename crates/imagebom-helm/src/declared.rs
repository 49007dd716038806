//! Images a chart declares in `Chart.yaml` annotations: `helm.sh/images` (HIP-0015),
//! `artifacthub.io/images` and Bitnami's unprefixed `images`. Each is a YAML string holding a
//! list of `{name, image}` maps; `helm.sh/images` entries may add `condition` (values paths,
//! as a dependency's) and `dependency` (the subchart the image belongs to).
//!
//! [`declared_images`] reads them from a chart and its enabled subcharts and evaluates each
//! entry against the values as Helm evaluates dependency conditions: the first path that holds
//! a bool decides, none means enabled. Entries switched off, and entries of disabled subcharts,
//! are not returned.

use imagebom_template::{Dict, Value};

use crate::chart::{strs, Chart};
use crate::deps::process_dependencies;
use crate::error::Result;
use crate::values::{coalesce_values, path_value};

/// The annotations read, in the order their entries are returned.
pub const IMAGE_ANNOTATIONS: [&str; 3] = ["helm.sh/images", "artifacthub.io/images", "images"];

/// One entry of an images annotation that applies with the values given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredImage {
    /// The chart the image belongs to, as template paths name it (`wordpress`,
    /// `wordpress/charts/mariadb`; for a `dependency` entry, that subchart).
    pub chart: String,
    /// The `Chart.yaml` that declares it (`wordpress/Chart.yaml`).
    pub source: String,
    /// The annotation (`helm.sh/images`).
    pub annotation: String,
    /// Position in the annotation's list.
    pub index: usize,
    /// `name`.
    pub name: String,
    /// `image`, as written.
    pub image: String,
    /// `condition`, if any (it held true, or no path of it held a bool).
    pub condition: String,
    /// `dependency`, if any.
    pub dependency: String,
    /// Artifact Hub's `platforms`, if any.
    pub platforms: Vec<String>,
}

/// An annotation that could not be read, or an entry without an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredProblem {
    /// The `Chart.yaml` (`wordpress/Chart.yaml`).
    pub source: String,
    /// The chart's name.
    pub chart: String,
    /// The annotation, with the entry's index when the problem is one entry's.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// What a chart declares with given values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    /// The entries that apply, chart by chart (parent first), in annotation order.
    pub images: Vec<DeclaredImage>,
    /// Unreadable annotations and entries.
    pub problems: Vec<DeclaredProblem>,
}

/// Reads the images `chart` and its enabled subcharts declare, with the user values `vals`
/// (dependency processing and conditions as [`crate::render`] applies them).
pub fn declared_images(chart: &Chart, vals: &Dict) -> Result<Declared> {
    let mut out = Declared::default();
    if !declares_any(chart) {
        return Ok(out);
    }
    let mut c = chart.deep_clone();
    let user = vals.deep_copy();
    process_dependencies(&mut c, &user)?;
    let values = coalesce_values(&c, &user)?;
    walk(chart, &c, &values, "", c.name(), &mut out);
    Ok(out)
}

fn declares_any(c: &Chart) -> bool {
    IMAGE_ANNOTATIONS
        .iter()
        .any(|a| c.metadata.annotations.contains_key(*a))
        || c.dependencies.iter().any(declares_any)
}

/// `original` is the chart as loaded (for dependency names before aliasing), `c` the
/// processed one; `prefix` the values path of `c` (`""`, `mariadb.`), `path` its chart path.
fn walk(original: &Chart, c: &Chart, values: &Dict, prefix: &str, path: &str, out: &mut Declared) {
    let source = format!("{path}/Chart.yaml");
    for annotation in IMAGE_ANNOTATIONS {
        let Some(text) = c.metadata.annotations.get(annotation) else {
            continue;
        };
        let problem = |path: String, message: String| DeclaredProblem {
            source: source.clone(),
            chart: c.name().to_string(),
            path,
            message,
        };
        let entries = match parse_entries(text) {
            Ok(e) => e,
            // Bitnami's key is unprefixed: another tool's `images` is not an error.
            Err(_) if annotation == "images" => continue,
            Err(m) => {
                out.problems.push(problem(annotation_path(annotation), m));
                continue;
            }
        };
        for (index, e) in entries.into_iter().enumerate() {
            let at = format!("{}/{index}", annotation_path(annotation));
            let image = field(&e, "image");
            if image.is_empty() {
                out.problems
                    .push(problem(at, "entry has no `image`".to_string()));
                continue;
            }
            let dependency = field(&e, "dependency");
            let chart = if dependency.is_empty() {
                path.to_string()
            } else {
                match subchart_state(original, c, &dependency) {
                    Some(true) => format!("{path}/charts/{dependency}"),
                    Some(false) => continue,
                    None => {
                        out.problems.push(problem(
                            at,
                            format!("`dependency: {dependency}` names no subchart of the chart"),
                        ));
                        format!("{path}/charts/{dependency}")
                    }
                }
            };
            let condition = field(&e, "condition");
            if !condition_holds(values, prefix, &condition) {
                continue;
            }
            out.images.push(DeclaredImage {
                chart,
                source: source.clone(),
                annotation: annotation.to_string(),
                index,
                name: field(&e, "name"),
                image,
                condition,
                dependency,
                platforms: strs(&e, "platforms"),
            });
        }
    }
    for sub in &c.dependencies {
        let orig = original
            .dependencies
            .iter()
            .find(|o| o.name() == sub.name() || alias_of(original, o) == Some(sub.name()))
            .unwrap_or(sub);
        walk(
            orig,
            sub,
            values,
            &format!("{prefix}{}.", sub.name()),
            &format!("{path}/charts/{}", sub.name()),
            out,
        );
    }
}

/// How evidence paths name an annotation: `annotations[helm.sh/images]`.
pub fn annotation_path(annotation: &str) -> String {
    format!("annotations[{annotation}]")
}

fn parse_entries(text: &str) -> std::result::Result<Vec<Value>, String> {
    match imagebom_template::convert::from_yaml_str(text) {
        Ok(Value::List(l)) => Ok(l
            .iter()
            .map(|v| match v {
                Value::Map(_) => Ok(v.clone()),
                other => Err(format!(
                    "entries must be maps with `name` and `image`, not {}",
                    kind(other)
                )),
            })
            .collect::<std::result::Result<_, _>>()?),
        Ok(Value::Nil) => Ok(Vec::new()),
        Ok(other) => Err(format!(
            "must be a YAML list of images, not {}",
            kind(&other)
        )),
        Err(e) => Err(format!("not valid YAML: {e}")),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "a map",
        Value::List(_) => "a list",
        Value::String(_) => "a string",
        _ => "a scalar",
    }
}

fn field(v: &Value, key: &str) -> String {
    match v.field(key) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Nil) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Helm's dependency-condition rule: comma-separated values paths (relative to the chart's
/// own values, `prefix`); the first that holds a bool decides; none means true.
fn condition_holds(values: &Dict, prefix: &str, condition: &str) -> bool {
    for p in condition.trim().split(',').map(str::trim) {
        if p.is_empty() {
            continue;
        }
        match path_value(values, &format!("{prefix}{p}")) {
            Some(Value::Bool(b)) => return b,
            Some(_) => tracing::warn!(path = %p, "images condition returned non-bool value"),
            None => {}
        }
    }
    true
}

fn alias_of<'a>(parent: &'a Chart, sub: &Chart) -> Option<&'a str> {
    parent
        .metadata
        .dependencies
        .iter()
        .find(|d| d.name == sub.name() && !d.alias.is_empty())
        .map(|d| d.alias.as_str())
}

/// Whether the subchart `name` (a dependency's name or alias) of `original` is enabled in the
/// processed chart `c`; `None` when the chart has no such subchart.
fn subchart_state(original: &Chart, c: &Chart, name: &str) -> Option<bool> {
    if c.dependencies.iter().any(|d| d.name() == name) {
        return Some(true);
    }
    let listed = original
        .metadata
        .dependencies
        .iter()
        .any(|d| d.name == name || d.alias == name);
    let present = original.dependencies.iter().any(|d| d.name() == name);
    (listed || present).then_some(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::ChartFiles;

    fn chart(list: &[(&str, &str)]) -> Chart {
        let files: ChartFiles = list
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        Chart::from_files(files).unwrap()
    }

    fn values(yaml: &str) -> Dict {
        match imagebom_template::convert::from_yaml_str(yaml).unwrap() {
            Value::Map(m) => m,
            _ => Dict::new(),
        }
    }

    fn images(d: &Declared) -> Vec<(String, String, String)> {
        d.images
            .iter()
            .map(|i| (i.chart.clone(), i.annotation.clone(), i.image.clone()))
            .collect()
    }

    const HIP: &str = "apiVersion: v2\nname: app\nversion: 1.0.0\nannotations:\n  helm.sh/images: |\n    - name: app\n      image: ghcr.io/acme/app:1.0.0\n    - name: metrics\n      image: ghcr.io/acme/metrics:2.0\n      condition: metrics.enabled,global.metrics\n    - name: db\n      image: docker.io/library/postgres:16\n      dependency: db\n  artifacthub.io/images: |\n    - name: app\n      image: ghcr.io/acme/app:1.0.0\n      whitelisted: true\n      platforms: [linux/amd64, linux/arm64]\ndependencies:\n  - name: postgres\n    alias: db\n    version: 1.x\n    condition: db.enabled\n";

    fn hip_chart() -> Chart {
        chart(&[
            ("Chart.yaml", HIP),
            ("values.yaml", "metrics:\n  enabled: false\ndb:\n  enabled: true\n"),
            (
                "charts/postgres/Chart.yaml",
                "apiVersion: v2\nname: postgres\nversion: 1.2.0\nannotations:\n  images: |\n    - name: pg\n      image: docker.io/bitnami/postgresql:16.1.0\n",
            ),
        ])
    }

    #[test]
    fn both_annotation_shapes_with_conditions_and_dependencies() {
        let d = declared_images(&hip_chart(), &Dict::new()).unwrap();
        assert_eq!(
            images(&d),
            vec![
                (
                    "app".into(),
                    "helm.sh/images".into(),
                    "ghcr.io/acme/app:1.0.0".into()
                ),
                (
                    "app/charts/db".into(),
                    "helm.sh/images".into(),
                    "docker.io/library/postgres:16".into()
                ),
                (
                    "app".into(),
                    "artifacthub.io/images".into(),
                    "ghcr.io/acme/app:1.0.0".into()
                ),
                (
                    "app/charts/db".into(),
                    "images".into(),
                    "docker.io/bitnami/postgresql:16.1.0".into()
                ),
            ]
        );
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(d.images[2].platforms, ["linux/amd64", "linux/arm64"]);
        assert_eq!(d.images[3].source, "app/charts/db/Chart.yaml");
        assert_eq!(d.images[1].index, 2);
    }

    #[test]
    fn conditions_follow_helm_dependency_rules() {
        let c = hip_chart();
        // The first path holding a bool decides: metrics.enabled=true.
        let d = declared_images(&c, &values("metrics: {enabled: true}\n")).unwrap();
        assert!(images(&d).iter().any(|i| i.2.contains("metrics")));
        // A non-bool is skipped; the next path (global.metrics) decides.
        let d = declared_images(
            &c,
            &values("metrics: {enabled: 'yes'}\nglobal: {metrics: false}\n"),
        )
        .unwrap();
        assert!(!images(&d).iter().any(|i| i.2.contains("metrics")));
        let d = declared_images(&c, &values("metrics: {enabled: 'yes'}\n")).unwrap();
        assert!(images(&d).iter().any(|i| i.2.contains("metrics")));
        // A disabled subchart: neither the parent's `dependency` entry nor its own.
        let d = declared_images(&c, &values("db: {enabled: false}\n")).unwrap();
        assert_eq!(
            images(&d),
            vec![
                (
                    "app".into(),
                    "helm.sh/images".into(),
                    "ghcr.io/acme/app:1.0.0".into()
                ),
                (
                    "app".into(),
                    "artifacthub.io/images".into(),
                    "ghcr.io/acme/app:1.0.0".into()
                ),
            ]
        );
    }

    #[test]
    fn subchart_conditions_are_relative_to_the_subchart_values() {
        let c = chart(&[
            ("Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.0.0\n"),
            (
                "charts/sub/Chart.yaml",
                "apiVersion: v2\nname: sub\nversion: 1.0.0\nannotations:\n  helm.sh/images: |\n    - {name: x, image: 'x:1', condition: x.enabled}\n",
            ),
            ("charts/sub/values.yaml", "x: {enabled: false}\n"),
        ]);
        assert!(declared_images(&c, &Dict::new()).unwrap().images.is_empty());
        let d = declared_images(&c, &values("sub: {x: {enabled: true}}\n")).unwrap();
        assert_eq!(
            images(&d),
            vec![(
                "top/charts/sub".into(),
                "helm.sh/images".into(),
                "x:1".into()
            )]
        );
    }

    #[test]
    fn malformed_annotations_are_problems_not_errors() {
        let c = chart(&[(
            "Chart.yaml",
            "apiVersion: v2\nname: bad\nversion: 1.0.0\nannotations:\n  helm.sh/images: 'name: x'\n  artifacthub.io/images: |\n    - name: nothing\n    - {name: y, image: 'y:1', dependency: nosuch}\n  images: not a list\n",
        )]);
        let d = declared_images(&c, &Dict::new()).unwrap();
        let p: Vec<String> = d
            .problems
            .iter()
            .map(|p| format!("{} {}: {}", p.source, p.path, p.message))
            .collect();
        assert_eq!(
            p,
            vec![
                "bad/Chart.yaml annotations[helm.sh/images]: must be a YAML list of images, not a map",
                "bad/Chart.yaml annotations[artifacthub.io/images]/0: entry has no `image`",
                "bad/Chart.yaml annotations[artifacthub.io/images]/1: `dependency: nosuch` names no subchart of the chart",
            ]
        );
        assert_eq!(
            images(&d),
            vec![(
                "bad/charts/nosuch".into(),
                "artifacthub.io/images".into(),
                "y:1".into()
            )]
        );
    }

    #[test]
    fn charts_without_annotations_cost_nothing() {
        let c = chart(&[("Chart.yaml", "apiVersion: v2\nname: a\nversion: 1.0.0\n")]);
        assert_eq!(
            declared_images(&c, &Dict::new()).unwrap(),
            Declared::default()
        );
    }
}
