//! `imagebom merge`: partial BOMs of one recipe joined into one.

use crate::cli::MergeArgs;
use crate::failure::{Failure, WithCode, EXIT_INPUT, EXIT_OK};
use imagebom_emit::merge::{merge_from, MergeError};
use std::path::Path;

/// Largest input BOM read, and the most read in total over all inputs (the merge holds about
/// seven times the total input in memory).
pub const MAX_BOM: u64 = 256 << 20;

/// Runs `merge`: each input is read when its turn comes, so one input at a time is in memory
/// besides the merged result.
pub fn run(args: &MergeArgs, quiet: bool) -> Result<u8, Failure> {
    let names: Vec<String> = args
        .inputs
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut total = 0u64;
    for p in &args.inputs {
        total += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    }
    if total > MAX_BOM {
        return Err(anyhow::anyhow!(
            "the input BOMs total {total} bytes, more than the {MAX_BOM}-byte limit for a merge"
        ))
        .code(EXIT_INPUT);
    }
    let (_, text) = merge_from(&names, |i| read(&args.inputs[i])).code(EXIT_INPUT)?;
    let mut set = imagebom_model::fsutil::OutputSet::new();
    set.add(args.out.clone(), text);
    crate::generate::write_all(set, quiet)?;
    Ok(EXIT_OK)
}

/// One input BOM, bounded by [`MAX_BOM`].
fn read(p: &Path) -> Result<String, MergeError> {
    let bad = |message: String| MergeError::Parse {
        file: p.display().to_string(),
        message,
    };
    let bytes = imagebom_model::fsutil::read_limited(p, MAX_BOM)
        .map_err(|e| bad(format!("cannot read: {e}")))?
        .ok_or_else(|| bad(format!("larger than the {MAX_BOM}-byte limit for a BOM")))?;
    String::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))
}
