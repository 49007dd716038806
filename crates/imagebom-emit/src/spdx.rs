//! SPDX 2.3 JSON.

use crate::{content_uuid, digest_of, version_of, EmitContext, EmitError};
use imagebom_model::{purl::oci_purl, ImageEntry, Inventory};
use serde_spdx::spdx::v_2_3 as spdx;
use sha2::{Digest as _, Sha256};

const NOASSERTION: &str = "NOASSERTION";

/// An SPDX identifier: `SPDXRef-<kind>-<sanitised name>[-<short hash>]`.
fn spdx_id(kind: &str, name: &str, unique: Option<&str>) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    match unique {
        Some(u) => {
            let h = hex::encode(Sha256::digest(u.as_bytes()));
            format!("SPDXRef-{kind}-{clean}-{}", &h[..12])
        }
        None => format!("SPDXRef-{kind}-{clean}"),
    }
}

fn supplier(name: Option<&str>) -> String {
    match name {
        Some(n) if !n.trim().is_empty() => format!("Organization: {n}"),
        _ => NOASSERTION.to_string(),
    }
}

struct Pkg<'a> {
    id: String,
    name: String,
    version: String,
    supplier: String,
    purpose: &'a str,
    download: String,
    description: Option<String>,
    checksum: Option<String>,
    purl: Option<String>,
    comment: Option<String>,
    annotations: Option<Vec<spdx::SpdxItemPackagesItemAnnotations>>,
}

fn package(p: Pkg<'_>) -> spdx::SpdxItemPackages {
    spdx::SpdxItemPackages {
        spdxid: p.id,
        annotations: p.annotations,
        attribution_texts: None,
        built_date: None,
        checksums: p.checksum.map(|c| {
            vec![spdx::SpdxItemPackagesItemChecksums {
                algorithm: "SHA256".into(),
                checksum_value: c,
            }]
        }),
        comment: p.comment,
        copyright_text: Some(NOASSERTION.into()),
        description: p.description,
        download_location: p.download,
        external_refs: p.purl.map(|purl| {
            vec![spdx::SpdxItemPackagesItemExternalRefs {
                comment: None,
                reference_category: "PACKAGE-MANAGER".into(),
                reference_locator: purl,
                reference_type: "purl".into(),
            }]
        }),
        files_analyzed: Some(false),
        has_files: None,
        homepage: None,
        license_comments: None,
        license_concluded: Some(NOASSERTION.into()),
        license_declared: Some(NOASSERTION.into()),
        license_info_from_files: None,
        name: p.name,
        originator: None,
        package_file_name: None,
        package_verification_code: None,
        primary_package_purpose: Some(p.purpose.into()),
        release_date: None,
        source_info: None,
        summary: None,
        supplier: Some(p.supplier),
        valid_until_date: None,
        version_info: Some(p.version),
    }
}

/// The hex SHA-256 of a chart archive.
fn chart_checksum(r: &imagebom_model::RenderedChartInfo) -> Option<String> {
    r.digest
        .as_deref()?
        .strip_prefix("sha256:")
        .map(str::to_string)
}

/// A chart's `downloadLocation`: its `http(s)://` source (credentials removed) when SPDX's
/// download-location grammar takes it (a host name with a domain: not `oci://`, an IP address
/// or `localhost`), else NOASSERTION (the package comment names the source).
fn download_location(source: &str) -> String {
    let url = imagebom_model::redact_url(source);
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return NOASSERTION.to_string();
    };
    let host = rest.split(['/', ':', '?', '#']).next().unwrap_or("");
    let named = host.contains('.')
        && !host.starts_with('[')
        && !host.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if named {
        url
    } else {
        NOASSERTION.to_string()
    }
}

/// Where the subchart packages of a component go.
struct Sub<'a> {
    supplier: &'a str,
    packages: &'a mut Vec<spdx::SpdxItemPackages>,
    relationships: &'a mut Vec<spdx::SpdxItemRelationships>,
}

