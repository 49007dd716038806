//! The pipeline stages wired together: recipe → render → extract → resolve (lock).

use crate::cli::RenderArgs;
use crate::failure::{Failure, WithCode, EXIT_INPUT, EXIT_REGISTRY};
use anyhow::Context;
use imagebom_extract::{extract, Limits, Origin};
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
        keep_going: args.keep_going,
        jobs: 0,
        chart_mirrors: args.chart_mirror.clone(),
    }
}

/// Maps a render error to its exit code: 3 when a chart could not be fetched over the
/// network, 2 otherwise.
pub fn render_failure(e: imagebom_render::RenderError) -> Failure {
    let code = if e.is_network() {
        EXIT_REGISTRY
    } else {
        EXIT_INPUT
    };
    Failure {
        code,
        error: e.into(),
    }
}

/// Loads `recipe_path`, renders, extracts and applies the lock (`lock` or the recipe's).
///
/// With `keep_going`, components that fail to render are reported on stderr and as inventory
/// warnings, the rest is built, and [`Built::failed`] carries the failure for the caller to
/// return once it has written what it can.
pub fn build(
    recipe_path: &Path,
    lock: Option<&Path>,
    render: &imagebom_render::Options,
) -> Result<Built, Failure> {
    let recipe = {
        let _s = tracing::info_span!("recipe").entered();
        Recipe::load(recipe_path).code(EXIT_INPUT)?
    };
    let rendered = {
        let _s = tracing::info_span!("render").entered();
        imagebom_render::render_with(&recipe, render).map_err(render_failure)?
    };
    let streams = rendered.streams;
    let mut inventory = Inventory {
        recipe: recipe.info(),
        components: recipe.component_infos(),
        ..Inventory::default()
    };
    let failed = if rendered.failures.is_empty() {
        None
    } else {
        for f in &rendered.failures {
            tracing::error!("{f}");
            inventory.warnings.push(imagebom_model::Warning {
                component: String::new(),
                source: recipe.path.display().to_string(),
                kind: "Recipe".into(),
                name: recipe.metadata.name.clone(),
                path: "components".into(),
                value: String::new(),
                message: format!("component not rendered (--keep-going): {f}"),
            });
        }
        Some(render_failure(imagebom_render::RenderError::Many(
            rendered.failures,
        )))
    };
    {
        let _s = tracing::info_span!("extract").entered();
        let limits = Limits::default();
        for s in &streams {
            let origin = Origin {
                component: s.component.clone(),
                file: s.file.clone(),
            };
            extract(&s.text, &origin, &limits)
                .code(EXIT_INPUT)?
                .into_inventory(&mut inventory);
        }
        add_recipe_images(&recipe, &mut inventory)?;
        imagebom_render::add_declared_images(&rendered.charts, &mut inventory);
        inventory.canonicalize();
        tracing::info!(
            images = inventory.images.len(),
            warnings = inventory.warnings.len(),
            "extracted"
        );
    }
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
