//! Images a chart declares in `Chart.yaml` ([`imagebom_helm::declared_images`]) added to an
//! inventory as [`Category::Declared`] occurrences, compared with what the chart rendered.
//!
//! Each declared entry that applies with the values is listed, with a note (the occurrence's
//! `reason`) saying whether the chart rendered it. A declared image that is not rendered is
//! not a warning: charts declare images behind disabled features (Bitnami's redis declares
//! its sentinel and exporter images, rendered only when those are on). The warning is for
//! skew: the declaring chart's own templates (its subcharts' included) render the same
//! repository with another tag or digest, so the chart and its annotation disagree on the
//! version. Another chart's use of the repository (a subchart pinning its own tag of a shared
//! helper image, as HIP-0015's example shows) is not skew.

use imagebom_helm::{annotation_path, Declared, DeclaredImage};
use imagebom_model::{Category, ImageRef, Inventory, Occurrence, Warning};

/// A reference the component rendered (or its recipe listed): what declared images are
/// compared with.
struct Seen {
    key: String,
    reference: ImageRef,
    /// Sources (templates, files) of the component's occurrences, sorted.
    sources: Vec<String>,
}

/// Adds what one chart of `component` declares to `inv`, after its rendered streams were
/// extracted into it: occurrences, notes, skew warnings and unreadable annotations.
pub fn add_declared(component: &str, declared: &Declared, inv: &mut Inventory) {
    let seen: Vec<Seen> = inv
        .images
        .iter()
        .filter_map(|(key, e)| {
            let mut sources: Vec<String> = e
                .occurrences
                .iter()
                .filter(|o| o.component == component && o.category != Category::Declared)
                .map(|o| o.source.clone())
                .collect();
            sources.sort_unstable();
            sources.dedup();
            (!sources.is_empty()).then(|| Seen {
                key: key.clone(),
                reference: e.reference.clone(),
                sources,
            })
        })
        .collect();
    for p in &declared.problems {
        inv.warnings.push(Warning {
            component: component.to_string(),
            source: p.source.clone(),
            kind: "Chart".into(),
            name: p.chart.clone(),
            path: p.path.clone(),
            value: String::new(),
            message: format!("images annotation: {}", p.message),
        });
    }
    for d in &declared.images {
        add_one(component, d, &seen, inv);
    }
}

fn add_one(component: &str, d: &DeclaredImage, seen: &[Seen], inv: &mut Inventory) {
    let chart = d.chart.rsplit('/').next().unwrap_or(&d.chart).to_string();
    let path = format!("{}/{}/image", annotation_path(&d.annotation), d.index);
    let warning = |message: String| Warning {
        component: component.to_string(),
        source: d.source.clone(),
        kind: "Chart".into(),
        name: chart.clone(),
        path: path.clone(),
        value: d.image.clone(),
        message,
    };
    let reference = match ImageRef::parse(&d.image) {
        Ok(r) => r,
        Err(e) => {
            inv.warnings.push(warning(format!(
                "declared image is not a valid reference: {e}"
            )));
            return;
        }
    };
    let key = reference.normalized();
    let same_repo: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.reference.qualified_name() == reference.qualified_name())
        .collect();
    let rendered = same_repo
        .iter()
        .find(|s| s.key == key || compatible(&s.reference, &reference));
    let in_chart = format!("{}/", d.chart);
    let skewed: Vec<(&Seen, &String)> = same_repo
        .iter()
        .filter_map(|s| Some((*s, s.sources.iter().find(|x| x.starts_with(&in_chart))?)))
        .collect();
    let status = match rendered {
        Some(s) if s.key == key => "rendered".to_string(),
        Some(s) => format!("rendered as {}", s.reference.original()),
        None if skewed.is_empty() => "not rendered with these values".to_string(),
        None => {
            let others: Vec<String> = skewed
                .iter()
                .map(|(s, source)| format!("{} ({source})", s.reference.original()))
                .collect();
            inv.warnings.push(warning(format!(
                "chart {} declares {} in its {} annotation, but renders {}: the chart and its annotation disagree",
                d.chart,
                d.image,
                d.annotation,
                others.join(" and ")
            )));
            format!("the chart renders {} instead", others.join(" and "))
        }
    };
    let condition = if d.condition.is_empty() {
        String::new()
    } else {
        format!(", condition {}", d.condition)
    };
    let platforms = if d.platforms.is_empty() {
        String::new()
    } else {
        format!(", platforms {}", d.platforms.join(" "))
    };
    let name = if d.name.is_empty() {
        String::new()
    } else {
        format!(" {:?}", d.name)
    };
    inv.add(
        reference,
        Occurrence {
            component: component.to_string(),
            source: d.source.clone(),
            kind: "Chart".into(),
            name: chart,
            path,
            line: None,
            category: Category::Declared,
            original: d.image.clone(),
            reason: Some(format!(
                "declared by chart {} ({}{name}{condition}{platforms}); {status}",
                d.chart, d.annotation
            )),
        },
    );
}

/// The same image written two ways: equal where both give a tag, and where both give a digest.
fn compatible(a: &ImageRef, b: &ImageRef) -> bool {
    let tags = match (a.tag(), b.tag()) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };
    let digests = match (a.digest(), b.digest()) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };
    tags && digests
}
