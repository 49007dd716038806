//! `imagebom generate` and `imagebom lock`.

use crate::cli::{Format, GenerateArgs, LockArgs, RefreshArgs, RegistryArgs, RenderArgs};
use crate::failure::{Failure, WithCode, EXIT_INPUT, EXIT_OK, EXIT_REGISTRY};
use crate::pipeline;
use anyhow::{anyhow, Context};
use imagebom_emit::EmitContext;
use imagebom_model::fsutil::{read_limited, OutputSet};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Largest `--page` read.
pub const MAX_PAGE_BYTES: u64 = 16 << 20;

/// Largest `--trusted-root` read.
pub const MAX_TRUSTED_ROOT_BYTES: u64 = 4 << 20;

/// The content-addressed store attached SBOMs are kept in: the registry cache directory
/// (`--cache-dir`, else the default), whatever `--refresh` says (content never goes stale).
fn blob_store(args: &RegistryArgs) -> Option<imagebom_resolve::cache::Cache> {
    args.cache_dir
        .clone()
        .or_else(imagebom_resolve::cache::Cache::default_dir)
        .map(|d| imagebom_resolve::cache::Cache::new(d, std::time::Duration::ZERO))
}

/// The attached SBOM files of `inv` to write under `out`: those just pulled (`fresh`), else
/// from the cache, else the file already in `out` when its digest matches the lock. One that
/// is nowhere is a warning (the lock still records it; `lock --resolve --provenance` fetches
/// it again).
fn attached_files(
    inv: &imagebom_model::Inventory,
    out: &Path,
    args: &RegistryArgs,
    fresh: Vec<(String, Vec<u8>)>,
) -> Vec<(PathBuf, Vec<u8>)> {
    use imagebom_model::lock::SbomSource;
    let fresh: std::collections::BTreeMap<String, Vec<u8>> = fresh.into_iter().collect();
    let store = blob_store(args);
    let mut files = Vec::new();
    for e in inv.images.values() {
        let Some(r) = &e.resolution else { continue };
        for s in r.sboms.iter().filter(|s| s.source == SbomSource::Attached) {
            let ok = |b: &Vec<u8>| {
                imagebom_model::Digest::of(s.digest.algorithm(), b).as_ref() == Some(&s.digest)
            };
            let bytes = fresh
                .get(&s.path)
                .filter(|b| ok(b))
                .cloned()
                .or_else(|| store.as_ref().and_then(|c| c.get_blob(&s.digest)))
                .or_else(|| {
                    read_limited(&out.join(&s.path), crate::sboms::MAX_SBOM_BYTES)
                        .ok()
                        .flatten()
                        .filter(ok)
                });
            match bytes {
                Some(b) => files.push((out.join(&s.path), b)),
                None => eprintln!(
                    "warning: the attached SBOM {} ({}) is neither cached nor in {}; run `imagebom lock --resolve --provenance` to fetch it",
                    s.path,
                    s.digest,
                    out.display()
                ),
            }
        }
    }
    files
}

/// Writes `set` (all files or none), telling on stderr when it waits for another run.
pub(crate) fn write_all(set: OutputSet, quiet: bool) -> Result<Vec<PathBuf>, Failure> {
    set.on_wait(move |dir| {
        if !quiet {
            eprintln!(
                "waiting for another imagebom run writing {} to finish",
                dir.display()
            );
        }
    })
    .commit()
    .code(EXIT_INPUT)
}

/// Reads the `--page` file, bounded by [`MAX_PAGE_BYTES`].
fn read_page(p: &Path) -> Result<String, Failure> {
    let bytes = read_limited(p, MAX_PAGE_BYTES)
        .with_context(|| format!("{}: cannot read page", p.display()))
        .code(EXIT_INPUT)?
        .ok_or_else(|| {
            anyhow!(
                "{}: page is larger than the {MAX_PAGE_BYTES}-byte limit",
                p.display()
            )
        })
        .code(EXIT_INPUT)?;
    String::from_utf8(bytes)
        .map_err(|_| anyhow!("{}: page is not UTF-8 text", p.display()))
        .code(EXIT_INPUT)
}

