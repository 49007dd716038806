//! `imagebom policy`: admission policies that enforce the BOM at deploy time.

use crate::cli::{AdmissionArgs, AdmissionFormat};
use crate::failure::{Failure, WithCode, EXIT_INPUT, EXIT_OK};
use crate::pipeline;
use imagebom_emit::admission::{admission_policy, AdmissionFormat as F, AdmissionOptions};
use imagebom_model::fsutil::OutputSet;

/// Runs `policy`.
pub fn run(args: &AdmissionArgs, quiet: bool) -> Result<u8, Failure> {
    let built = pipeline::build_complete(
        &args.recipe,
        args.lock.as_deref(),
        &pipeline::render_options(&args.render, &[]),
    )?;
    let format = match args.format {
        AdmissionFormat::Kyverno => F::Kyverno,
        AdmissionFormat::PolicyController => F::PolicyController,
    };
    if let Some(n) = &args.name {
        if !n.chars().any(|c| c.is_ascii_alphanumeric()) {
            return Err(anyhow::anyhow!(
                "--name {n:?}: a policy name needs a letter or digit (it becomes a DNS-1123 name)"
            ))
            .code(EXIT_INPUT);
        }
    }
    let opts = AdmissionOptions {
        name: args
            .name
            .clone()
            .unwrap_or_else(|| format!("imagebom-{}", built.inventory.recipe.name)),
        audit: args.audit,
    };
    let text = admission_policy(&built.inventory, format, &opts)
        .map_err(|e| anyhow::anyhow!("{}: {e}", built.recipe.path.display()))
        .code(EXIT_INPUT)?;
    match &args.out {
        Some(p) => {
            let mut set = OutputSet::new();
            set.add(p.clone(), text);
            crate::generate::write_all(set, quiet)?;
        }
        None => print!("{text}"),
    }
    Ok(EXIT_OK)
}