impl Sub<'_> {
    /// One package per subchart of `r` (nested ones too), each CONTAINed by its parent;
    /// `path` (`component/sub/…`) makes the SPDX id unique.
    fn add(&mut self, parent: &str, path: &str, r: &imagebom_model::RenderedChartInfo) {
        for (i, s) in r.subcharts.iter().enumerate() {
            let path = format!("{path}/{i}:{}", s.name);
            let id = spdx_id("Chart", &s.name, Some(&path));
            self.packages.push(package(Pkg {
                id: id.clone(),
                name: s.name.clone(),
                version: s.version.clone(),
                supplier: self.supplier.to_string(),
                purpose: "LIBRARY",
                download: download_location(&s.source),
                description: None,
                checksum: chart_checksum(s),
                purl: None,
                comment: Some(format!(
                    "Helm subchart {} (from {})",
                    s.name,
                    imagebom_model::redact_url(&s.source)
                )),
                annotations: None,
            }));
            self.relationships.push(rel(parent, "CONTAINS", &id));
            self.add(&id, &path, s);
        }
    }
}

fn rel(from: &str, kind: &str, to: &str) -> spdx::SpdxItemRelationships {
    spdx::SpdxItemRelationships {
        comment: None,
        related_spdx_element: to.into(),
        relationship_type: kind.into(),
        spdx_element_id: from.into(),
    }
}

/// The provenance of an image as package annotations (`imagebom:signature=true`, …; see
/// [`crate::cyclonedx::provenance_properties`]), made by the tool at the document's time.
fn provenance_annotations(
    e: &ImageEntry,
    cx: &EmitContext,
) -> Option<Vec<spdx::SpdxItemPackagesItemAnnotations>> {
    let props = crate::cyclonedx::provenance_properties(
        e.resolution.as_ref().and_then(|r| r.provenance.as_ref()),
    );
    (!props.is_empty()).then(|| {
        props
            .into_iter()
            .map(|(name, value)| spdx::SpdxItemPackagesItemAnnotations {
                annotation_date: cx.timestamp.clone(),
                annotation_type: "OTHER".into(),
                annotator: format!("Tool: {}-{}", cx.tool_name, cx.tool_version),
                comment: format!("{name}={value}"),
            })
            .collect()
    })
}

/// The image's SPDX SBOMs (those with a `documentNamespace`) as `externalDocumentRefs`, each
/// `DocumentRef-<hash>` the target of a `DESCRIBED_BY` relationship from the image package.
fn sbom_refs(
    image_id: &str,
    e: &ImageEntry,
) -> Vec<(
    spdx::SpdxItemExternalDocumentRefs,
    spdx::SpdxItemRelationships,
)> {
    let sboms = e.resolution.as_ref().map_or(&[][..], |r| &r.sboms[..]);
    sboms
        .iter()
        .filter(|s| s.digest.is_sha256())
        .filter_map(|s| {
            let ns = s.document_namespace.as_ref()?;
            let id = format!("DocumentRef-sbom-{}", &s.digest.encoded()[..16]);
            let mut r = rel(image_id, "DESCRIBED_BY", &format!("{id}:SPDXRef-DOCUMENT"));
            r.comment = Some(crate::cyclonedx::sbom_comment(s));
            let doc_ref = spdx::SpdxItemExternalDocumentRefs {
                checksum: spdx::SpdxItemExternalDocumentRefsChecksum {
                    algorithm: "SHA256".into(),
                    checksum_value: s.digest.encoded().to_string(),
                },
                external_document_id: id,
                spdx_document: ns.clone(),
            };
            Some((doc_ref, r))
        })
        .collect()
}

/// The variants that deploy image `key` as package annotations: `imagebom:variant=NAME` per
/// variant, then `imagebom:occurrence-variants=V1,V2|component|source|kind/name|path|category`
/// per occurrence (as the CycloneDX properties). `None` without variants.
fn variant_annotations(
    inv: &Inventory,
    key: &str,
    e: &ImageEntry,
    cx: &EmitContext,
) -> Option<Vec<spdx::SpdxItemPackagesItemAnnotations>> {
    let mut notes: Vec<String> = inv
        .image_variants(key)
        .into_iter()
        .map(|v| format!("imagebom:variant={v}"))
        .collect();
    for o in &e.occurrences {
        let vs = inv.variants_of(key, o);
        if !vs.is_empty() {
            notes.push(format!(
                "imagebom:occurrence-variants={}|{}|{}|{}/{}|{}|{}",
                vs.join(","),
                o.component,
                o.source,
                o.kind,
                o.name,
                o.path,
                o.category
            ));
        }
    }
    (!notes.is_empty()).then(|| notes.into_iter().map(|n| annotation(n, cx)).collect())
}