/// Runs `generate`.
pub fn run(args: &GenerateArgs, quiet: bool) -> Result<u8, Failure> {
    let mut wanted = args.variant.clone();
    if args.all_variants {
        wanted.push(imagebom_recipe::variants::ALL.into());
    }
    if wanted.is_empty() {
        return run_one(args, &args.out, &[], quiet);
    }
    let recipe = imagebom_recipe::Recipe::load(&args.recipe).code(EXIT_INPUT)?;
    let selected = pipeline::select_variants(&recipe, &wanted)?;
    if args.union || selected.len() == 1 {
        return run_one(args, &args.out, &selected, quiet);
    }
    if args.page.is_some() || args.check {
        return Err(anyhow!(
            "--page and --check need one variant or --union ({} selected)",
            selected.len()
        ))
        .code(EXIT_INPUT);
    }
    // Each variant into its own directory; with --keep-going a failing variant does not stop
    // the others (its BOMs hold what did render), and the run fails with the last failure
    // after the others are reported.
    let mut code = EXIT_OK;
    let mut failures: Vec<Failure> = Vec::new();
    for v in &selected {
        match run_one(args, &args.out.join(v), std::slice::from_ref(v), quiet) {
            Ok(c) => code = code.max(c),
            Err(f) if args.render.keep_going => failures.push(Failure {
                code: f.code,
                error: f.error.context(format!("variant {v}")),
            }),
            Err(f) => return Err(f),
        }
    }
    match failures.pop() {
        Some(last) => {
            for f in &failures {
                eprintln!("error: {}", crate::message(&f.error));
            }
            Err(Failure {
                code: failures.iter().map(|f| f.code).fold(last.code, u8::max),
                error: last.error,
            })
        }
        None => Ok(code),
    }
}

