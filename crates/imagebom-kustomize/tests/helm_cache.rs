//! `helmCharts` with a `repo`: the chart comes from `chartHome`, else a mirror, else the chart
//! cache hook of [`Options`], else the build fails naming the chart, repository and version
//! and how to provide it. (That a chart from the cache builds as the same chart in
//! `chartHome` does is tested in `imagebom-render`, which fills a real chart cache.)

use imagebom_kustomize::{build_with, CachedChart, Options};
use imagebom_testkit::copy_dir;
use std::path::Path;
use std::sync::{Arc, Mutex};

const KUSTOMIZATION: &str = "helmCharts:\n- name: web\n  repo: https://charts.example.com\n  \
                             version: 1.2.3\n  releaseName: front\n";

fn web_chart(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helm-cases/features/charts/web");
    copy_dir(&from, to);
}

/// What a cache hook was asked: (repository, chart, version) per call.
type Asked = Arc<Mutex<Vec<(String, String, String)>>>;

/// A cache hook that records what it was asked and answers `answer`.
fn recording(answer: Result<Option<CachedChart>, String>) -> (Options, Asked) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    let opts = Options {
        mirrors: Vec::new(),
        chart_cache: Some(Arc::new(move |repo: &str, name: &str, version: &str| {
            log.lock()
                .unwrap()
                .push((repo.to_string(), name.to_string(), version.to_string()));
            answer.clone()
        })),
    };
    (opts, asked)
}

#[test]
fn a_chart_not_in_chart_home_or_a_mirror_is_asked_of_the_cache_and_the_error_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("kustomization.yaml"), KUSTOMIZATION).unwrap();
    let (opts, asked) = recording(Ok(None));
    let err = build_with(tmp.path(), &opts).unwrap_err().to_string();
    assert_eq!(
        *asked.lock().unwrap(),
        vec![(
            "https://charts.example.com".to_string(),
            "web".to_string(),
            "1.2.3".to_string()
        )]
    );
    for want in [
        "kustomization.yaml",
        "chart web version 1.2.3 from https://charts.example.com",
        "chart cache",
        "imagebom render web --repo https://charts.example.com --version 1.2.3",
        "--chart-mirror https://charts.example.com=DIR",
        "web-1.2.3/web",
    ] {
        assert!(err.contains(want), "{want:?} missing from: {err}");
    }
    // Without a cache hook the same error.
    let err = build_with(tmp.path(), &Options::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("chart web version 1.2.3 from https://charts.example.com"),
        "{err}"
    );

    // A damaged cache entry: the cache's reason, not "absent".
    let (opts, _) = recording(Err("its content is sha256:beef".into()));
    let err = build_with(tmp.path(), &opts).unwrap_err().to_string();
    assert!(
        err.contains("the chart cache: its content is sha256:beef") && err.contains("web"),
        "{err}"
    );
    // A cache entry that is no chart archive is refused naming the archive.
    let (opts, _) = recording(Ok(Some(CachedChart {
        path: "/cache/charts/sha256/0a.tgz".into(),
        bytes: b"not gzip".to_vec(),
        version: "1.2.3".into(),
    })));
    let err = build_with(tmp.path(), &opts).unwrap_err().to_string();
    assert!(err.contains("/cache/charts/sha256/0a.tgz"), "{err}");
}

#[test]
fn chart_home_and_mirrors_come_before_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("kustomization.yaml"), KUSTOMIZATION).unwrap();
    web_chart(&tmp.path().join("charts/web-1.2.3/web"));
    let (opts, asked) = recording(Ok(None));
    let home = build_with(tmp.path(), &opts).unwrap();
    assert!(!home.is_empty());
    assert!(asked.lock().unwrap().is_empty(), "the cache was asked");

    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("kustomization.yaml"), KUSTOMIZATION).unwrap();
    let mirror = tempfile::tempdir().unwrap();
    web_chart(&mirror.path().join("web"));
    let (mut opts, asked) = recording(Ok(None));
    opts.mirrors = vec![(
        "https://charts.example.com".into(),
        mirror.path().to_path_buf(),
    )];
    let mirrored = build_with(other.path(), &opts).unwrap();
    assert!(asked.lock().unwrap().is_empty(), "the cache was asked");
    let docs =
        |o: &[imagebom_kustomize::Object]| o.iter().map(|o| o.doc.clone()).collect::<Vec<_>>();
    assert_eq!(docs(&home), docs(&mirrored));
}
