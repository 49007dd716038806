//! `imagebom merge`: partial BOMs of one recipe joined into one.

use crate::cli::MergeArgs;
use crate::failure::{Failure, WithCode, EXIT_INPUT, EXIT_OK};
use anyhow::{anyhow, Context};
use imagebom_emit::merge::{merge, MergeInput};

/// Largest input BOM read.
const MAX_BOM: u64 = 256 << 20;

/// Runs `merge`.
pub fn run(args: &MergeArgs) -> Result<u8, Failure> {
    let mut inputs = Vec::with_capacity(args.inputs.len());
    for p in &args.inputs {
        let bytes = imagebom_model::fsutil::read_limited(p, MAX_BOM)
            .with_context(|| format!("{}: cannot read", p.display()))
            .code(EXIT_INPUT)?
            .ok_or_else(|| anyhow!("{}: larger than the 256 MiB limit for a BOM", p.display()))
            .code(EXIT_INPUT)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow!("{}: not UTF-8", p.display()))
            .code(EXIT_INPUT)?;
        inputs.push(MergeInput {
            name: p.display().to_string(),
            text,
        });
    }
    let (_, text) = merge(&inputs).code(EXIT_INPUT)?;
    imagebom_model::fsutil::write_atomic(&args.out, text.as_bytes())
        .with_context(|| format!("{}: cannot write", args.out.display()))
        .code(EXIT_INPUT)?;
    Ok(EXIT_OK)
}