/// `generate` of the union of `variants` (none: the recipe as written) into `out`.
fn run_one(
    args: &GenerateArgs,
    out: &std::path::Path,
    variants: &[String],
    quiet: bool,
) -> Result<u8, Failure> {
    let timestamp = timestamp()?;
    let mut built = pipeline::build_variants(
        &args.recipe,
        args.lock.as_deref(),
        &pipeline::render_options(&args.render, &args.registry.insecure_registry),
        variants,
    )?;
    // A partial inventory may be written as BOMs (--keep-going), never into the lock or page.
    if args.registry.resolve || args.check || args.page.is_some() {
        if let Some(f) = built.failed.take() {
            return Err(f);
        }
    }
    let mut fresh = Vec::new();
    if args.registry.resolve {
        fresh = resolve(&args.registry, &args.render, &mut built.inventory, quiet)?;
        built.report = imagebom_resolve::LockReport {
            unresolved: built
                .inventory
                .images
                .iter()
                .filter(|(_, e)| e.resolution.is_none())
                .map(|(k, _)| k.clone())
                .collect(),
            ..Default::default()
        };
    }
    let page = match &args.page {
        Some(p) => {
            let text = read_page(p)?;
            let new = imagebom_emit::markdown::update_page(&text, &built.inventory)
                .ok_or_else(|| {
                    anyhow!(
                        "{}: no generated region: add the lines {:?} and {:?}",
                        p.display(),
                        imagebom_emit::markdown::BEGIN,
                        imagebom_emit::markdown::END
                    )
                })
                .code(EXIT_INPUT)?;
            Some((p.clone(), text, new))
        }
        None => None,
    };
    if args.check {
        return freshness(&built, page.as_ref().map(|(p, old, new)| (p, old, new)));
    }
    let nested = match args.nest_packages {
        true => Some(crate::sboms::nested(&built.inventory, out)?),
        false => None,
    };
    let attached = attached_files(&built.inventory, out, &args.registry, fresh);
    let outputs = write_outputs(
        &built,
        Outputs {
            dir: out,
            formats: &args.format,
            with_lock: args.registry.resolve,
            page: page.map(|(p, _, new)| (p, new)),
            timestamp,
            nested: nested.as_ref(),
            spec: spec_version(args),
            attached,
        },
        quiet,
    )?;
    let inv = &built.inventory;
    if !quiet {
        for w in &inv.warnings {
            eprintln!("warning: {w}");
        }
        let r = &built.report;
        if !r.unresolved.is_empty() {
            eprintln!(
                "note: {} image(s) have no digest yet (not in {}):",
                r.unresolved.len(),
                built.lock_path.display()
            );
            for u in &r.unresolved {
                eprintln!("  {u}");
            }
        }
        if !r.stale.is_empty() {
            eprintln!(
                "note: {} stale lock entr(ies) no image uses; `imagebom lock` drops them",
                r.stale.len()
            );
        }
        eprintln!(
            "wrote {} image(s) of {} component(s) to {}: {}",
            inv.images.len(),
            inv.components.len(),
            out.display(),
            outputs
                .iter()
                .map(|p| p.file_name().unwrap_or_default().to_string_lossy())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    match built.failed.take() {
        Some(f) => Err(f),
        None => Ok(EXIT_OK),
    }
}

/// `generate --check`: exit 1 with a diff when the page or the lock on disk differs from what
/// this run would write.
fn freshness(
    built: &pipeline::Built,
    page: Option<(&std::path::PathBuf, &String, &String)>,
) -> Result<u8, Failure> {
    let lock_new = imagebom_resolve::lock_from(&built.inventory).to_json();
    let lock_old = std::fs::read_to_string(&built.lock_path).unwrap_or_default();
    let mut stale = Vec::new();
    if lock_old != lock_new {
        stale.push((built.lock_path.clone(), lock_old, lock_new));
    }
    if let Some((p, old, new)) = page {
        if old != new {
            stale.push((p.clone(), old.clone(), new.clone()));
        }
    }
    for (path, old, new) in &stale {
        println!(
            "--- {} (committed)\n+++ {} (generated)",
            path.display(),
            path.display()
        );
        let (o, n): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
        let common = o.iter().zip(&n).take_while(|(a, b)| a == b).count();
        let tail = o[common..]
            .iter()
            .rev()
            .zip(n[common..].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        println!("@@ line {} @@", common + 1);
        for l in &o[common..o.len() - tail] {
            println!("-{l}");
        }
        for l in &n[common..n.len() - tail] {
            println!("+{l}");
        }
    }
    if stale.is_empty() {
        eprintln!("up to date");
        Ok(EXIT_OK)
    } else {
        eprintln!(
            "{} file(s) stale: run `imagebom generate` (and `imagebom lock`) and commit",
            stale.len()
        );
        Ok(crate::failure::EXIT_FINDING)
    }
}

/// The CycloneDX version `--spec-version` asks for.
fn spec_version(args: &GenerateArgs) -> imagebom_emit::SpecVersion {
    match args.spec_version {
        crate::cli::CdxSpec::V16 => imagebom_emit::SpecVersion::V1_6,
        crate::cli::CdxSpec::V15 => imagebom_emit::SpecVersion::V1_5,
    }
}

/// What [`write_outputs`] writes of a built inventory, and how.
struct Outputs<'a> {
    /// The folder the BOM files go in.
    dir: &'a Path,
    /// The BOM formats wanted.
    formats: &'a [Format],
    /// Whether the lock is written too (at the built lock path).
    with_lock: bool,
    /// The `--page` file and its updated text.
    page: Option<(PathBuf, String)>,
    /// The BOMs' `metadata.timestamp`.
    timestamp: String,
    /// The per-image SBOMs nested into CycloneDX (`--nest-packages`).
    nested: Option<&'a imagebom_emit::Nested>,
    /// The CycloneDX spec version.
    spec: imagebom_emit::SpecVersion,
    /// The attached SBOM files: path and bytes.
    attached: Vec<(PathBuf, Vec<u8>)>,
}

/// Renders the requested formats of `built` (and the lock, when asked), then writes them with
/// the page and the attached SBOM files as one [`OutputSet`]: all of them or, on any error,
/// none. Returns the paths written.
fn write_outputs(
    built: &pipeline::Built,
    Outputs {
        dir: out,
        formats,
        with_lock,
        page,
        timestamp,
        nested,
        spec,
        attached,
    }: Outputs<'_>,
    quiet: bool,
) -> Result<Vec<PathBuf>, Failure> {
    let inv = &built.inventory;
    let cx = EmitContext {
        timestamp,
        tool_name: "imagebom".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
    };
    let formats: BTreeSet<Format> = formats.iter().copied().collect();
    let mut outputs = OutputSet::new();
    {
        let _s = tracing::info_span!("emit").entered();
        for f in &formats {
            let text = match f {
                Format::Cyclonedx => {
                    imagebom_emit::cyclonedx_json_as(inv, &cx, nested, spec).code(EXIT_INPUT)?
                }
                Format::Spdx => imagebom_emit::spdx_json(inv, &cx).code(EXIT_INPUT)?,
                Format::Markdown => imagebom_emit::markdown(inv, &cx),
            };
            outputs.add(out.join(f.file_name()), text);
        }
    }
    if with_lock {
        let lock = imagebom_resolve::lock_from(inv);
        outputs.add(built.lock_path.clone(), lock.to_json());
    }
    if let Some((p, text)) = page {
        outputs.add(p, text);
    }
    for (p, bytes) in attached {
        outputs.add(p, bytes);
    }
    write_all(outputs, quiet)
}

/// Runs `refresh`: re-resolves every image, reports drift against the lock, and writes the
/// lock and outputs only with `--write`.
pub fn refresh(args: &RefreshArgs, quiet: bool) -> Result<u8, Failure> {
    use imagebom_emit::diff::{diff, drift_markdown, summary_of};
    let timestamp = timestamp()?;
    let mut built = pipeline::build_complete(
        &args.recipe,
        args.lock.as_deref(),
        &pipeline::render_options(&args.render, &args.registry.insecure_registry),
    )?;
    // The drift is between the inventory as locked and as re-resolved, no BOM written.
    let before = summary_of(&built.inventory, None);
    let mut registry = args.registry.clone();
    registry.refresh = true;
    let _attached = resolve(&registry, &args.render, &mut built.inventory, quiet)?;
    let drift = diff(&before, &summary_of(&built.inventory, None));
    match args.report {
        crate::cli::DiffFormat::Markdown => print!("{}", drift_markdown(&drift)),
        crate::cli::DiffFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&drift).unwrap_or_default()
        ),
    }
    if args.write {
        let written = write_outputs(
            &built,
            Outputs {
                dir: &args.out,
                formats: &args.format,
                with_lock: true,
                page: None,
                timestamp,
                nested: None,
                spec: imagebom_emit::SpecVersion::V1_6,
                attached: Vec::new(),
            },
            quiet,
        )?;
        if !quiet {
            eprintln!("wrote {} file(s)", written.len());
        }
    }
    Ok(if drift.is_empty() {
        EXIT_OK
    } else {
        crate::failure::EXIT_FINDING
    })
}

