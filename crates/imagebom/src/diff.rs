//! `imagebom diff`: two BOMs, two variants of a union BOM, or two variants of a recipe.

use crate::cli::{DiffArgs, DiffFormat};
use crate::failure::{Failure, WithCode, EXIT_FINDING, EXIT_INPUT, EXIT_OK};
use crate::pipeline;
use anyhow::{anyhow, Context};
use imagebom_emit::diff::BomSummary;
use imagebom_emit::diff::{diff, drift_markdown, summarize, summarize_variant, summary_of};
use imagebom_model::fsutil::read_limited;
use std::path::Path;

/// Largest BOM read.
const MAX_BOM_BYTES: u64 = 256 << 20;

/// Runs `diff`.
pub fn run(args: &DiffArgs) -> Result<u8, Failure> {
    if args.variant.len() > 2 {
        return Err(anyhow!(
            "at most two --variant (the old side, then the new); got {}",
            args.variant.len()
        ))
        .code(EXIT_INPUT);
    }
    let (old, new) = match (&args.recipe, &args.old, &args.new) {
        (Some(recipe), _, _) => recipe_variants(args, recipe)?,
        (None, Some(bom), None) => union_variants(bom, &args.variant)?,
        (None, Some(old), Some(new)) => {
            let first = args.variant.first().map(String::as_str);
            let second = args.variant.get(1).map(String::as_str).or(first);
            (read_bom(old, first)?, read_bom(new, second)?)
        }
        (None, None, _) => {
            return Err(anyhow!(
                "give two BOMs, one union BOM with two --variant, or --recipe with two --variant"
            ))
            .code(EXIT_INPUT)
        }
    };
    let drift = diff(&old, &new);
    match args.format {
        DiffFormat::Markdown => print!("{}", drift_markdown(&drift)),
        DiffFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&drift).unwrap_or_default()
        ),
    }
    Ok(if drift.is_empty() {
        EXIT_OK
    } else {
        EXIT_FINDING
    })
}

/// The two `--variant`s of a command that compares variants.
fn two<'a>(variants: &'a [String], what: &str) -> Result<(&'a str, &'a str), Failure> {
    match variants {
        [a, b] => Ok((a.as_str(), b.as_str())),
        _ => Err(anyhow!(
            "{what}: give two --variant (the old side, then the new); got {}",
            variants.len()
        ))
        .code(EXIT_INPUT),
    }
}

/// The two variants of a recipe, each built (with the lock) as `generate --variant` does.
fn recipe_variants(args: &DiffArgs, recipe: &Path) -> Result<(BomSummary, BomSummary), Failure> {
    let (a, b) = two(&args.variant, &recipe.display().to_string())?;
    let loaded = imagebom_recipe::Recipe::load(recipe).code(EXIT_INPUT)?;
    // Unknown names fail here, listing the recipe's variants.
    pipeline::select_variants(&loaded, &[a.to_string(), b.to_string()])?;
    let render = pipeline::render_options(&args.render, &[]);
    let mut sides = Vec::with_capacity(2);
    for v in [a, b] {
        let mut built = pipeline::build_variants(
            recipe,
            args.lock.as_deref(),
            &render,
            std::slice::from_ref(&v.to_string()),
        )?;
        if let Some(f) = built.failed.take() {
            return Err(f);
        }
        sides.push(summary_of(&built.inventory, None));
    }
    let new = sides.pop().unwrap_or_default();
    Ok((sides.pop().unwrap_or_default(), new))
}

/// The two variants of one union BOM.
fn union_variants(bom: &Path, variants: &[String]) -> Result<(BomSummary, BomSummary), Failure> {
    let (a, b) = two(variants, &bom.display().to_string())?;
    Ok((read_bom(bom, Some(a))?, read_bom(bom, Some(b))?))
}

/// Reads and summarises a BOM, narrowed to `variant`'s images when given.
pub(crate) fn read_bom(p: &Path, variant: Option<&str>) -> Result<BomSummary, Failure> {
    let bytes = read_limited(p, MAX_BOM_BYTES)
        .with_context(|| format!("{}: cannot read", p.display()))
        .code(EXIT_INPUT)?
        .ok_or_else(|| anyhow!("{}: larger than {} MiB", p.display(), MAX_BOM_BYTES >> 20))
        .code(EXIT_INPUT)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow!("{}: not UTF-8", p.display()))
        .code(EXIT_INPUT)?;
    let name = p.display().to_string();
    match variant {
        Some(v) => summarize_variant(&name, &text, v),
        None => summarize(&name, &text),
    }
    .code(EXIT_INPUT)
}
