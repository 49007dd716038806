//! The markdown inventory page.

use crate::{digest_of, resolution_of, EmitContext};
use imagebom_model::{ImageEntry, Inventory};
use std::fmt::Write;

/// A character that must not reach the page as itself: controls (C0, DEL, C1) and the
/// bidirectional overrides that reorder how text displays.
fn hidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\r' | '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Text for a table cell, rendered as exactly this text: line breaks become spaces, hidden
/// characters `\u{…}` escapes, and markdown and HTML metacharacters are backslash-escaped
/// (registry- and recipe-supplied text never becomes markup, a link or a tag).
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if hidden(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code span holding exactly `s`: fenced by more backticks than any run inside it, with
/// `|` escaped for the table and line breaks and hidden characters as in [`cell`].
fn code(s: &str) -> String {
    let mut body = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => body.push(' '),
            c if hidden(c) => {
                let _ = write!(body, "\\u{{{:x}}}", c as u32);
            }
            '|' => body.push_str("\\|"),
            c => body.push(c),
        }
    }
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// `Y` found, `–` checked and absent, `?` could not be checked (or never was).
fn mark(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "Y",
        Some(false) => "–",
        None => "?",
    }
}

/// The provenance cells of an image: signature, attestation, SBOM, referrers.
fn provenance_cells(e: &ImageEntry) -> String {
    let p = e.resolution.as_ref().and_then(|r| r.provenance.as_ref());
    let referrers = match p.and_then(|p| p.referrers.as_ref()) {
        None => "?".to_string(),
        Some(r) if r.is_empty() => "–".to_string(),
        Some(r) => r.iter().map(|t| code(t)).collect::<Vec<_>>().join(", "),
    };
    format!(
        " {} | {} | {} | {referrers} |",
        mark(p.and_then(|p| p.signature)),
        mark(p.and_then(|p| p.attestation)),
        mark(p.and_then(|p| p.sbom)),
    )
}

/// One row of the provenance matrix: image, signed, signer, provenance (builder,
/// source@commit), SBOM attested. An image never checked says `unknown` throughout.
fn matrix_row(out: &mut String, key: &str, e: &ImageEntry) {
    use crate::provenance::{source_text, Signed, Signer, View};
    let Some(p) = e.resolution.as_ref().and_then(|r| r.provenance.as_ref()) else {
        let _ = writeln!(out, "| {} | unknown | – | – | unknown |", code(key));
        return;
    };
    let v = View::new(p);
    let signed = match v.signed() {
        Signed::Verified => "**verified**",
        Signed::Unverified => "present, unverified",
        Signed::None => "none",
        Signed::Unknown => "unknown",
    };
    let signers: Vec<String> = v
        .signers()
        .iter()
        .map(|s| match s {
            Signer::Identity { subject, issuer } => {
                let mut t = subject.map(code).unwrap_or_default();
                if let Some(i) = issuer {
                    if !t.is_empty() {
                        t.push(' ');
                    }
                    let _ = write!(t, "({})", code(i));
                }
                t
            }
            Signer::Key(k) => format!("key {}", code(k)),
        })
        .collect();
    let builds: Vec<String> = v
        .builds()
        .iter()
        .map(|b| {
            let mut parts = Vec::new();
            if let Some(id) = &b.builder_id {
                parts.push(format!("builder {}", code(id)));
            }
            if let Some(src) = source_text(b) {
                parts.push(format!("source {}", code(&src)));
            }
            if parts.is_empty() {
                if let Some(t) = &b.build_type {
                    parts.push(format!("build type {}", code(t)));
                }
            }
            parts.join(", ")
        })
        .filter(|t| !t.is_empty())
        .collect();
    let sbom = match (v.sbom_attestation(), v.sbom()) {
        (Some(imagebom_model::lock::Verdict::Verified), _) => "**verified**",
        (Some(imagebom_model::lock::Verdict::Unverified), _) => "present, unverified",
        (None, Some(true)) => "attached, not attested",
        (None, Some(false)) => "none",
        (None, None) => "unknown",
    };
    let or_dash = |v: Vec<String>| {
        if v.is_empty() {
            "–".to_string()
        } else {
            v.join("; ")
        }
    };
    let _ = writeln!(
        out,
        "| {} | {signed} | {} | {} | {sbom} |",
        code(key),
        or_dash(signers),
        or_dash(builds)
    );
}

