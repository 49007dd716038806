//! Chart mirrors: fetch a chart from another place than its canonical repository.
//!
//! A chart's location is `<repository>/<chart>` (`https://charts.example/stable/redis`,
//! `oci://ghcr.io/org/charts/redis`). A mirror `SOURCE=TARGET` applies when `SOURCE` is that
//! location or a prefix of it ending at a `/`; the longest `SOURCE` wins, and the command
//! line's win over the recipe's (`settings.chartMirrors`) at equal length. What follows
//! `SOURCE` in the location is appended to `TARGET`:
//!
//! - an `https://`, `http://` or `oci://` `TARGET` is the new location (its last segment the
//!   chart name, the rest the repository);
//! - any other `TARGET` is a local path: the chart itself (a chart directory or `.tgz`), or a
//!   directory holding `<chart>/` or `<chart>-<version>.tgz` (below the sub-path the location
//!   adds, if any).
//!
//! Local charts (a repository that is a path) are never mapped.
//!
//! The mapping itself is [`imagebom_charts::mirror`]; the same mirrors apply to the dependencies
//! fetched for a chart ([`imagebom_charts::FetchOptions::mirrors`]).

use imagebom_charts::{ChartMirror, ChartRequest};
use imagebom_recipe::{HelmSource, Recipe};
use std::path::{Path, PathBuf};

/// The mirrors of `cli` (local targets relative to the current directory), then of the
/// recipe's `settings.chartMirrors` (relative to the recipe): at equal length the first wins.
pub fn mirrors(recipe: &Recipe, cli: &[(String, String)]) -> Vec<ChartMirror> {
    let base = recipe.base_dir();
    let from_cli = cli.iter().map(|(s, t)| (s, t, Path::new(".")));
    let from_recipe = recipe
        .settings
        .chart_mirrors
        .iter()
        .map(|(s, t)| (s, t, base.as_path()));
    from_cli
        .chain(from_recipe)
        .map(|(source, target, dir)| ChartMirror {
            source: source.clone(),
            target: target.clone(),
            base_dir: dir.to_path_buf(),
        })
        .collect()
}

/// The request that fetches `h`, mapped through the mirror of `cli`, then of the recipe's
/// `settings.chartMirrors`, that applies (see [`mirrors`]). The error is `(target, message)`.
pub fn request(
    recipe: &Recipe,
    h: &HelmSource,
    cli: &[(String, String)],
) -> Result<ChartRequest, (String, String)> {
    let canonical = ChartRequest {
        repository: h.repository.clone(),
        chart: h.chart.clone(),
        version: h.version.clone(),
        base_dir: recipe.base_dir(),
    };
    match imagebom_charts::mirror::mirrored(&mirrors(recipe, cli), &canonical) {
        Ok(Some(mut mapped)) => {
            if imagebom_charts::mirror::is_remote(&mapped.repository) {
                mapped.base_dir = recipe.base_dir();
            } else {
                mapped.base_dir = PathBuf::from(".");
            }
            Ok(mapped)
        }
        Ok(None) => Ok(canonical),
        Err(e) => Err((e.target, e.message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe(dir: &Path, settings: &str) -> Recipe {
        let p = dir.join("r.yaml");
        std::fs::write(
            &p,
            format!("apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {{name: r, version: '1'}}\n{settings}components:\n  - name: c\n    helm: {{repository: 'https://charts.example/stable', chart: app, version: v1.2.3}}\n"),
        )
        .unwrap();
        Recipe::load(&p).unwrap()
    }

    fn chart_dir(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("Chart.yaml"), "name: app\nversion: 1.2.3\n").unwrap();
    }

    #[test]
    fn maps_to_directories_archives_and_remote_places() {
        let d = tempfile::tempdir().unwrap();
        let r = recipe(d.path(), "");
        let h = r.components[0].helm.clone().unwrap();
        let m = |s: &str, t: &str| vec![(s.to_string(), t.to_string())];
        // No mirror: the canonical request.
        assert_eq!(
            request(&r, &h, &[]).unwrap().repository,
            "https://charts.example/stable"
        );
        // A directory of chart folders.
        chart_dir(&d.path().join("mirror/app"));
        let root = d.path().join("mirror").display().to_string();
        let q = request(&r, &h, &m("https://charts.example/stable/", &root)).unwrap();
        assert_eq!(
            q.repository,
            d.path().join("mirror/app").display().to_string()
        );
        // A directory of archives, the version with or without `v`.
        std::fs::create_dir_all(d.path().join("tgz")).unwrap();
        std::fs::write(d.path().join("tgz/app-1.2.3.tgz"), b"x").unwrap();
        let root = d.path().join("tgz").display().to_string();
        let q = request(&r, &h, &m("https://charts.example/stable", &root)).unwrap();
        assert!(q.repository.ends_with("tgz/app-1.2.3.tgz"), "{q:?}");
        // Below a shorter source, the rest of the location is a sub-directory.
        std::fs::create_dir_all(d.path().join("tgz/stable")).unwrap();
        std::fs::write(d.path().join("tgz/stable/app-v1.2.3.tgz"), b"x").unwrap();
        let q = request(&r, &h, &m("https://charts.example", &root)).unwrap();
        assert!(q.repository.ends_with("tgz/stable/app-v1.2.3.tgz"), "{q:?}");
        // The chart named exactly; the longest source wins.
        let exact = d.path().join("mirror/app").display().to_string();
        let both = vec![
            (
                "https://charts.example".to_string(),
                "oci://reg/x".to_string(),
            ),
            (
                "https://charts.example/stable/app".to_string(),
                exact.clone(),
            ),
        ];
        assert_eq!(request(&r, &h, &both).unwrap().repository, exact);
        // Remote targets keep the path the source does not cover.
        let q = request(
            &r,
            &h,
            &m("https://charts.example", "oci://reg.local/mirror"),
        )
        .unwrap();
        assert_eq!(
            (q.repository.as_str(), q.chart.as_str()),
            ("oci://reg.local/mirror/stable", "app")
        );
        // A prefix must end at a `/`.
        let q = request(&r, &h, &m("https://charts.ex", "oci://reg/x")).unwrap();
        assert_eq!(q.repository, "https://charts.example/stable");
        // A local mirror without the chart is an error naming what was looked for.
        let (t, e) = request(&r, &h, &m("https://charts.example", "nowhere")).unwrap_err();
        assert_eq!(t, "nowhere");
        assert!(e.contains("app-v1.2.3.tgz"), "{e}");
    }

    #[test]
    fn recipe_mirrors_are_relative_to_the_recipe_and_lose_to_the_command_line() {
        let d = tempfile::tempdir().unwrap();
        chart_dir(&d.path().join("charts/app"));
        let r = recipe(
            d.path(),
            "settings:\n  chartMirrors:\n    'https://charts.example/stable': charts\n",
        );
        let h = r.components[0].helm.clone().unwrap();
        let q = request(&r, &h, &[]).unwrap();
        assert_eq!(
            q.repository,
            d.path().join("charts/app").display().to_string()
        );
        let cli = vec![(
            "https://charts.example/stable".to_string(),
            "https://mirror.local/charts".to_string(),
        )];
        assert_eq!(
            request(&r, &h, &cli).unwrap().repository,
            "https://mirror.local/charts"
        );
    }
}
