//! `imagebom export`: scanner inputs from the recipe and its lock (offline).

use crate::cli::{ExportArgs, ExportFormat};
use crate::failure::{Failure, WithCode, EXIT_INPUT, EXIT_OK};
use crate::pipeline;
use anyhow::{anyhow, Context};
use imagebom_emit::export::{changed, dependency_track, matrix, refs, targets, Target};
use imagebom_model::fsutil::{read_limited, OutputSet};
use std::collections::BTreeSet;
use std::path::Path;

/// Runs `export`.
pub fn run(args: &ExportArgs, quiet: bool) -> Result<u8, Failure> {
    let built = pipeline::build_complete(
        &args.recipe,
        args.lock.as_deref(),
        &pipeline::render_options(&args.render, &[]),
    )?;
    let only = match &args.changed[..] {
        [old, new] => Some(changed_ids(old, new)?),
        _ => None,
    };
    let list = targets(&built.inventory, args.per_platform, only.as_ref());
    let mut set = OutputSet::new();
    match args.format {
        ExportFormat::Matrix | ExportFormat::Refs => {
            let text = if args.format == ExportFormat::Matrix {
                matrix(&list)
            } else {
                refs(&list)
            };
            match &args.out {
                Some(p) => set.add(p.clone(), text),
                None => {
                    print!("{text}");
                    return Ok(EXIT_OK);
                }
            }
        }
        ExportFormat::DependencyTrack => {
            let dir = args
                .out
                .as_ref()
                .ok_or_else(|| anyhow!("--format dependency-track needs --out DIR"))
                .code(EXIT_INPUT)?;
            dt_layout(&built.inventory, &list, &args.sboms, dir, &mut set)?;
        }
    }
    crate::generate::write_all(set, quiet)?;
    if !quiet {
        eprintln!("exported {} image(s)", list.len());
    }
    Ok(EXIT_OK)
}

/// The BOM ids `diff OLD NEW` reports as added or changed.
fn changed_ids(old: &Path, new: &Path) -> Result<BTreeSet<String>, Failure> {
    use crate::diff::read_bom;
    use imagebom_emit::diff::diff;
    Ok(changed(&diff(&read_bom(old, None)?, &read_bom(new, None)?)))
}

/// The Dependency-Track layout in `dir`: each child's stored CycloneDX SBOM copied to
/// `bom/<n>.cdx.json` (verified), else an SBOM of the image alone.
fn dt_layout(
    inv: &imagebom_model::Inventory,
    list: &[Target],
    sboms: &Path,
    dir: &Path,
    set: &mut OutputSet,
) -> Result<(), Failure> {
    let name = |i: usize| format!("bom/{:04}.cdx.json", i + 1);
    for (i, t) in list.iter().enumerate() {
        let p = t
            .sbom
            .as_ref()
            .ok_or_else(|| {
                anyhow!(
                    "{}: no CycloneDX SBOM recorded in the lock: run `imagebom sboms --out {}` first",
                    t.image,
                    sboms.display()
                )
            })
            .code(EXIT_INPUT)?;
        let text = read_sbom(inv, t, &sboms.join(p))?;
        set.add(dir.join(name(i)), text);
    }
    let index: std::collections::BTreeMap<&str, usize> = list
        .iter()
        .enumerate()
        .map(|(i, t)| (t.image.as_str(), i))
        .collect();
    for f in dependency_track(inv, list, |t| name(index[t.image.as_str()])) {
        let path = dir.join(&f.path);
        set.add(path, f.text);
    }
    Ok(())
}

/// A stored SBOM, checked against the digest its lock record gives.
fn read_sbom(inv: &imagebom_model::Inventory, t: &Target, path: &Path) -> Result<Vec<u8>, Failure> {
    let bytes = read_limited(path, crate::sboms::MAX_SBOM_BYTES)
        .with_context(|| format!("{}: cannot read the SBOM of {}", path.display(), t.image))
        .code(EXIT_INPUT)?
        .ok_or_else(|| anyhow!("{}: SBOM too large", path.display()))
        .code(EXIT_INPUT)?;
    let want = inv
        .images
        .values()
        .filter_map(|e| e.resolution.as_ref())
        .flat_map(|r| &r.sboms)
        .find(|s| path.ends_with(&s.path))
        .map(|s| s.digest.clone());
    let actual = imagebom_model::Digest::sha256_of(&bytes);
    if want.as_ref() != Some(&actual) {
        return Err(anyhow!(
            "{}: digest {actual} is not what the lock records for {}",
            path.display(),
            t.image
        ))
        .code(EXIT_INPUT);
    }
    Ok(bytes)
}