/// The provenance matrix of a component's images.
fn matrix(out: &mut String, images: &[(&String, &ImageEntry)]) {
    let _ = writeln!(
        out,
        "Provenance:\n\n| image | signed | signer | provenance | SBOM attested |\n|---|---|---|---|---|"
    );
    for (k, e) in images {
        matrix_row(out, k, e);
    }
    out.push('\n');
}

/// The legend of the provenance matrix.
const MATRIX_LEGEND: &str = "Provenance matrix: **signed** is `verified` when a signature \
verified (certificate chain, transparency log, digest), `present, unverified` when one is \
stored but none verified (or verification never ran), `none` when every place was checked \
and none is there, `unknown` when it was never checked or could not be; **signer** is each \
verified signer's identity (OIDC issuer) or key ID; **provenance** is what verified SLSA \
provenance says (builder, source repository@commit); **SBOM attested** is `verified` / \
`present, unverified` for an SBOM attestation, `attached, not attested` for an SBOM \
referrer or `.sbom` tag, else `none` / `unknown`. Whether the recipe trusts a signer is \
`imagebom check`'s decision.\n";

/// Whether any image of `inv` had its provenance checked (then the tables show it).
fn shows_provenance(inv: &Inventory) -> bool {
    inv.images.values().any(|e| {
        e.resolution
            .as_ref()
            .is_some_and(|r| r.provenance.is_some())
    })
}

/// The variants cell of image `key` in a union of several variants: `every variant`, or the
/// variants that deploy it.
fn variants_cell(inv: &Inventory, key: &str) -> String {
    let vs = inv.image_variants(key);
    if vs.len() == inv.variants.len() {
        return "every variant".to_string();
    }
    vs.iter().map(|v| code(v)).collect::<Vec<_>>().join(", ")
}

/// Whether the image tables get a variants column: a union of more than one variant.
fn shows_variants(inv: &Inventory) -> bool {
    inv.variants.len() > 1
}

fn row(out: &mut String, inv: &Inventory, key: &str, e: &ImageEntry, provenance: bool) {
    let r = &e.reference;
    let digest = match digest_of(e) {
        Some(d) => code(&d.to_string()),
        None => "unresolved".to_string(),
    };
    let platforms = e
        .resolution
        .as_ref()
        .map(|res| {
            res.platforms
                .iter()
                .map(|p| p.spec())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let categories = e
        .categories()
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |{}",
        code(key),
        cell(r.tag().unwrap_or("")),
        digest,
        resolution_of(e),
        cell(&platforms),
        categories,
        if provenance {
            provenance_cells(e)
        } else {
            String::new()
        }
    );
    if shows_variants(inv) {
        out.pop();
        let _ = writeln!(out, " {} |", variants_cell(inv, key));
    }
}

/// The variants section of a union: per variant, its images and those no other variant has.
fn variants_section(out: &mut String, inv: &Inventory) {
    let _ = writeln!(
        out,
        "## Variants

| variant | images | only in this variant |
|---|---|---|"
    );
    let mut names = inv.variants.clone();
    names.sort_unstable();
    for v in &names {
        let (mut all, mut only) = (0, 0);
        for key in inv.images.keys() {
            let vs = inv.image_variants(key);
            if vs.contains(v.as_str()) {
                all += 1;
                only += usize::from(vs.len() == 1);
            }
        }
        let _ = writeln!(out, "| {} | {all} | {only} |", code(v));
    }
    out.push('\n');
}

/// The header of the image tables: the provenance and variants columns when shown.
fn table_header(provenance: bool, variants: bool) -> String {
    let mut names = vec![
        "image",
        "tag",
        "digest",
        "resolution",
        "platforms",
        "found as",
    ];
    if provenance {
        names.extend(["signature", "attestation", "SBOM", "referrers"]);
    }
    if variants {
        names.push("variants");
    }
    format!("| {} |\n|{}", names.join(" | "), "---|".repeat(names.len()))
}

/// Renders the inventory as a markdown page: a summary, one table of images per component,
/// and the warnings.
pub fn markdown(inv: &Inventory, cx: &EmitContext) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Image inventory: {} {}\n",
        cell(&inv.recipe.name),
        cell(&inv.recipe.version)
    );
    if let Some(d) = &inv.recipe.description {
        let _ = writeln!(out, "{}\n", cell(d));
    }
    let _ = writeln!(
        out,
        "Generated by {} {} at {}.\n",
        cx.tool_name, cx.tool_version, cx.timestamp
    );
    out.push_str(&markdown_body(inv));
    out
}