/// An annotation by the tool at the document's time.
fn annotation(comment: String, cx: &EmitContext) -> spdx::SpdxItemPackagesItemAnnotations {
    spdx::SpdxItemPackagesItemAnnotations {
        annotation_date: cx.timestamp.clone(),
        annotation_type: "OTHER".into(),
        annotator: format!("Tool: {}-{}", cx.tool_name, cx.tool_version),
        comment,
    }
}

fn image_package(
    inv: &Inventory,
    key: &str,
    e: &ImageEntry,
    cx: &EmitContext,
) -> spdx::SpdxItemPackages {
    let annotations = match (
        provenance_annotations(e, cx),
        variant_annotations(inv, key, e, cx),
    ) {
        (Some(mut a), Some(b)) => {
            a.extend(b);
            Some(a)
        }
        (a, b) => a.or(b),
    };
    let r = &e.reference;
    let digest = digest_of(e);
    let mut categories: Vec<&str> = e.categories().iter().map(|c| c.as_str()).collect();
    categories.dedup();
    package(Pkg {
        id: spdx_id("Image", r.name(), Some(key)),
        name: r.qualified_name(),
        version: version_of(r, digest),
        // As in CycloneDX: the distribution's supplier; the registry namespace only publishes.
        supplier: supplier(inv.recipe.supplier.as_deref()),
        purpose: "CONTAINER",
        download: NOASSERTION.into(),
        description: None,
        checksum: digest
            .filter(|d| d.is_sha256())
            .map(|d| d.encoded().to_string()),
        purl: Some(oci_purl(r, digest)),
        comment: Some(format!(
            "reference: {key}; found as: {}",
            categories.join(", ")
        )),
        annotations,
    })
}

