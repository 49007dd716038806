//! CycloneDX 1.6 JSON.

use crate::{
    content_uuid, digest_of, publisher_of, resolution_of, version_of, EmitContext, EmitError,
};
use imagebom_model::{
    purl::oci_purl, ComponentInfo, ImageEntry, Inventory, Provenance, RenderedChartInfo,
};
use serde_cyclonedx::cyclonedx::v_1_6 as cdx;

/// The provenance of an image as `(property, value)` pairs, in a fixed order: `true`,
/// `false` or `unknown` (could not be checked) for the cosign signature, attestations and
/// SBOM; the number of referrers (or `unknown`) and one `imagebom:referrer-artifact-type` per
/// distinct referrer `artifactType`. Empty when provenance was never checked.
pub(crate) fn provenance_properties(p: Option<&Provenance>) -> Vec<(&'static str, String)> {
    let Some(p) = p else { return Vec::new() };
    let yes_no = |b: Option<bool>| match b {
        Some(b) => b.to_string(),
        None => "unknown".to_string(),
    };
    let mut out = vec![
        ("imagebom:signature", yes_no(p.signature)),
        ("imagebom:attestation", yes_no(p.attestation)),
        ("imagebom:sbom", yes_no(p.sbom)),
        (
            "imagebom:referrers",
            p.referrers
                .as_ref()
                .map_or_else(|| "unknown".to_string(), |r| r.len().to_string()),
        ),
    ];
    for t in p.referrers.iter().flatten() {
        out.push(("imagebom:referrer-artifact-type", t.clone()));
    }
    out
}

fn prop(name: &str, value: impl Into<String>) -> cdx::Property {
    cdx::Property {
        name: name.to_string(),
        value: Some(value.into()),
    }
}

/// A component with only its required fields set; callers fill in the rest.
fn new_component(type_: &str, name: String) -> cdx::Component {
    cdx::ComponentBuilder::default()
        .type_(type_)
        .name(name)
        .build()
        .expect("type and name are the only required fields")
}

fn org(name: &str) -> cdx::OrganizationalEntity {
    cdx::OrganizationalEntity {
        name: Some(name.to_string()),
        ..Default::default()
    }
}

/// `bom-ref` of the recipe (the BOM's subject).
fn recipe_ref(inv: &Inventory) -> String {
    format!("recipe:{}", inv.recipe.name)
}

/// `bom-ref` of a recipe component.
fn component_ref(name: &str) -> String {
    format!("component:{name}")
}

/// `bom-ref` of an image.
fn image_ref(normalized: &str) -> String {
    format!("image:{normalized}")
}

fn component(c: &ComponentInfo) -> cdx::Component {
    let mut props = Vec::new();
    if let Some(ch) = &c.chart {
        props.push(prop(
            "imagebom:chart-repository",
            imagebom_model::redact_url(&ch.repository),
        ));
        props.push(prop("imagebom:chart", &ch.chart));
        props.push(prop("imagebom:chart-version", &ch.version));
        props.push(prop("imagebom:chart-pinned", ch.pinned.to_string()));
    }
    if let Some(ns) = &c.namespace {
        props.push(prop("imagebom:namespace", ns));
    }
    for m in &c.manifests {
        props.push(prop("imagebom:manifest", m));
    }
    let mut out = new_component("application", c.name.clone());
    out.bom_ref = Some(component_ref(&c.name));
    out.version = c
        .chart
        .as_ref()
        .filter(|ch| !ch.version.is_empty())
        .map(|ch| ch.version.clone());
    out.description = c.display_name.clone();
    out.properties = (!props.is_empty()).then_some(props);
    if let Some(r) = c.chart.as_ref().and_then(|ch| ch.rendered.as_ref()) {
        // What was rendered: its version (the recipe's stays in `imagebom:chart-version`),
        // archive hash and source; subcharts nest.
        out.version = Some(r.version.clone());
        out.hashes = chart_hashes(r);
        out.external_references = Some(vec![distribution(&r.source)]);
        out.components = subcharts(r, &component_ref(&c.name));
    }
    out
}

/// The SHA-256 of a chart archive.
fn chart_hashes(r: &RenderedChartInfo) -> Option<Vec<cdx::Hash>> {
    let hex = r.digest.as_deref()?.strip_prefix("sha256:")?;
    Some(vec![cdx::Hash {
        alg: cdx::HashAlg::Sha256,
        content: hex.to_string(),
    }])
}

/// A `distribution` external reference to where a chart came from.
fn distribution(source: &str) -> cdx::ExternalReference {
    cdx::ExternalReference {
        comment: None,
        hashes: None,
        type_: "distribution".into(),
        url: serde_json::Value::String(imagebom_model::redact_url(source)),
    }
}