/// Start and end markers of the generated region in a hand-written page.
pub const BEGIN: &str = "<!-- imagebom:begin (generated; do not edit by hand) -->";
/// See [`BEGIN`].
pub const END: &str = "<!-- imagebom:end -->";

/// Replaces the region between [`BEGIN`] and [`END`] in `page` with the inventory (without
/// title or timestamp, so an unchanged inventory leaves the page byte-identical).
pub fn update_page(page: &str, inv: &Inventory) -> Option<String> {
    let b = page.find(BEGIN)?;
    let e = page[b..].find(END)? + b;
    Some(format!(
        "{}{BEGIN}\n\n{}{}",
        &page[..b],
        markdown_body(inv),
        &page[e..]
    ))
}

/// The inventory tables: summary, registries, components, images per component, warnings.
pub fn markdown_body(inv: &Inventory) -> String {
    let mut out = String::new();
    let resolved = inv
        .images
        .values()
        .filter(|e| digest_of(e).is_some())
        .count();
    let registries: std::collections::BTreeMap<&str, usize> =
        inv.images.values().fold(Default::default(), |mut m, e| {
            *m.entry(e.reference.registry()).or_default() += 1;
            m
        });
    let pinned_in_ref = inv
        .images
        .values()
        .filter(|e| e.reference.digest().is_some())
        .count();
    let charts: Vec<_> = inv
        .components
        .iter()
        .filter_map(|c| c.chart.as_ref())
        .collect();
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| components | {} |", inv.components.len());
    let _ = writeln!(out, "| unique images | {} |", inv.images.len());
    let _ = writeln!(out, "| distinct registries | {} |", registries.len());
    let _ = writeln!(
        out,
        "| images pinned by digest in their reference | {pinned_in_ref} |"
    );
    let _ = writeln!(out, "| images with a known digest | {resolved} |");
    let _ = writeln!(
        out,
        "| without a digest | {} |",
        inv.images.len() - resolved
    );
    let _ = writeln!(
        out,
        "| charts pinned | {} of {} |",
        charts.iter().filter(|c| c.pinned).count(),
        charts.len()
    );
    if !inv.variants.is_empty() {
        let mut names: Vec<String> = inv.variants.iter().map(|v| code(v)).collect();
        names.sort_unstable();
        let _ = writeln!(out, "| variants | {} |", names.join(", "));
    }
    if shows_provenance(inv) {
        let checked: Vec<&imagebom_model::Provenance> = inv
            .images
            .values()
            .filter_map(|e| e.resolution.as_ref().and_then(|r| r.provenance.as_ref()))
            .collect();
        let count =
            |f: fn(&imagebom_model::Provenance) -> bool| checked.iter().filter(|p| f(p)).count();
        let _ = writeln!(out, "| provenance checked | {} |", checked.len());
        let _ = writeln!(
            out,
            "| with a cosign signature | {} |",
            count(|p| p.signature == Some(true))
        );
        let _ = writeln!(
            out,
            "| with attestations | {} |",
            count(|p| p.attestation == Some(true))
        );
        let _ = writeln!(
            out,
            "| with an attached SBOM | {} |",
            count(|p| p.sbom == Some(true))
        );
        let _ = writeln!(
            out,
            "| with OCI referrers | {} |",
            count(|p| p.referrers.as_ref().is_some_and(|r| !r.is_empty()))
        );
        let _ = writeln!(
            out,
            "| with a verified signature | {} |",
            checked
                .iter()
                .filter(|p| crate::provenance::View::new(p).signed()
                    == crate::provenance::Signed::Verified)
                .count()
        );
        let _ = writeln!(
            out,
            "| provenance not fully checked | {} |",
            count(|p| !p.is_complete())
        );
    }
    let _ = writeln!(out, "| warnings | {} |\n", inv.warnings.len());

    if shows_variants(inv) {
        variants_section(&mut out, inv);
    }
    let _ = writeln!(out, "## Registries\n\n| registry | images |\n|---|---|");
    for (r, n) in &registries {
        let _ = writeln!(out, "| {} | {n} |", code(r));
    }
    out.push('\n');

    let _ = writeln!(
        out,
        "## Components\n\n| component | type | chart | version | pinned | images |\n|---|---|---|---|---|---|"
    );
    for c in &inv.components {
        let n = inv.images_of(&c.name).count();
        match &c.chart {
            Some(ch) => {
                let _ = writeln!(
                    out,
                    "| {} | helm | {} | {} | {} | {n} |",
                    code(&c.name),
                    code(&ch.chart),
                    code(&ch.version),
                    if ch.pinned { "yes" } else { "**no**" }
                );
            }
            None => {
                let _ = writeln!(out, "| {} | manifests | – | – | – | {n} |", code(&c.name));
            }
        }
    }
    out.push('\n');

    let provenance = shows_provenance(inv);
    if provenance {
        let _ = writeln!(
            out,
            "Provenance columns: **signature** (cosign `sha256-<hex>.sig`), **attestation** \
             (`.att`), **SBOM** (`.sbom`), **referrers** (OCI 1.1 referrers by `artifactType`); \
             `Y` found, `–` none, `?` could not be checked.\n"
        );
        let _ = writeln!(out, "{MATRIX_LEGEND}");
    }
    let header = table_header(provenance, shows_variants(inv));
    for c in &inv.components {
        let title = c.display_name.as_deref().unwrap_or(&c.name);
        let _ = writeln!(out, "## {} ({})\n", cell(title), code(&c.name));
        if let Some(ch) = &c.chart {
            let pin = if ch.pinned { "pinned" } else { "not pinned" };
            let _ = writeln!(
                out,
                "Chart {} from {}, version {} ({pin}).\n",
                code(&ch.chart),
                code(&imagebom_model::redact_url(&ch.repository)),
                code(&ch.version)
            );
            if let Some(r) = &ch.rendered {
                rendered_chart(&mut out, r);
            }
        }
        let images: Vec<_> = inv.images_of(&c.name).collect();
        if images.is_empty() {
            let _ = writeln!(out, "No images.\n");
            continue;
        }
        let _ = writeln!(out, "{header}");
        for (k, e) in &images {
            row(&mut out, inv, k, e, provenance);
        }
        out.push('\n');
        if provenance {
            matrix(&mut out, &images);
        }
    }
    let orphans: Vec<_> = inv.orphans().collect();
    if !orphans.is_empty() {
        let _ = writeln!(out, "## Images outside any component\n\n{header}");
        for (k, e) in &orphans {
            row(&mut out, inv, k, e, provenance);
        }
        out.push('\n');
        if provenance {
            matrix(&mut out, &orphans);
        }
    }
    if !inv.warnings.is_empty() {
        let _ = writeln!(
            out,
            "## Warnings\n\n| component | source | object | path | value | message |\n|---|---|---|---|---|---|"
        );
        for w in &inv.warnings {
            let _ = writeln!(
                out,
                "| {} | {} | {}/{} | {} | {} | {} |",
                cell(&w.component),
                cell(&w.source),
                cell(&w.kind),
                cell(&w.name),
                code(&w.path),
                code(&w.value),
                cell(&w.message)
            );
        }
        out.push('\n');
    }
    out
}

