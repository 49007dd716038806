//! `imagebom check`: release gates.

use crate::cli::{CheckArgs, CheckFormat};
use crate::failure::{Failure, WithCode, EXIT_FINDING, EXIT_INPUT, EXIT_OK};
use crate::pipeline;
use anyhow::{anyhow, Context};
use imagebom_emit::policy::{
    check, human, sarif, Exemption, Finding, PolicyConfig, Rule, Severity,
};
use imagebom_model::fsutil::{read_limited, OutputSet};
use std::collections::BTreeMap;

/// Largest `--policy` file read.
pub const MAX_POLICY_BYTES: u64 = 4 << 20;

/// Runs `check`.
pub fn run(args: &CheckArgs, quiet: bool) -> Result<u8, Failure> {
    let config = match &args.policy {
        Some(p) => read_policy(p)?,
        None => PolicyConfig::default(),
    };
    let built = pipeline::build_complete(
        &args.recipe,
        args.lock.as_deref(),
        &pipeline::render_options(&args.render, &[]),
    )?;
    let recipe_file = built.recipe.path.display().to_string();
    let exemptions: Vec<Exemption> = built
        .recipe
        .exemptions
        .iter()
        .map(|e| Exemption {
            reference: e.reference.clone(),
            reason: e.reason.clone(),
            tracking: e.tracking.clone(),
        })
        .collect();
    let mut findings = check(&built.inventory, &recipe_file, &exemptions, &config);
    fill_lines(&mut findings);
    let text = match args.format {
        CheckFormat::Text => human(&findings),
        CheckFormat::Sarif => sarif(&findings, env!("CARGO_PKG_VERSION")),
    };
    match &args.out {
        Some(p) => {
            let mut set = OutputSet::new();
            set.add(p.clone(), text);
            crate::generate::write_all(set, quiet)?;
        }
        None => print!("{text}"),
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if !quiet {
        eprintln!("{} finding(s), {errors} error(s)", findings.len());
    }
    Ok(if errors > 0 { EXIT_FINDING } else { EXIT_OK })
}

fn read_policy(path: &std::path::Path) -> Result<PolicyConfig, Failure> {
    let bytes = read_limited(path, MAX_POLICY_BYTES)
        .with_context(|| format!("{}: cannot read policy", path.display()))
        .code(EXIT_INPUT)?
        .ok_or_else(|| {
            anyhow!(
                "{}: policy is larger than the {MAX_POLICY_BYTES}-byte limit",
                path.display()
            )
        })
        .code(EXIT_INPUT)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow!("{}: policy is not UTF-8 text", path.display()))
        .code(EXIT_INPUT)?;
    serde_yaml_ng::from_str(&text)
        .map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(":{}:{}", l.line(), l.column()))
                .unwrap_or_default();
            anyhow!("{}{at}: invalid policy: {e}", path.display())
        })
        .code(EXIT_INPUT)
}

/// Points each finding at the first line of its file that mentions its subject.
fn fill_lines(findings: &mut [Finding]) {
    let mut files: BTreeMap<String, Option<String>> = BTreeMap::new();
    for f in findings.iter_mut() {
        let text = files
            .entry(f.file.clone())
            .or_insert_with(|| std::fs::read_to_string(&f.file).ok());
        let Some(text) = text else { continue };
        let needle = match f.rule {
            // `component/chart`: the chart's line.
            Rule::ChartPinned => f.subject.rsplit('/').next().unwrap_or(&f.subject),
            _ => f.subject.as_str(),
        };
        f.line = text.lines().position(|l| l.contains(needle)).map(|i| i + 1);
    }
}
