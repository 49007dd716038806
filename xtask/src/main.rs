//! Project chores: `cargo xtask <command>`.
//!
//! - `schemas`: check that the official schemas in `schemas/` are byte-identical to the
//!   copies in `../shared/schemas` (or `$IMAGEBOM_SHARED/schemas`); `--update` copies them.
//! - `bench-resolve`: build the release binary and run `tests/bench/resolve_bench.py` (a local
//!   registry behind a 20 ms proxy; 1,000 tags; compared with a sequential `skopeo` loop).
//!   Needs `make test` to have created `.venv` and installed docker-registry and skopeo.
//! - `bench-render [--reps N] [--rounds R]`: render the corpus charts natively (in-process
//!   calls via `cargo bench -p imagebom-helm --bench corpus`, and `imagebom render` processes)
//!   and with the Helm SDK (`tests/bench/helm_bench.py`); per-chart times, ratios, the whole
//!   corpus at once, max RSS, document counts (see `bench_render.rs`).
//! - `bench-kustomize [--cases DIR] [--only NAME]... [--reps N] [--bin PATH] [--kubectl PATH]`: build every shared
//!   kustomization natively (in process and as `imagebom render --kustomize` processes) and with
//!   `kubectl kustomize` processes; wall and CPU times per case and in total, with the ratios
//!   (see `bench_kustomize.rs`).
//! - `bench-recipe [--bin PATH] [--latency-ms N]`: AICR's component registry end to end, cold,
//!   charts from a local HTTP chart repository and OCI registry and images from a local
//!   registry, all behind a 20 ms proxy, against AICR's way (a Helm SDK `helm template` process
//!   per chart, then `skopeo inspect` per image); times, ratio, requests, peak memory (see
//!   `bench_recipe.rs`).
//! - `latency-proxy UPSTREAM [--latency-ms N]`: the benchmark's proxy (async, counts requests;
//!   see `proxy.rs`).
//! - `conformance [--update|--check]`: regenerate the conformance suite's expected outputs with
//!   the real Go `text/template` and Helm (see `conformance.rs`); `--check` fails on any difference.
//! - `fuzz [--seconds N] [TARGET...]`: run the cargo-fuzz targets in `fuzz/` for N seconds each
//!   (default 60); fails on a crash (see `fuzz.rs`).
//! - `kustomize-schema [--check]`: regenerate `imagebom-kustomize`'s strategic-merge table from
//!   the Kubernetes OpenAPI schema in the venv's `kubernetes-validate` (see `kustomize_schema.rs`).
//! - `scale [--images N]...`: generate a synthetic recipe of up to 5,000 images and a local
//!   registry holding them, then time `generate --resolve` end to end (see `scale.rs`).
//! - `repro [--head] [--keep]`: build the static release binary twice, from two copies of the
//!   checkout (`--head`: of the committed tree) at different paths into two target directories,
//!   and fail unless the sha256 sums agree (see `release.rs`).
//! - `sbom [--out FILE]`: imagebom's own CycloneDX 1.6 SBOM (`dist/imagebom.cdx.json`): the
//!   crates linked into the binary with versions, purls, licenses and Cargo.lock checksums.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

mod bench_kustomize;
mod bench_recipe;
mod bench_render;
mod conformance;
mod fuzz;
mod kustomize_schema;
mod proxy;
mod release;
mod scale;

const OFFICIAL: [&str; 4] = [
    "bom-1.6.schema.json",
    "spdx.schema.json",
    "jsf-0.82.schema.json",
    "spdx-2.3.schema.json",
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("schemas") => schemas(args.iter().any(|a| a == "--update")),
        Some("bench-resolve") => bench_resolve(),
        Some("bench-kustomize") => bench_kustomize::run(&root(), &args[1..]),
        Some("bench-recipe") => bench_recipe::run(&root(), &args[1..]),
        Some("bench-render") => bench_render::run(&root(), &args[1..]),
        Some("conformance") => conformance::run(&root(), args.iter().any(|a| a == "--update")),
        Some("fuzz") => fuzz::run(&root(), &args[1..]),
        Some("kustomize-schema") => kustomize_schema::run(&root(), &args[1..]),
        Some("scale") => scale::run(&root(), &args[1..]),
        Some("repro") => release::repro(&root(), &args[1..]),
        Some("sbom") => release::sbom(&root(), &args[1..]),
        Some("latency-proxy") => proxy::run(&args[1..]),
        _ => bail!("usage: cargo xtask schemas [--update] | bench-resolve | bench-kustomize [--cases DIR] [--only NAME]... [--reps N] [--bin PATH] [--kubectl PATH] | bench-recipe [--bin PATH] [--latency-ms N] | bench-render [--reps N] [--rounds R] | conformance [--update|--check] | fuzz [--seconds N] [TARGET...] | kustomize-schema [--check] | scale [--images N]... | repro [--head] [--keep] | sbom [--out FILE] | latency-proxy UPSTREAM [--latency-ms N]"),
    }
}

/// `cargo build --release --locked -p imagebom` in `root`: the binary the benches time.
fn build_release(root: &std::path::Path) -> Result<()> {
    let status = std::process::Command::new("cargo")
        .args(["build", "--release", "--locked", "-p", "imagebom"])
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("release build failed");
    }
    Ok(())
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn schemas(update: bool) -> Result<()> {
    let shared = std::env::var_os("IMAGEBOM_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"))
        .join("schemas");
    if !shared.is_dir() {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            bail!(
                "the shared schemas are not at {} (set IMAGEBOM_SHARED): CI=true requires them",
                shared.display()
            );
        }
        println!("NOT RUN: the shared schemas are not at {} (set IMAGEBOM_SHARED); CI=true makes this a failure", shared.display());
        return Ok(());
    }
    let mut differ = Vec::new();
    for name in OFFICIAL {
        let src = shared.join(name);
        let dst = root().join("schemas").join(name);
        let a = std::fs::read(&src).with_context(|| format!("{}", src.display()))?;
        let b = std::fs::read(&dst).unwrap_or_default();
        if a != b {
            if update {
                std::fs::write(&dst, &a).with_context(|| format!("{}", dst.display()))?;
                println!("updated {}", dst.display());
            } else {
                differ.push(name);
            }
        }
    }
    if !differ.is_empty() {
        bail!(
            "schemas differ from {}: {differ:?} (run `cargo xtask schemas --update`)",
            shared.display()
        );
    }
    println!("schemas match {}", shared.display());
    Ok(())
}

fn bench_resolve() -> Result<()> {
    build_release(&root())?;
    // The latency proxy is this program (`latency-proxy`): async Rust, not a Python thread
    // per connection.
    let status = std::process::Command::new(root().join(".venv/bin/python"))
        .arg(root().join("tests/bench/resolve_bench.py"))
        .env("XTASK_BIN", std::env::current_exe()?)
        .current_dir(root())
        .status()
        .context("run `make test` first: it creates .venv")?;
    if !status.success() {
        bail!("benchmark missed its targets");
    }
    Ok(())
}