/// Runs `lock`: writes the lock from the current lock, the recipe's pins and, with
/// `--resolve`, the registries.
pub fn lock(args: &LockArgs, quiet: bool) -> Result<u8, Failure> {
    let mut built = pipeline::build_complete(
        &args.recipe,
        args.lock.as_deref(),
        &pipeline::render_options(&args.render, &args.registry.insecure_registry),
    )?;
    if args.registry.resolve {
        // Attached SBOM files are kept in the cache; `generate` writes them into its --out.
        let _attached = resolve(&args.registry, &args.render, &mut built.inventory, quiet)?;
    }
    let lock = imagebom_resolve::lock_from(&built.inventory);
    // Counted after resolving: the lock report was made before.
    let unresolved = built
        .inventory
        .images
        .values()
        .filter(|e| e.resolution.is_none())
        .count();
    let mut set = OutputSet::new();
    set.add(built.lock_path.clone(), lock.to_json());
    write_all(set, quiet)?;
    if !quiet {
        eprintln!(
            "wrote {} with {} entr(ies); {} image(s) unresolved",
            built.lock_path.display(),
            lock.images.len(),
            unresolved
        );
    }
    Ok(EXIT_OK)
}

/// Resolves the images of `inv` that need it against their registries.
fn resolve(
    args: &RegistryArgs,
    net: &RenderArgs,
    inv: &mut imagebom_model::Inventory,
    quiet: bool,
) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    use imagebom_resolve::policy;
    use imagebom_resolve::registry::RegistryOptions;
    let _s = tracing::info_span!("resolve", source = "registry").entered();
    let todo = policy::to_resolve(inv, args.refresh);
    let options = RegistryOptions {
        insecure: args.insecure_registry.clone(),
        concurrency: args.concurrency,
        per_registry: args.per_registry,
        mirrors: args.mirror.iter().cloned().collect(),
        retries: net.retries,
        timeout: std::time::Duration::from_secs(net.timeout),
        cache: policy::cache(
            args.refresh,
            args.cache_dir.clone(),
            std::time::Duration::from_secs(args.cache_ttl),
        ),
        ..RegistryOptions::default()
    };
    // A progress bar on stderr only when it is a terminal (and not --quiet).
    let bar = if !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(todo.len() as u64).with_style(
            indicatif::ProgressStyle::with_template("resolving {bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        )
    } else {
        indicatif::ProgressBar::hidden()
    };
    let tick = bar.clone();
    let progress: imagebom_resolve::registry::Progress = std::sync::Arc::new(move |key: &str| {
        tick.set_message(key.to_string());
        tick.inc(1);
    });
    let trust = match (&args.trusted_root, args.provenance) {
        (_, false) => None,
        (None, true) => Some(imagebom_resolve::provenance::Trust::production()),
        (Some(p), true) => {
            let bytes = read_limited(p, MAX_TRUSTED_ROOT_BYTES)
                .with_context(|| format!("{}: cannot read the trusted root", p.display()))
                .code(EXIT_INPUT)?
                .ok_or_else(|| {
                    anyhow!(
                        "{}: trusted root is larger than the {MAX_TRUSTED_ROOT_BYTES}-byte limit",
                        p.display()
                    )
                })
                .code(EXIT_INPUT)?;
            Some(
                imagebom_resolve::provenance::Trust::from_json(&bytes)
                    .with_context(|| format!("{}: invalid trusted root", p.display()))
                    .code(EXIT_INPUT)?,
            )
        }
    };
    let session = imagebom_resolve::Session::new(options)
        .context("cannot start the registry client")
        .code(EXIT_REGISTRY)?;
    let results = session.resolve(&todo, Some(progress));
    bar.finish_and_clear();
    let applied = policy::apply(inv, results);
    for (key, moved) in &applied.drift {
        eprintln!("drift: {key}: the tag now points to {moved}; the pinned digest is kept");
    }
    let failures = &applied.failures;
    if !quiet {
        eprintln!(
            "resolved {} of {} image(s) against their registries",
            todo.len() - failures.len(),
            todo.len()
        );
    }
    let mut files = Vec::new();
    if policy::discover_provenance(args.provenance, &applied, args.allow_unresolved) {
        let report = session.discover(inv, trust.as_ref());
        if !quiet {
            // The images' and their platforms' records.
            let verdicts: Vec<_> = inv
                .images
                .values()
                .filter_map(|e| e.resolution.as_ref())
                .flat_map(|r| {
                    std::iter::once(r.provenance.as_ref())
                        .chain(r.platforms.iter().map(|p| p.provenance.as_ref()))
                })
                .filter_map(|p| p?.verification.as_ref())
                .flatten()
                .collect();
            let verified = verdicts
                .iter()
                .filter(|v| v.verdict == imagebom_model::lock::Verdict::Verified)
                .count();
            eprintln!(
                "checked the provenance of {} image(s) and {} platform manifest(s); {} check(s) could not be made; {} of {} signature(s)/attestation(s) verified; {} attached SBOM(s)",
                report.checked,
                report.platforms,
                report.problems.len(),
                verified,
                verdicts.len(),
                report.files.len()
            );
        }
        for p in &report.problems {
            eprintln!("  provenance unknown: {p}");
        }
        // Kept in the cache (content-addressed), so `generate` from the lock writes them
        // offline.
        if let Some(c) = blob_store(args) {
            for (_, bytes) in &report.files {
                c.put_blob(bytes);
            }
        }
        files = report.files;
    }
    if failures.is_empty() {
        return Ok(files);
    }
    eprintln!("unresolved images:");
    for f in failures {
        eprintln!("  {f}");
    }
    if args.allow_unresolved {
        return Ok(files);
    }
    Err(anyhow!(
        "{} image(s) could not be resolved; the lock is unchanged (--allow-unresolved writes it anyway)",
        failures.len()
    ))
    .code(EXIT_REGISTRY)
}

/// The document timestamp: `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
fn timestamp() -> Result<String, Failure> {
    let secs = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|s| *s >= 0)
            .ok_or_else(|| anyhow!("SOURCE_DATE_EPOCH={v:?} is not a non-negative integer"))
            .code(EXIT_INPUT)?,
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
    };
    Ok(imagebom_emit::timestamp_from_epoch(secs))
}