/// The subcharts of a rendered chart as nested `library` components (`bom-ref`
/// `PARENT/chart:NAME`, `#N` added from a chart's second use on: aliases).
fn subcharts(r: &RenderedChartInfo, parent: &str) -> Option<Vec<cdx::Component>> {
    let out: Vec<cdx::Component> = r
        .subcharts
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let uses = r.subcharts[..i].iter().filter(|o| o.name == s.name).count();
            let bom_ref = match uses {
                0 => format!("{parent}/chart:{}", s.name),
                n => format!("{parent}/chart:{}#{}", s.name, n + 1),
            };
            let mut c = new_component("library", s.name.clone());
            c.version = Some(s.version.clone());
            c.hashes = chart_hashes(s);
            c.external_references = Some(vec![distribution(&s.source)]);
            c.components = subcharts(s, &bom_ref);
            c.bom_ref = Some(bom_ref);
            c
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

fn image(key: &str, e: &ImageEntry, inv: &Inventory) -> cdx::Component {
    let r = &e.reference;
    let digest = digest_of(e);
    let mut props = vec![
        prop("imagebom:reference", r.original()),
        prop("imagebom:normalized", key),
    ];
    for c in e.categories() {
        props.push(prop("imagebom:category", c.as_str()));
    }
    for o in &e.occurrences {
        let text = format!(
            "{}|{}|{}/{}|{}|{}",
            o.component, o.source, o.kind, o.name, o.path, o.category
        );
        let variants = inv.variants_of(key, o);
        if !variants.is_empty() {
            props.push(prop(
                "imagebom:occurrence-variants",
                format!("{}|{text}", variants.join(",")),
            ));
        }
        props.push(prop("imagebom:occurrence", text));
    }
    for v in inv.image_variants(key) {
        props.push(prop("imagebom:variant", v));
    }
    let mut reasons: Vec<&str> = e
        .occurrences
        .iter()
        .filter_map(|o| o.reason.as_deref())
        .collect();
    reasons.sort_unstable();
    reasons.dedup();
    for reason in reasons {
        props.push(prop("imagebom:reason", reason));
    }
    props.push(prop("imagebom:resolution", resolution_of(e)));
    if let Some(res) = &e.resolution {
        if let Some(mt) = &res.media_type {
            props.push(prop("imagebom:media-type", mt));
        }
        for p in &res.platforms {
            props.push(prop(
                "imagebom:platform",
                format!("{} {}", p.spec(), p.digest),
            ));
        }
        for (name, value) in provenance_properties(res.provenance.as_ref()) {
            props.push(prop(name, value));
        }
    }
    let hashes = digest.filter(|d| d.is_sha256()).map(|d| {
        vec![cdx::Hash {
            alg: cdx::HashAlg::Sha256,
            content: d.encoded().to_string(),
        }]
    });
    let mut out = new_component("container", r.qualified_name());
    out.bom_ref = Some(image_ref(key));
    out.version = Some(version_of(r, digest));
    out.purl = Some(oci_purl(r, digest));
    out.hashes = hashes;
    out.publisher = Some(publisher_of(r));
    out.properties = Some(props);
    out
}

fn document(inv: &Inventory, cx: &EmitContext) -> cdx::CycloneDx {
    let mut tool = new_component("application", cx.tool_name.clone());
    tool.version = Some(cx.tool_version.clone());
    let mut subject = new_component("application", inv.recipe.name.clone());
    subject.bom_ref = Some(recipe_ref(inv));
    subject.version = Some(inv.recipe.version.clone());
    subject.description = inv.recipe.description.clone();
    subject.supplier = inv.recipe.supplier.as_deref().map(org);
    let warnings: Vec<cdx::Property> = inv
        .warnings
        .iter()
        .map(|w| prop("imagebom:warning", w.to_string()))
        .collect();
    let metadata = cdx::Metadata {
        timestamp: Some(cx.timestamp.clone()),
        tools: Some(cdx::MetadataTools::Variant0(cdx::MetadataToolsVariant0 {
            components: Some(vec![tool]),
            services: None,
        })),
        component: Some(subject),
        supplier: inv.recipe.supplier.as_deref().map(org),
        properties: (!warnings.is_empty()).then_some(warnings),
        ..Default::default()
    };

    let mut components: Vec<cdx::Component> = inv.components.iter().map(component).collect();
    components.extend(inv.images.iter().map(|(k, e)| image(k, e, inv)));

    let mut deps = vec![cdx::Dependency {
        ref_: recipe_ref(inv),
        depends_on: Some(
            inv.components
                .iter()
                .map(|c| component_ref(&c.name))
                .collect(),
        ),
        provides: None,
    }];
    for c in &inv.components {
        deps.push(cdx::Dependency {
            ref_: component_ref(&c.name),
            depends_on: Some(inv.images_of(&c.name).map(|(k, _)| image_ref(k)).collect()),
            provides: None,
        });
    }
    // Images found outside any recipe component (bare streams) hang off the recipe.
    let orphans: Vec<String> = inv.orphans().map(|(k, _)| image_ref(k)).collect();
    if let Some(d) = deps[0].depends_on.as_mut() {
        d.extend(orphans);
    }
    for k in inv.images.keys() {
        deps.push(cdx::Dependency {
            ref_: image_ref(k),
            depends_on: Some(Vec::new()),
            provides: None,
        });
    }

    cdx::CycloneDxBuilder::default()
        .schema("http://cyclonedx.org/schema/bom-1.6.schema.json")
        .bom_format("CycloneDX")
        .spec_version("1.6")
        .version(1)
        .metadata(metadata)
        .components(components)
        .dependencies(deps)
        .build()
        .expect("required fields are set")
}

/// Emits CycloneDX 1.6 JSON (pretty-printed, trailing newline). `serialNumber` is the
/// UUIDv5 of the document's content without it.
pub fn cyclonedx_json(inv: &Inventory, cx: &EmitContext) -> Result<String, EmitError> {
    let err = |e: serde_json::Error| EmitError::Serialize {
        format: "CycloneDX",
        message: e.to_string(),
    };
    let mut doc = document(inv, cx);
    let content = serde_json::to_vec(&doc).map_err(err)?;
    doc.serial_number = Some(format!("urn:uuid:{}", content_uuid(&content)));
    let mut text = serde_json::to_string_pretty(&doc).map_err(err)?;
    text.push('\n');
    Ok(text)
}