/// What a chart rendered: its version, archive digest and source, then its subcharts.
fn rendered_chart(out: &mut String, r: &imagebom_model::RenderedChartInfo) {
    let _ = writeln!(out, "Rendered: {}.\n", chart_text(r));
    if !r.subcharts.is_empty() {
        let mut subs = Vec::new();
        flatten(r, "", &mut subs);
        // A chart used under several aliases is listed once, with its count.
        let mut listed: Vec<(String, usize)> = Vec::new();
        for s in subs {
            match listed.iter_mut().find(|(t, _)| *t == s) {
                Some((_, n)) => *n += 1,
                None => listed.push((s, 1)),
            }
        }
        let listed: Vec<String> = listed
            .into_iter()
            .map(|(t, n)| if n > 1 { format!("{t} ({n}×)") } else { t })
            .collect();
        let _ = writeln!(out, "Subcharts rendered: {}.\n", listed.join("; "));
    }
}

/// `name` `version` from `source` (archive `sha256:…`).
fn chart_text(r: &imagebom_model::RenderedChartInfo) -> String {
    let mut text = format!(
        "{} {} from {}",
        code(&r.name),
        code(&r.version),
        code(&imagebom_model::redact_url(&r.source))
    );
    if let Some(d) = &r.digest {
        let _ = write!(text, " (archive {})", code(d));
    }
    text
}

/// Every subchart of `r`, nested ones as `parent/child`.
fn flatten(r: &imagebom_model::RenderedChartInfo, prefix: &str, out: &mut Vec<String>) {
    for s in &r.subcharts {
        let path = format!("{prefix}{}", s.name);
        let mut text = format!("{} {}", code(&path), code(&s.version));
        if let Some(d) = &s.digest {
            let _ = write!(text, " (archive {})", code(d));
        }
        out.push(text);
        flatten(s, &format!("{path}/"), out);
    }
}
