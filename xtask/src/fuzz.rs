//! `cargo xtask fuzz [--seconds N] [TARGET...]`: run every fuzz target in `fuzz/` (or the
//! named ones) for a bounded time each; fail when any target finds a crash, a timeout or an
//! out-of-memory input.
//!
//! cargo-fuzz drives libFuzzer, whose instrumentation needs unstable compiler flags: on a
//! stable toolchain they are unlocked with `RUSTC_BOOTSTRAP=1` (nothing else changes). The
//! first run installs cargo-fuzz into `target/tools`. Targets are built without a sanitizer
//! (the code under test is safe Rust; panics, overflows — debug assertions are on — hangs
//! and memory blow-ups are what is looked for) into `target/fuzz`. Each run reads the
//! committed seeds in `fuzz/corpus/<target>/` and keeps what it learns in
//! `target/fuzz-corpus/<target>/`, so the committed corpora stay small. A crashing input is
//! written to `fuzz/artifacts/<target>/` (ignored by git): turn it into a regression test
//! in the owning crate.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// Bounds passed to libFuzzer for every target.
const LIBFUZZER_ARGS: [&str; 3] = ["-rss_limit_mb=2048", "-timeout=10", "-max_len=65536"];

/// Runs the fuzz targets.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut seconds = 60u64;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .context("--seconds needs a number")?
                    .parse()
                    .context("--seconds")?
            }
            t if !t.starts_with('-') => targets.push(t.to_string()),
            other => {
                bail!("unknown argument {other:?}: cargo xtask fuzz [--seconds N] [TARGET...]")
            }
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let fuzz_target_dir = target.join("fuzz");
    let cargo_fuzz = install(&target)?;
    let fuzz = |sub: &str| {
        let mut c = Command::new(&cargo_fuzz);
        c.arg("fuzz")
            .arg(sub)
            .current_dir(root)
            .env("RUSTC_BOOTSTRAP", "1");
        c
    };
    if targets.is_empty() {
        let out = fuzz("list").output().context("cargo fuzz list")?;
        targets = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
    }
    if targets.is_empty() {
        bail!("no fuzz targets found in fuzz/");
    }
    let status = fuzz("build")
        .args(["--sanitizer", "none", "--target-dir"])
        .arg(&fuzz_target_dir)
        .status()?;
    if !status.success() {
        bail!("building the fuzz targets failed");
    }
    let mut failed = Vec::new();
    for t in &targets {
        let work = target.join("fuzz-corpus").join(t);
        std::fs::create_dir_all(&work)?;
        let seeds = root.join("fuzz/corpus").join(t);
        std::fs::create_dir_all(&seeds)?;
        println!("fuzz {t}: {seconds} s");
        let status = fuzz("run")
            .args(["--sanitizer", "none", "--target-dir"])
            .arg(&fuzz_target_dir)
            .arg(t)
            .arg(&work)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .args(LIBFUZZER_ARGS)
            .status()?;
        if !status.success() {
            failed.push(t.clone());
        }
    }
    if !failed.is_empty() {
        bail!(
            "fuzz targets failed: {} (inputs in fuzz/artifacts/<target>/)",
            failed.join(", ")
        );
    }
    println!(
        "{} fuzz target(s) ran {seconds} s each without a failure",
        targets.len()
    );
    Ok(())
}

/// `TARGET/tools/bin/cargo-fuzz`, installed there on first use.
fn install(target: &Path) -> Result<std::path::PathBuf> {
    let tools = target.join("tools");
    let bin = tools.join("bin/cargo-fuzz");
    if !bin.exists() {
        let status = Command::new("cargo")
            .args(["install", "cargo-fuzz", "--locked", "--root"])
            .arg(&tools)
            .status()
            .context("cargo install cargo-fuzz")?;
        if !status.success() {
            bail!("installing cargo-fuzz failed");
        }
    }
    Ok(bin)
}
