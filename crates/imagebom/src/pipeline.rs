//! The pipeline stages wired together: recipe → render → extract → resolve (lock).

use crate::cli::RenderArgs;
use crate::failure::{Failure, WithCode, EXIT_INPUT};
use anyhow::Context;
use imagebom_extract::{extract, extract_manifest, Limits, Origin};
use imagebom_model::{Category, ImageRef, Inventory, Lock, Occurrence};
use imagebom_recipe::Recipe;
use imagebom_resolve::LockReport;
use std::path::{Path, PathBuf};

/// The inventory of a recipe, with the lock applied.
pub struct Built {
    #[allow(dead_code)]
    pub recipe: Recipe,
    pub inventory: Inventory,
    pub lock_path: PathBuf,
    pub report: LockReport,
    /// With `--keep-going`: the components that failed to render (the run must fail).
    pub failed: Option<Failure>,
}

/// How to render: the shared `--offline`/`--keep-going`/`--chart-cache` flags plus the
/// command's insecure registries.
pub fn render_options(args: &RenderArgs, insecure: &[String]) -> imagebom_render::Options {
    imagebom_render::Options {
        cache_dir: args
            .chart_cache
            .clone()
            .unwrap_or_else(imagebom_render::default_cache_dir),
        offline: args.offline,
        insecure_registries: insecure.to_vec(),
        timeout: std::time::Duration::from_secs(args.timeout),
        retries: args.retries,
        keep_going: args.keep_going,
        jobs: 0,
        chart_mirrors: args.chart_mirror.clone(),
    }
}

/// Maps a render error to its exit code: 3 when a chart could not be fetched over the
/// network, 2 otherwise.
pub fn render_failure(e: imagebom_render::RenderError) -> Failure {
    Failure::network_or_input(e.is_network(), e)
}

/// Loads `recipe_path`, renders, extracts and applies the lock (`lock` or the recipe's).
///
/// With `keep_going`, charts and manifest files that fail to render or to parse are
/// reported on stderr and as inventory warnings, the rest is built, and [`Built::failed`]
/// carries every failure for the caller to return once it has written what it can.
pub fn build(
    recipe_path: &Path,
    lock: Option<&Path>,
    render: &imagebom_render::Options,
) -> Result<Built, Failure> {
    build_variants(recipe_path, lock, render, &[])
}

