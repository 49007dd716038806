//! CycloneDX 1.6 JSON.

use crate::{
    content_uuid, digest_of, publisher_of, resolution_of, version_of, EmitContext, EmitError,
};
use imagebom_model::lock::{SbomRecord, SbomSource};
use imagebom_model::{
    purl::oci_purl, ComponentInfo, Digest, ImageEntry, ImageRef, Inventory, Platform, Provenance,
    RenderedChartInfo,
};
use serde_cyclonedx::cyclonedx::v_1_6 as cdx;

/// The provenance of an image as `(property, value)` pairs, in the order `merge` writes
/// them: `true`, `false` or `unknown` for a signature, attestations and an SBOM (derived
/// from the verification records, the referrers' `artifactType`s and cosign's tags, see
/// [`crate::provenance`]); the number of referrers (or `unknown`) and one
/// `imagebom:referrer-artifact-type` per distinct referrer `artifactType`; `imagebom:signed`
/// (`verified`, `unverified`, `none`, `unknown`); each verified signer's identity, issuer or
/// key ID; one `imagebom:verification` per distinct record; what verified SLSA provenance
/// says of the build. Multi-valued properties are sorted by value. Empty when provenance
/// was never checked.
pub(crate) fn provenance_properties(p: Option<&Provenance>) -> Vec<(&'static str, String)> {
    let Some(p) = p else { return Vec::new() };
    let v = crate::provenance::View::new(p);
    let yes_no = |b: Option<bool>| match b {
        Some(b) => b.to_string(),
        None => "unknown".to_string(),
    };
    let mut out = vec![
        ("imagebom:signature", yes_no(v.signature())),
        ("imagebom:attestation", yes_no(v.attestation())),
        ("imagebom:sbom", yes_no(v.sbom())),
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
    out.push(("imagebom:signed", v.signed().as_str().to_string()));
    let signers = v.signers();
    let mut multi: Vec<(&'static str, String)> = Vec::new();
    for s in &signers {
        match s {
            crate::provenance::Signer::Identity { subject, issuer } => {
                multi.extend(subject.map(|x| ("imagebom:signer-identity", x.to_string())));
                multi.extend(issuer.map(|x| ("imagebom:signer-issuer", x.to_string())));
            }
            crate::provenance::Signer::Key(k) => {
                multi.push(("imagebom:signer-key-id", k.to_string()));
            }
        }
    }
    for r in v.verification().into_iter().flatten() {
        multi.push(("imagebom:verification", crate::provenance::verdict_text(r)));
    }
    for b in v.builds() {
        let fields = [
            ("imagebom:build-builder-id", &b.builder_id),
            ("imagebom:build-type", &b.build_type),
            ("imagebom:build-source-repository", &b.source_repository),
            ("imagebom:build-source-ref", &b.source_ref),
            ("imagebom:build-source-commit", &b.source_commit),
        ];
        for (name, value) in fields {
            multi.extend(value.as_ref().map(|x| (name, x.clone())));
        }
    }
    // In the order `merge` ranks them, so a merged document equals the whole one.
    let rank = |n: &str| crate::merge::rank(crate::merge::PROPERTY_ORDER, n);
    multi.sort_by(|a, b| (rank(a.0), &a.1).cmp(&(rank(b.0), &b.1)));
    multi.dedup();
    out.extend(multi);
    out
}

/// Whether `s` may stand as a CycloneDX `externalReferences[].url` (an IRI reference):
/// non-empty, no whitespace, controls or characters an IRI never holds.
fn iri_like(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"<>\\^`{|}".contains(c))
}

/// What verified SLSA provenance says, as `externalReferences`: `vcs` (the source
/// repository; commit and ref in its `comment`), `build-meta` (the build type, which defines
/// how the build ran) and `build-system` (the builder).
fn build_links(p: Option<&Provenance>) -> Vec<cdx::ExternalReference> {
    let Some(p) = p else { return Vec::new() };
    let link = |type_: &str, url: &str, comment: String| cdx::ExternalReference {
        comment: Some(comment),
        hashes: None,
        type_: type_.into(),
        url: serde_json::Value::String(url.to_string()),
    };
    let mut out = Vec::new();
    for b in crate::provenance::View::new(p).builds() {
        if let Some(repo) = b.source_repository.as_deref().filter(|u| iri_like(u)) {
            let mut comment = "source of the build (verified SLSA provenance)".to_string();
            if let Some(c) = &b.source_commit {
                comment.push_str(&format!("; commit {c}"));
            }
            if let Some(r) = &b.source_ref {
                comment.push_str(&format!("; ref {r}"));
            }
            out.push(link("vcs", repo, comment));
        }
        if let Some(t) = b.build_type.as_deref().filter(|u| iri_like(u)) {
            out.push(link(
                "build-meta",
                t,
                "build type (verified SLSA provenance)".to_string(),
            ));
        }
        if let Some(id) = b.builder_id.as_deref().filter(|u| iri_like(u)) {
            out.push(link(
                "build-system",
                id,
                "builder (verified SLSA provenance)".to_string(),
            ));
        }
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

fn component(c: &ComponentInfo, inv: &Inventory) -> cdx::Component {
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
    // As in SPDX: the chart's version, else (manifests only) the recipe's.
    out.version = match &c.chart {
        Some(ch) => Some(ch.version.clone()).filter(|v| !v.is_empty()),
        None => Some(inv.recipe.version.clone()),
    };
    out.supplier = inv.recipe.supplier.as_deref().map(org);
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

/// Each image's packages, read from its CycloneDX SBOMs, to nest under its component
/// (`generate --nest-packages`): Syft, Grype and Dependency-Track read a container's packages
/// as its nested components.
#[derive(Debug, Clone, Default)]
pub struct Nested {
    by_subject: std::collections::BTreeMap<String, Vec<cdx::Component>>,
}

impl Nested {
    /// Adds the components of the CycloneDX SBOM `text` (file `file`, for errors) as the
    /// packages of the manifest `subject`.
    pub fn add(&mut self, subject: &Digest, file: &str, text: &str) -> Result<(), EmitError> {
        #[derive(serde::Deserialize)]
        struct Doc {
            #[serde(default)]
            components: Vec<cdx::Component>,
        }
        let doc: Doc = serde_json::from_str(text).map_err(|e| EmitError::Bom {
            file: file.to_string(),
            message: format!("not a CycloneDX SBOM this build reads: {e}"),
        })?;
        self.by_subject
            .entry(subject.to_string())
            .or_default()
            .extend(doc.components);
        Ok(())
    }

    /// The packages of `subject`, their `bom-ref`s prefixed with `parent` (unique in the
    /// BOM), sorted by `bom-ref`.
    fn of(&self, subject: &Digest, parent: &str) -> Vec<cdx::Component> {
        fn prefix(c: &mut cdx::Component, parent: &str) {
            if let Some(r) = c.bom_ref.as_mut() {
                *r = format!("{parent}|{r}");
            }
            for n in c.components.iter_mut().flatten() {
                prefix(n, parent);
            }
        }
        let mut out = self
            .by_subject
            .get(&subject.to_string())
            .cloned()
            .unwrap_or_default();
        for c in &mut out {
            prefix(c, parent);
        }
        out.sort_by(|a, b| (&a.bom_ref, &a.name).cmp(&(&b.bom_ref, &b.name)));
        out
    }
}

fn image(key: &str, e: &ImageEntry, inv: &Inventory, nested: Option<&Nested>) -> cdx::Component {
    let r = &e.reference;
    let digest = digest_of(e);
    let mut props = vec![
        prop("imagebom:reference", r.original()),
        prop("imagebom:normalized", key),
    ];
    for c in e.categories() {
        props.push(prop("imagebom:category", c.as_str()));
    }
    // Occurrences that differ only in their line (in `evidence`) give one property.
    let mut written = std::collections::BTreeSet::new();
    for o in &e.occurrences {
        let text = format!(
            "{}|{}|{}/{}|{}|{}",
            o.component, o.source, o.kind, o.name, o.path, o.category
        );
        if !written.insert(text.clone()) {
            continue;
        }
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
    // The registry namespace publishes the image; the distribution's supplier supplies it.
    out.publisher = Some(publisher_of(r));
    out.supplier = inv.recipe.supplier.as_deref().map(org);
    out.evidence = evidence(e);
    out.properties = Some(props);
    let sboms = e.resolution.as_ref().map_or(&[][..], |r| &r.sboms[..]);
    let mut links = digest
        .and_then(|d| sbom_links(sboms, d))
        .unwrap_or_default();
    links.extend(build_links(
        e.resolution.as_ref().and_then(|r| r.provenance.as_ref()),
    ));
    sort_canonical(&mut links);
    links.dedup();
    out.external_references = (!links.is_empty()).then_some(links);
    let mut children: Vec<cdx::Component> = e
        .resolution
        .iter()
        .flat_map(|res| &res.platforms)
        .map(|p| platform(key, r, p, sboms, inv, nested))
        .collect();
    if let (Some(n), Some(d)) = (nested, digest) {
        children.extend(n.of(d, &image_ref(key)));
    }
    sort_canonical(&mut children);
    out.components = (!children.is_empty()).then_some(children);
    out
}

/// `evidence.occurrences`: one per distinct (file, line, object and path) the image was
/// found at; `line` where the extractor knows it.
fn evidence(e: &ImageEntry) -> Option<cdx::ComponentEvidence> {
    let mut seen: Vec<(String, Option<u32>, String)> = e
        .occurrences
        .iter()
        .map(|o| {
            let location = if o.source.is_empty() { "-" } else { &o.source };
            let context = format!("{}/{} at {}", o.kind, o.name, o.path);
            (location.to_string(), o.line, context)
        })
        .collect();
    seen.sort();
    seen.dedup();
    let mut occurrences: Vec<cdx::ComponentEvidenceItemOccurrences> = seen
        .into_iter()
        .map(
            |(location, line, context)| cdx::ComponentEvidenceItemOccurrences {
                additional_context: Some(context),
                bom_ref: None,
                line: line.map(i64::from),
                location,
                offset: None,
                symbol: None,
            },
        )
        .collect();
    sort_canonical(&mut occurrences);
    (!occurrences.is_empty()).then(|| cdx::ComponentEvidence {
        occurrences: Some(occurrences),
        ..Default::default()
    })
}

/// Sorts nested lists by their JSON text, the order `merge` writes unions in, so a merged
/// BOM is byte-identical to the whole one.
fn sort_canonical<T: serde::Serialize>(list: &mut [T]) {
    list.sort_by_cached_key(|v| serde_json::to_string(v).unwrap_or_default());
}

/// `bom-ref` of one platform of an index.
fn platform_ref(key: &str, p: &Platform) -> String {
    format!("{}#{}@{}", image_ref(key), p.spec(), p.digest)
}

/// The purl of one platform's manifest: its digest as the version, `arch`, `os` (and
/// `variant`) qualifiers beside the index's `repository_url` and `tag`.
pub(crate) fn platform_purl(r: &ImageRef, p: &Platform) -> String {
    let mut purl = imagebom_model::purl::parse(&oci_purl(r, Some(&p.digest)))
        .expect("oci_purl writes a valid purl");
    for (k, v) in [("arch", Some(&p.architecture)), ("os", Some(&p.os))]
        .into_iter()
        .chain([("variant", p.variant.as_ref())])
    {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            purl.add_qualifier(k, v.clone()).expect("valid qualifier");
        }
    }
    purl.to_string()
}

/// One platform of an index as a nested `container` component with its own digest.
fn platform(
    key: &str,
    r: &ImageRef,
    p: &Platform,
    sboms: &[SbomRecord],
    inv: &Inventory,
    nested: Option<&Nested>,
) -> cdx::Component {
    let mut out = new_component("container", r.qualified_name());
    let bom_ref = platform_ref(key, p);
    if let Some(n) = nested {
        let packages = n.of(&p.digest, &bom_ref);
        out.components = (!packages.is_empty()).then_some(packages);
    }
    out.bom_ref = Some(bom_ref);
    out.version = Some(p.digest.to_string());
    out.purl = Some(platform_purl(r, p));
    out.hashes = p.digest.is_sha256().then(|| {
        vec![cdx::Hash {
            alg: cdx::HashAlg::Sha256,
            content: p.digest.encoded().to_string(),
        }]
    });
    out.publisher = Some(publisher_of(r));
    out.supplier = inv.recipe.supplier.as_deref().map(org);
    let mut props = vec![prop("imagebom:platform", p.spec())];
    for (name, value) in provenance_properties(p.provenance.as_ref()) {
        props.push(prop(name, value));
    }
    out.properties = Some(props);
    let mut links = sbom_links(sboms, &p.digest).unwrap_or_default();
    links.extend(build_links(p.provenance.as_ref()));
    sort_canonical(&mut links);
    links.dedup();
    out.external_references = (!links.is_empty()).then_some(links);
    out
}

/// `externalReferences` of type `bom`: the stored SBOMs of `subject`, with their digests.
fn sbom_links(sboms: &[SbomRecord], subject: &Digest) -> Option<Vec<cdx::ExternalReference>> {
    let mut links: Vec<cdx::ExternalReference> = sboms
        .iter()
        .filter(|s| &s.subject == subject)
        .map(|s| cdx::ExternalReference {
            comment: Some(sbom_comment(s)),
            hashes: s.digest.is_sha256().then(|| {
                vec![cdx::Hash {
                    alg: cdx::HashAlg::Sha256,
                    content: s.digest.encoded().to_string(),
                }]
            }),
            type_: "bom".into(),
            url: serde_json::Value::String(s.path.clone()),
        })
        .collect();
    sort_canonical(&mut links);
    (!links.is_empty()).then_some(links)
}

/// `generated by syft 1.18.1: CycloneDX SBOM of sha256:…` and the like.
pub(crate) fn sbom_comment(s: &SbomRecord) -> String {
    let how = match (&s.source, &s.tool) {
        (SbomSource::Generated, Some(t)) => format!("generated by {} {}", t.name, t.version),
        (SbomSource::Generated, None) => "generated".to_string(),
        (SbomSource::Attached, _) => "attached in the registry".to_string(),
    };
    let format = match s.format {
        imagebom_model::lock::SbomFormat::Cyclonedx => "CycloneDX",
        imagebom_model::lock::SbomFormat::Spdx => "SPDX",
    };
    format!("{how}: {format} SBOM of {}", s.subject)
}

/// The BOM's lifecycle phase: `build` once every image is pinned to a digest (the exact
/// versions and where they come from are known, as CycloneDX defines `build`), else
/// `pre-build` (the manifests as declared, tags not yet resolved).
fn lifecycle(inv: &Inventory) -> &'static str {
    if inv.images.values().all(|e| e.digest().is_some()) {
        "build"
    } else {
        "pre-build"
    }
}

fn document(inv: &Inventory, cx: &EmitContext, nested: Option<&Nested>) -> cdx::CycloneDx {
    let mut tool = new_component("application", cx.tool_name.clone());
    tool.version = Some(cx.tool_version.clone());
    tool.bom_ref = Some(format!("tool:{}", cx.tool_name));
    tool.licenses = serde_json::from_value(serde_json::json!([
        {"license": {"id": env!("CARGO_PKG_LICENSE")}}
    ]))
    .ok();
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
        lifecycles: Some(vec![cdx::MetadataItemLifecycles::Variant0(
            cdx::MetadataItemLifecyclesVariant0 {
                phase: lifecycle(inv).into(),
            },
        )]),
        tools: Some(cdx::MetadataTools::Variant0(cdx::MetadataToolsVariant0 {
            components: Some(vec![tool]),
            services: None,
        })),
        component: Some(subject),
        supplier: inv.recipe.supplier.as_deref().map(org),
        properties: (!warnings.is_empty()).then_some(warnings),
        ..Default::default()
    };

    let mut components: Vec<cdx::Component> =
        inv.components.iter().map(|c| component(c, inv)).collect();
    components.extend(inv.images.iter().map(|(k, e)| image(k, e, inv, nested)));

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
    cyclonedx_json_nested(inv, cx, None)
}

/// The CycloneDX specification version written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SpecVersion {
    /// CycloneDX 1.6 (the default).
    #[default]
    V1_6,
    /// CycloneDX 1.5, for older consumers: the same document without what 1.6 added
    /// (`evidence.occurrences[].additionalContext` and `line`, then one occurrence per
    /// location; the `imagebom:occurrence` properties still carry the object and path).
    V1_5,
}

/// [`cyclonedx_json`] with each image's packages (`nested`) under its container component.
pub fn cyclonedx_json_nested(
    inv: &Inventory,
    cx: &EmitContext,
    nested: Option<&Nested>,
) -> Result<String, EmitError> {
    cyclonedx_json_as(inv, cx, nested, SpecVersion::V1_6)
}

/// [`cyclonedx_json_nested`] in CycloneDX `spec`.
pub fn cyclonedx_json_as(
    inv: &Inventory,
    cx: &EmitContext,
    nested: Option<&Nested>,
    spec: SpecVersion,
) -> Result<String, EmitError> {
    let err = |e: serde_json::Error| EmitError::Serialize {
        format: "CycloneDX",
        message: e.to_string(),
    };
    let doc = document(inv, cx, nested);
    let mut doc = serde_json::to_value(&doc).map_err(err)?;
    if spec == SpecVersion::V1_5 {
        doc["$schema"] = "http://cyclonedx.org/schema/bom-1.5.schema.json".into();
        doc["specVersion"] = "1.5".into();
        if let Some(c) = doc.get_mut("components") {
            strip_1_6(c);
        }
    }
    let content = serde_json::to_vec(&doc).map_err(err)?;
    let serial = format!("urn:uuid:{}", content_uuid(&content));
    // `serialNumber` where the typed model puts it: after `metadata`, before `specVersion`.
    let mut out = serde_json::Map::new();
    for (k, v) in doc.as_object().expect("a document is an object") {
        if k == "specVersion" {
            out.insert("serialNumber".into(), serial.clone().into());
        }
        out.insert(k.clone(), v.clone());
    }
    let mut text = serde_json::to_string_pretty(&out).map_err(err)?;
    text.push('\n');
    Ok(text)
}

/// Removes from `components` (recursively) what CycloneDX 1.5 does not have.
fn strip_1_6(components: &mut serde_json::Value) {
    for c in components.as_array_mut().into_iter().flatten() {
        let occurrences = c
            .get_mut("evidence")
            .and_then(|e| e.get_mut("occurrences"))
            .and_then(|o| o.as_array_mut());
        if let Some(occurrences) = occurrences {
            for o in occurrences.iter_mut() {
                if let Some(o) = o.as_object_mut() {
                    o.remove("additionalContext");
                    o.remove("line");
                }
            }
            // Entries that differed only in what 1.5 lacks are one.
            let mut seen = Vec::new();
            occurrences.retain(|o| {
                let new = !seen.contains(o);
                if new {
                    seen.push(o.clone());
                }
                new
            });
        }
        if let Some(nested) = c.get_mut("components") {
            strip_1_6(nested);
        }
    }
}
