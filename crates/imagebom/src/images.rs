//! `imagebom images`: list the image references of rendered manifest streams (with `--chart`,
//! also the images the chart declares in `Chart.yaml`: shown with `--all`; with `--kustomize`,
//! of a kustomization built natively).

use crate::cli::ImagesArgs;
use crate::failure::{Failure, WithCode, EXIT_INPUT, EXIT_OK};
use anyhow::{anyhow, Context};
use imagebom_extract::{extract, Limits, Origin};
use imagebom_model::Inventory;
use std::collections::BTreeMap;
use std::io::Write;

/// Reads the manifest stream on stdin, bounded as a manifest file is.
fn read_stdin() -> Result<String, Failure> {
    use imagebom_render::MAX_MANIFEST_BYTES;
    let bytes =
        imagebom_model::fsutil::read_limited_from(std::io::stdin().lock(), MAX_MANIFEST_BYTES)
            .context("<stdin>: cannot read")
            .code(EXIT_INPUT)?
            .ok_or_else(|| {
                anyhow!(
                    "<stdin>: manifest stream is larger than the {MAX_MANIFEST_BYTES}-byte limit"
                )
            })
            .code(EXIT_INPUT)?;
    String::from_utf8(bytes)
        .map_err(|_| anyhow!("<stdin>: manifest stream is not UTF-8 text"))
        .code(EXIT_INPUT)
}

/// Runs `images`.
pub fn run(args: &ImagesArgs, quiet: bool) -> Result<u8, Failure> {
    let mut inv = Inventory::default();
    let limits = Limits::default();
    let mut declared = None;
    if let Some(chart) = &args.chart {
        let (text, d) = crate::render::render_chart_with(chart, &args.chart_args, true)?;
        declared = Some(d);
        extract(
            &text,
            &Origin {
                component: String::new(),
                file: chart.clone(),
            },
            &limits,
        )
        .code(EXIT_INPUT)?
        .into_inventory(&mut inv);
    }
    if let Some(dir) = &args.kustomize {
        let objects = crate::render::build_kustomization(dir, &args.chart_args.render)?;
        // Paths under the DIR given, as the user wrote it.
        let root = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        let shown = |p: &std::path::Path| match p.strip_prefix(&root) {
            Ok(rel) => dir.join(rel).display().to_string(),
            Err(_) => p.display().to_string(),
        };
        for o in &objects {
            let origin = Origin {
                component: String::new(),
                file: format!("{} ({})", shown(&o.kustomization), shown(&o.source)),
            };
            extract(
                &imagebom_kustomize::to_yaml(std::slice::from_ref(o)),
                &origin,
                &limits,
            )
            .code(EXIT_INPUT)?
            .into_inventory(&mut inv);
        }
    }
    for p in &args.paths {
        let (file, text) = if p.as_os_str() == "-" {
            ("<stdin>".to_string(), read_stdin()?)
        } else {
            let text = imagebom_render::read_manifest("", p).code(EXIT_INPUT)?;
            (p.display().to_string(), text)
        };
        let origin = Origin {
            component: String::new(),
            file,
        };
        extract(&text, &origin, &limits)
            .code(EXIT_INPUT)?
            .into_inventory(&mut inv);
    }
    if let Some(d) = &declared {
        imagebom_render::add_declared("", d, &mut inv);
    }
    inv.canonicalize();

    // One line per unique normalised reference, printed as written (or normalised).
    let mut lines: BTreeMap<String, Vec<&imagebom_model::ImageEntry>> = BTreeMap::new();
    for (key, e) in &inv.images {
        let occurrences: Vec<_> = e
            .occurrences
            .iter()
            .filter(|o| args.all || o.category.is_direct())
            .collect();
        if occurrences.is_empty() {
            continue;
        }
        let shown = if args.normalize {
            key.clone()
        } else {
            e.reference.original().to_string()
        };
        lines.entry(shown).or_default().push(e);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = if args.json {
        let images: Vec<serde_json::Value> = lines
            .iter()
            .map(|(shown, entries)| {
                let e = entries[0];
                let occ: Vec<_> = entries
                    .iter()
                    .flat_map(|e| &e.occurrences)
                    .filter(|o| args.all || o.category.is_direct())
                    .collect();
                serde_json::json!({
                    "image": shown,
                    "normalized": e.reference.normalized(),
                    "occurrences": occ,
                })
            })
            .collect();
        let doc = serde_json::json!({ "images": images, "warnings": inv.warnings });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        )
    } else {
        lines.keys().try_for_each(|l| writeln!(out, "{l}"))
    };
    match written.and_then(|_| out.flush()) {
        Ok(()) => {}
        // A closed pipe (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(EXIT_OK),
        Err(e) => return Err(e).context("cannot write to stdout").code(EXIT_INPUT),
    }
    if !quiet && !args.json {
        for w in &inv.warnings {
            eprintln!("warning: {w}");
        }
    }
    Ok(EXIT_OK)
}
