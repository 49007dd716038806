//! Native Kustomize `helmCharts` with a `repo` and `version` from imagebom's chart cache: the
//! build equals the build of the same chart placed in `chartHome/NAME-VERSION/NAME` (where
//! `kubectl kustomize --enable-helm` would pull it; there is no helm binary to be the oracle
//! here, and `imagebom-kustomize/tests/helm-cases/features` checks that chart's inflation
//! against the Helm SDK). A range or empty version resolves to the highest cached version that
//! satisfies it, as for an offline Helm component; a chart the cache lacks fails naming the
//! chart, repository and version. Through a recipe's `kustomize` component the cache is
//! `Options::cache_dir`.

use imagebom_charts::{CacheEntry, ChartCache};
use imagebom_kustomize::{build_with, to_yaml, Object, Options};
use imagebom_testkit::copy_dir;
use std::path::{Path, PathBuf};

const REPO: &str = "https://charts.example.com/stable";

fn kustomization(version: &str) -> String {
    format!(
        "namespace: shop\ncommonLabels:\n  team: web\nimages:\n- name: example.com/web\n  \
         newTag: \"2.0\"\nhelmCharts:\n- name: web\n  repo: {REPO}\n  version: {version:?}\n  \
         releaseName: front\n  namespace: shop\n  includeCRDs: true\n  skipTests: true\n  \
         valuesInline:\n    replicas: 3\n    sidecars:\n    - name: log\n      image: \
         example.com/log:1\n- name: web\n  repo: {REPO}\n  version: {version:?}\n  releaseName: \
         back\n  valuesMerge: merge\n  valuesInline:\n    replicas: 2\n"
    )
}

fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../imagebom-kustomize/tests/helm-cases/features/charts/web")
}

/// The chart directory as `helm package` lays it out: `web/...` in a gzipped tar.
fn pack(dir: &Path) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    b.append_dir_all("web", dir).unwrap();
    b.into_inner().unwrap().finish().unwrap()
}

/// A chart cache holding web 1.2.3 (the chart's own version) and, for the version choice,
/// 1.1.0 and 2.0.0-rc.1 as archives that are no charts: choosing one fails the build.
fn fill_cache(dir: &Path) {
    let cache = ChartCache::new(dir);
    let good = cache.put_blob(&pack(&chart_dir())).unwrap();
    let bad = cache.put_blob(b"no chart").unwrap();
    for version in ["1.1.0", "1.2.3", "2.0.0-rc.1"] {
        let entry = CacheEntry {
            digest: if version == "1.2.3" { &good } else { &bad }.clone(),
            version: version.into(),
            source: format!("{REPO}/web-{version}.tgz"),
            manifest: None,
        };
        cache.record(REPO, "web", version, &entry).unwrap();
    }
}

fn docs(objects: &[Object]) -> Vec<serde_yaml_ng::Value> {
    objects.iter().map(|o| o.doc.clone()).collect()
}

#[test]
fn a_chart_from_the_cache_builds_as_the_same_chart_in_chart_home() {
    let tmp = tempfile::tempdir().unwrap();
    let cache_dir = tmp.path().join("cache");
    fill_cache(&cache_dir);
    let with_cache = Options {
        mirrors: Vec::new(),
        chart_cache: Some(imagebom_render::kustomize_chart_cache(&cache_dir)),
    };

    // The reference: the chart where Kustomize pulls it, no cache.
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("kustomization.yaml"), kustomization("1.2.3")).unwrap();
    copy_dir(&chart_dir(), &home.join("charts/web-1.2.3/web"));
    let want = build_with(&home, &Options::default()).unwrap();
    assert!(want.len() >= 4, "{}", to_yaml(&want));

    for version in ["1.2.3", "~1.2.0", ">=1.0.0 <2.0.0", ""] {
        let dir = tmp.path().join(format!("cached-{}", version.len()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("kustomization.yaml"), kustomization(version)).unwrap();
        let got =
            build_with(&dir, &with_cache).unwrap_or_else(|e| panic!("version {version:?}: {e}"));
        assert_eq!(docs(&got), docs(&want), "version {version:?}");
        assert_eq!(to_yaml(&got), to_yaml(&want), "version {version:?}");
        let source = got[0].source.display().to_string();
        assert!(
            source.contains("charts/sha256/") && source.ends_with(".tgz"),
            "{source}"
        );
    }

    // Not in the cache: the error names chart, repository and version, and how to fill it.
    let dir = tmp.path().join("absent");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("kustomization.yaml"), kustomization("3.0.0")).unwrap();
    let err = build_with(&dir, &with_cache).unwrap_err().to_string();
    for want in [
        "chart web version 3.0.0 from https://charts.example.com/stable",
        "imagebom render web --repo https://charts.example.com/stable --version 3.0.0",
        "--chart-mirror",
    ] {
        assert!(err.contains(want), "{want:?} missing from: {err}");
    }

    // A cached archive that no longer matches its digest is refused, naming it.
    let blob = ChartCache::new(&cache_dir).blob_path(
        &ChartCache::new(&cache_dir)
            .lookup(REPO, "web", "1.2.3")
            .unwrap()
            .digest,
    );
    std::fs::write(&blob, b"tampered").unwrap();
    let dir = tmp.path().join("cached-5");
    let err = build_with(&dir, &with_cache).unwrap_err().to_string();
    assert!(
        err.contains(&blob.display().to_string()) && err.contains("chart cache"),
        "{err}"
    );
}

#[test]
fn a_recipe_kustomize_component_takes_helm_charts_from_options_cache_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let cache_dir = tmp.path().join("cache");
    fill_cache(&cache_dir);
    let kdir = tmp.path().join("kust");
    std::fs::create_dir_all(&kdir).unwrap();
    std::fs::write(kdir.join("kustomization.yaml"), kustomization("1.2.3")).unwrap();
    let recipe_file = tmp.path().join("recipe.yaml");
    std::fs::write(
        &recipe_file,
        "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata:\n  name: r\n  version: \
         1.0.0\ncomponents:\n  - name: web\n    kustomize:\n      path: kust\n",
    )
    .unwrap();
    let recipe = imagebom_recipe::Recipe::load(&recipe_file).unwrap();
    let opts = imagebom_render::Options {
        cache_dir: cache_dir.clone(),
        offline: true,
        ..imagebom_render::Options::default()
    };
    let out = imagebom_render::render_with(&recipe, &opts).unwrap();
    let text: String = out.streams.iter().map(|s| s.text.as_str()).collect();
    assert!(text.contains("example.com/web:2.0"), "{text}");

    let empty = imagebom_render::Options {
        cache_dir: tmp.path().join("empty"),
        ..opts
    };
    let err = imagebom_render::render_with(&recipe, &empty)
        .unwrap_err()
        .to_string();
    assert!(err.contains("chart web version 1.2.3"), "{err}");
}
