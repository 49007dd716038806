//! `imagebom`: which container images a Kubernetes distribution deploys, pinned to digests,
//! as CycloneDX 1.6, SPDX 2.3 and a markdown inventory.

mod admission;
mod check;
mod cli;
mod diff;
mod export;
mod failure;
mod generate;
mod images;
mod merge;
mod mirror;
mod pipeline;
mod render;
mod sboms;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: a chart render allocates and frees many small
/// parse nodes and values, and glibc's malloc/free took about a fifth of its instructions
/// (`cargo xtask bench-render`, docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                failure::EXIT_INPUT
            } else {
                0
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_tracing(cli.verbose, cli.quiet);
    let result = match &cli.command {
        cli::Command::Generate(args) => generate::run(args, cli.quiet),
        cli::Command::Images(args) => images::run(args, cli.quiet),
        cli::Command::Render(args) => render::run(args),
        cli::Command::Lock(args) => generate::lock(args, cli.quiet),
        cli::Command::Mirror(args) => mirror::run(args, cli.quiet),
        cli::Command::Check(args) => check::run(args, cli.quiet),
        cli::Command::Policy(args) => admission::run(args, cli.quiet),
        cli::Command::Diff(args) => diff::run(args),
        cli::Command::Merge(args) => merge::run(args, cli.quiet),
        cli::Command::Refresh(args) => generate::refresh(args, cli.quiet),
        cli::Command::Sboms(args) => sboms::run(args, cli.quiet),
        cli::Command::Export(args) => export::run(args, cli.quiet),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("error: {}", message(&f.error));
            ExitCode::from(f.code)
        }
    }
}

/// The error and its causes, `: `-separated, each cause once: library errors that already
/// quote their cause in their message are not followed by it again.
fn message(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn init_tracing(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter =
        EnvFilter::try_from_env("IMAGEBOM_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .init();
}
