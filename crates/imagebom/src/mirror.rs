//! `imagebom mirror`: the air-gap mirror plan of a recipe (images, platforms, charts) in the
//! format a copy tool or a cluster reads.

use crate::cli::{MirrorArgs, MirrorFormat};
use crate::failure::{Failure, WithCode, EXIT_FINDING, EXIT_INPUT, EXIT_OK};
use crate::generate::write_all;
use crate::pipeline;
use anyhow::Context;
use imagebom_emit::mirror::MirrorFormat as F;
use imagebom_model::fsutil::OutputSet;

/// Runs `mirror`: mirror lists from the recipe and its lock, offline.
pub fn run(args: &MirrorArgs, quiet: bool) -> Result<u8, Failure> {
    use imagebom_emit::mirror::{mirror_with, MirrorOptions};
    use imagebom_emit::EmitError;
    let built = pipeline::build_complete(
        &args.recipe,
        args.lock.as_deref(),
        &pipeline::render_options(&args.render, &args.insecure_registry),
    )?;
    let format = mirror_format(args.format);
    if let (F::Containerd, Some(dir)) = (format, &args.out) {
        return containerd_files(args, &built.inventory, dir, quiet);
    }
    let extras = component_extras(&built.recipe);
    let options = MirrorOptions {
        target: args.target.as_deref(),
        insecure: &args.insecure_registry,
        platforms: &args.platform,
        allow_missing_platform: args.allow_missing_platform,
        components: Some(&extras),
    };
    let text = mirror_with(&built.inventory, format, &options).map_err(|e| {
        let code = if matches!(e, EmitError::MissingPlatform { .. }) {
            EXIT_FINDING
        } else {
            EXIT_INPUT
        };
        Failure {
            code,
            error: e.into(),
        }
    })?;
    match &args.out {
        Some(path) => {
            let mut set = OutputSet::new();
            set.add(path.clone(), text);
            write_all(set, quiet)?;
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e).context("cannot write to stdout").code(EXIT_INPUT),
            }
        }
    }
    if !quiet {
        mirror_notes(args, format, &built.inventory);
    }
    Ok(EXIT_OK)
}

fn mirror_format(f: MirrorFormat) -> F {
    match f {
        MirrorFormat::List => F::List,
        MirrorFormat::Registries => F::Registries,
        MirrorFormat::SkopeoSync => F::SkopeoSync,
        MirrorFormat::SkopeoCopy => F::SkopeoCopy,
        MirrorFormat::Mapping => F::Mapping,
        MirrorFormat::OcMirror => F::OcMirror,
        MirrorFormat::Idms => F::Idms,
        MirrorFormat::Itms => F::Itms,
        MirrorFormat::RegistriesConf => F::RegistriesConf,
        MirrorFormat::Containerd => F::Containerd,
        MirrorFormat::Charts => F::Charts,
        MirrorFormat::ChartCopy => F::ChartCopy,
        MirrorFormat::Hauler => F::Hauler,
        MirrorFormat::Zarf => F::Zarf,
        MirrorFormat::Plan => F::Plan,
    }
}

/// `--format containerd --out DIR`: one hosts.toml per source registry,
/// DIR/<registry>/hosts.toml, all rendered first.
fn containerd_files(
    args: &MirrorArgs,
    inv: &imagebom_model::Inventory,
    dir: &std::path::Path,
    quiet: bool,
) -> Result<u8, Failure> {
    let files = imagebom_emit::mirror::containerd_hosts(
        inv,
        args.target.as_deref(),
        &args.insecure_registry,
    )
    .code(EXIT_INPUT)?;
    let mut set = OutputSet::new();
    for (registry, text) in &files {
        set.add(dir.join(registry).join("hosts.toml"), text.clone());
    }
    write_all(set, quiet)?;
    if !quiet {
        eprintln!(
            "wrote {} hosts.toml file(s) under {}",
            files.len(),
            dir.display()
        );
    }
    Ok(EXIT_OK)
}

/// What the recipe says about each chart component that the inventory does not carry.
fn component_extras(
    recipe: &imagebom_recipe::Recipe,
) -> std::collections::BTreeMap<String, imagebom_emit::mirror::airgap::ComponentExtra> {
    recipe
        .components
        .iter()
        .filter_map(|c| {
            let h = c.helm.as_ref()?;
            Some((
                c.name.clone(),
                imagebom_emit::mirror::airgap::ComponentExtra {
                    values_files: h.values_files.clone(),
                    inline_values: h.values.as_ref().is_some_and(|v| !v.is_null()),
                    release_name: h.release_name.clone(),
                },
            ))
        })
        .collect()
}

/// stderr notes: tag-only images, images left out by --platform, charts a line format
/// cannot carry, charts known only by the recipe's version.
fn mirror_notes(args: &MirrorArgs, format: F, inv: &imagebom_model::Inventory) {
    use imagebom_emit::mirror::{charts, charts_note, platform, unpinned};
    let tags_only = unpinned(inv);
    if !tags_only.is_empty() {
        eprintln!(
            "note: {} image(s) have no digest and are mirrored by tag (run `imagebom lock --resolve`):",
            tags_only.len()
        );
        for t in tags_only {
            eprintln!("  {t}");
        }
    }
    let left_out = platform::missing(inv, &args.platform);
    if !left_out.is_empty() {
        eprintln!(
            "note: {} image(s) have no matching platform and are left out (--allow-missing-platform):",
            left_out.len()
        );
        for t in left_out {
            eprintln!("  {t}");
        }
    }
    if matches!(format, F::List | F::Registries | F::Mapping) {
        if let Some(n) = charts_note(inv) {
            eprintln!("note: {n}");
        }
    }
    let chart_formats = matches!(
        format,
        F::Charts | F::ChartCopy | F::Hauler | F::Zarf | F::OcMirror | F::Plan
    );
    if chart_formats {
        for c in charts::plan_charts(inv, None).unwrap_or_default() {
            if c.version_from == "recipe" {
                eprintln!(
                    "note: chart {} {}: the recipe's version (the chart was not rendered; no archive digest)",
                    c.name, c.version
                );
            }
        }
    }
}