fn document(inv: &Inventory, cx: &EmitContext, namespace: String) -> spdx::Spdx {
    let recipe_id = spdx_id("Recipe", &inv.recipe.name, None);
    let recipe_supplier = supplier(inv.recipe.supplier.as_deref());
    let mut packages = vec![package(Pkg {
        id: recipe_id.clone(),
        name: inv.recipe.name.clone(),
        version: inv.recipe.version.clone(),
        supplier: recipe_supplier.clone(),
        purpose: "APPLICATION",
        download: NOASSERTION.into(),
        description: inv.recipe.description.clone(),
        checksum: None,
        purl: None,
        comment: None,
        annotations: None,
    })];
    let mut relationships = vec![rel("SPDXRef-DOCUMENT", "DESCRIBES", &recipe_id)];
    let image_ids: std::collections::BTreeMap<&String, String> = inv
        .images
        .iter()
        .map(|(k, e)| (k, spdx_id("Image", e.reference.name(), Some(k))))
        .collect();
    for c in &inv.components {
        let id = spdx_id("Component", &c.name, None);
        let (version, download) = match &c.chart {
            Some(ch) if ch.rendered.is_some() => {
                let r = ch.rendered.as_ref().expect("matched");
                (r.version.clone(), download_location(&r.source))
            }
            Some(ch) => {
                let v = if ch.version.is_empty() {
                    NOASSERTION.to_string()
                } else {
                    ch.version.clone()
                };
                (v, download_location(&ch.repository))
            }
            None => (inv.recipe.version.clone(), NOASSERTION.to_string()),
        };
        packages.push(package(Pkg {
            id: id.clone(),
            name: c.name.clone(),
            version,
            supplier: recipe_supplier.clone(),
            purpose: "APPLICATION",
            download,
            description: c.display_name.clone(),
            checksum: c
                .chart
                .as_ref()
                .and_then(|ch| ch.rendered.as_ref())
                .and_then(chart_checksum),
            purl: None,
            comment: c.chart.as_ref().map(|ch| match &ch.rendered {
                Some(r) => format!(
                    "Helm chart {} (pinned: {}; requested {:?}, rendered from {})",
                    ch.chart,
                    ch.pinned,
                    ch.version,
                    imagebom_model::redact_url(&r.source)
                ),
                None => format!("Helm chart {} (pinned: {})", ch.chart, ch.pinned),
            }),
            annotations: None,
        }));
        relationships.push(rel(&recipe_id, "CONTAINS", &id));
        if let Some(r) = c.chart.as_ref().and_then(|ch| ch.rendered.as_ref()) {
            Sub {
                supplier: &recipe_supplier,
                packages: &mut packages,
                relationships: &mut relationships,
            }
            .add(&id, &c.name, r);
        }
        for (k, _) in inv.images_of(&c.name) {
            relationships.push(rel(&id, "DEPENDS_ON", &image_ids[k]));
        }
    }
    packages.extend(inv.images.iter().map(|(k, e)| image_package(inv, k, e, cx)));
    let mut doc_refs = Vec::new();
    for (k, e) in &inv.images {
        for (d, r) in sbom_refs(&image_ids[k], e) {
            doc_refs.push(d);
            relationships.push(r);
        }
    }
    doc_refs.sort_by(|a, b| a.external_document_id.cmp(&b.external_document_id));
    doc_refs.dedup_by(|a, b| a.external_document_id == b.external_document_id);
    for (k, _) in inv.orphans() {
        relationships.push(rel(&recipe_id, "DEPENDS_ON", &image_ids[k]));
    }
    let mut creators = vec![format!("Tool: {}-{}", cx.tool_name, cx.tool_version)];
    if let Some(s) = &inv.recipe.supplier {
        creators.push(format!("Organization: {s}"));
    }
    spdx::Spdx {
        spdxid: "SPDXRef-DOCUMENT".into(),
        annotations: None,
        comment: None,
        creation_info: spdx::SpdxCreationInfo {
            comment: None,
            created: cx.timestamp.clone(),
            creators,
            license_list_version: None,
        },
        data_license: "CC0-1.0".into(),
        document_describes: None,
        document_namespace: namespace,
        external_document_refs: (!doc_refs.is_empty()).then_some(doc_refs),
        files: None,
        has_extracted_licensing_infos: None,
        name: format!("{}-{}", inv.recipe.name, inv.recipe.version),
        packages: Some(packages),
        relationships: Some(relationships),
        revieweds: None,
        snippets: None,
        spdx_version: "SPDX-2.3".into(),
    }
}

/// Emits SPDX 2.3 JSON (pretty-printed, trailing newline). `documentNamespace` ends in the
/// UUIDv5 of the document's content without it.
pub fn spdx_json(inv: &Inventory, cx: &EmitContext) -> Result<String, EmitError> {
    let err = |e: serde_json::Error| EmitError::Serialize {
        format: "SPDX",
        message: e.to_string(),
    };
    let base = format!(
        "https://imagebom.dev/spdx/{}-{}",
        url_safe(&inv.recipe.name),
        url_safe(&inv.recipe.version)
    );
    let draft = document(inv, cx, base.clone());
    let content = serde_json::to_vec(&draft).map_err(err)?;
    let doc = document(inv, cx, format!("{base}-{}", content_uuid(&content)));
    let mut text = serde_json::to_string_pretty(&doc).map_err(err)?;
    text.push('\n');
    Ok(text)
}

fn url_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._~".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{download_location, NOASSERTION};

    /// What pyspdxtools' download-location check accepts (checked against spdx-tools 0.8.5).
    #[test]
    fn download_locations_follow_the_spdx_grammar() {
        for (source, want) in [
            (
                "https://charts.example/x-1.0.0.tgz",
                "https://charts.example/x-1.0.0.tgz",
            ),
            (
                "https://u:secret@example.com:8443/x.tgz",
                "https://example.com:8443/x.tgz",
            ),
            ("oci://ghcr.io/org/x:1.0", NOASSERTION),
            ("http://127.0.0.1:5000/x.tgz", NOASSERTION),
            ("http://localhost/x.tgz", NOASSERTION),
            ("../fixtures/charts/platform", NOASSERTION),
        ] {
            assert_eq!(download_location(source), want, "{source}");
        }
    }
}