/// The recipe's variants named by `selected` (`all` for every one), checked, in order.
pub fn select_variants(recipe: &Recipe, selected: &[String]) -> Result<Vec<String>, Failure> {
    let names = recipe.variant_names();
    let mut out = Vec::new();
    for s in selected {
        let add: Vec<String> = if s == imagebom_recipe::variants::ALL {
            names.clone()
        } else if names.contains(s) {
            vec![s.clone()]
        } else {
            return Err(anyhow::anyhow!(
                "{}: no variant {s:?} (variants: {})",
                recipe.path.display(),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
            .code(EXIT_INPUT);
        };
        for a in add {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// [`build`] of the union of `variants` of the recipe (none: the recipe as written); each
/// occurrence records the variants that deploy it.
pub fn build_variants(
    recipe_path: &Path,
    lock: Option<&Path>,
    render: &imagebom_render::Options,
    variants: &[String],
) -> Result<Built, Failure> {
    let recipe = {
        let _s = tracing::info_span!("recipe").entered();
        Recipe::load(recipe_path).code(EXIT_INPUT)?
    };
    let (mut inventory, mut failed) = (None::<Inventory>, None);
    let targets: Vec<Option<&String>> = if variants.is_empty() {
        vec![None]
    } else {
        variants.iter().map(Some).collect()
    };
    for v in targets {
        let r = match v {
            Some(v) => recipe.variant(v).code(EXIT_INPUT)?,
            None => recipe.clone(),
        };
        let (mut inv, f) = inventory_of(&r, render)?;
        if let Some(v) = v {
            inv.tag_variant(v);
        }
        failed = failed.or(f);
        match inventory.as_mut() {
            Some(all) => all.absorb(inv),
            None => inventory = Some(inv),
        }
    }
    let mut inventory = inventory.unwrap_or_default();
    inventory.canonicalize();
    let lock_path = lock
        .map(Path::to_path_buf)
        .unwrap_or_else(|| recipe.lock_path());
    let lock = read_lock(&lock_path)?;
    let report =
        imagebom_resolve::apply_lock(&mut inventory, &lock, &lock_path.display().to_string())
            .code(EXIT_INPUT)?;
    Ok(Built {
        recipe,
        inventory,
        lock_path,
        report,
        failed,
    })
}

/// Renders and extracts one (resolved) recipe; with `keep_going`, the failure to report.
fn inventory_of(
    recipe: &Recipe,
    render: &imagebom_render::Options,
) -> Result<(Inventory, Option<Failure>), Failure> {
    let rendered = {
        let _s = tracing::info_span!("render").entered();
        imagebom_render::render_with(recipe, render).map_err(render_failure)?
    };
    let mut inventory = Inventory {
        recipe: recipe.info(),
        components: recipe.component_infos(),
        ..Inventory::default()
    };
    let mut failures = KeepGoing::default();
    for f in &rendered.failures {
        let network = f.is_network();
        failures.add(recipe, &mut inventory, "component not rendered", f, network);
    }
    {
        let _s = tracing::info_span!("extract").entered();
        for s in &rendered.streams {
            extract_stream(s, recipe, render.keep_going, &mut inventory, &mut failures)?;
        }
        add_recipe_images(recipe, &mut inventory)?;
        imagebom_render::add_declared_images(&rendered.charts, &mut inventory);
        imagebom_render::add_rendered_charts(&rendered.charts, &mut inventory);
        inventory.canonicalize();
        tracing::info!(
            images = inventory.images.len(),
            warnings = inventory.warnings.len(),
            "extracted"
        );
    }
    let failed = failures.into_failure();
    Ok((inventory, failed))
}

/// [`build`] for commands that must see the whole recipe (lock, check, mirror, refresh): a
/// component that failed to render fails the command even with `--keep-going`.
pub fn build_complete(
    recipe_path: &Path,
    lock: Option<&Path>,
    render: &imagebom_render::Options,
) -> Result<Built, Failure> {
    let mut built = build(recipe_path, lock, render)?;
    match built.failed.take() {
        Some(f) => Err(f),
        None => Ok(built),
    }
}

/// Adds the images of one stream to `inv`: a chart's render with its `# Source:` templates,
/// a manifest file as a plain file. With `keep_going`, a stream that cannot be read is a
/// failure recorded in `failures`, not the error.
fn extract_stream(
    s: &imagebom_render::Stream,
    recipe: &Recipe,
    keep_going: bool,
    inv: &mut Inventory,
    failures: &mut KeepGoing,
) -> Result<(), Failure> {
    let origin = Origin {
        component: s.component.clone(),
        file: s.file.clone(),
    };
    let limits = Limits::default();
    let x = if s.from_chart {
        extract(&s.text, &origin, &limits)
    } else {
        extract_manifest(&s.text, &origin, &limits)
    };
    match x {
        Ok(x) => x.into_inventory(inv),
        Err(e) if keep_going => {
            let what = if s.from_chart {
                "chart output not read"
            } else {
                "manifest not read"
            };
            failures.add(recipe, inv, what, &e, false);
        }
        Err(e) => return Err(e).code(EXIT_INPUT),
    }
    Ok(())
}

/// What failed with `--keep-going`: each failure is logged and recorded as an inventory
/// warning, and all of them make the run's error.
#[derive(Default)]
struct KeepGoing {
    messages: Vec<String>,
    all_network: bool,
}

impl KeepGoing {
    fn add(
        &mut self,
        recipe: &Recipe,
        inv: &mut Inventory,
        what: &str,
        e: &dyn std::fmt::Display,
        network: bool,
    ) {
        self.all_network = (self.messages.is_empty() || self.all_network) && network;
        self.messages.push(e.to_string());
        inv.warnings.push(recipe_warning(
            recipe,
            format!("{what} (--keep-going): {e}"),
        ));
    }

    /// The run's error: exit 3 when every failure was the network's, 2 otherwise.
    fn into_failure(self) -> Option<Failure> {
        if self.messages.is_empty() {
            return None;
        }
        let list: Vec<String> = self.messages.iter().map(|m| format!("  - {m}")).collect();
        Some(Failure::network_or_input(
            self.all_network,
            anyhow::anyhow!(
                "{} part(s) of the recipe failed (--keep-going):\n{}",
                self.messages.len(),
                list.join("\n")
            ),
        ))
    }
}

/// A warning about the recipe as a whole (a part of it that failed with `--keep-going`).
fn recipe_warning(recipe: &Recipe, message: String) -> imagebom_model::Warning {
    imagebom_model::Warning {
        component: String::new(),
        source: recipe.path.display().to_string(),
        kind: "Recipe".into(),
        name: recipe.metadata.name.clone(),
        path: "components".into(),
        value: String::new(),
        message,
    }
}

fn add_recipe_images(recipe: &Recipe, inv: &mut Inventory) -> Result<(), Failure> {
    for (i, c) in recipe.components.iter().enumerate() {
        for (j, img) in c.images.iter().enumerate() {
            let reference = ImageRef::parse(&img.reference)
                .with_context(|| format!("{}: components[{i}].images[{j}]", recipe.path.display()))
                .code(EXIT_INPUT)?;
            inv.add(
                reference,
                Occurrence {
                    component: c.name.clone(),
                    source: recipe.path.display().to_string(),
                    kind: "Recipe".into(),
                    name: recipe.metadata.name.clone(),
                    path: format!("components/{i}/images/{j}"),
                    line: None,
                    category: Category::Recipe,
                    original: img.reference.clone(),
                    reason: Some(img.reason.clone()),
                },
            );
        }
    }
    Ok(())
}

/// Largest lock file read, in bytes (some 250,000 images with their platforms).
pub const MAX_LOCK_BYTES: u64 = 256 << 20;

/// Reads the lock; a missing lock is an empty one.
pub fn read_lock(path: &Path) -> Result<Lock, Failure> {
    match imagebom_model::fsutil::read_limited(path, MAX_LOCK_BYTES) {
        Ok(None) => Err(anyhow::anyhow!(
            "{}: lock file is larger than the {MAX_LOCK_BYTES}-byte limit",
            path.display()
        ))
        .code(EXIT_INPUT),
        Ok(Some(bytes)) => {
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{}: lock file is not UTF-8 text", path.display()))
                .code(EXIT_INPUT)?;
            Lock::from_json(&path.display().to_string(), &text).code(EXIT_INPUT)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!(lock = %path.display(), "no lock file: digests come only from pinned references");
            Ok(Lock::default())
        }
        Err(e) => Err(e)
            .with_context(|| format!("{}: cannot read lock file", path.display()))
            .code(EXIT_INPUT),
    }
}
