//! Extraction rules checked on real charts and manifests, rendered at test time by the real
//! Helm v4 SDK (`shared/oracle/helm_render.py`).
//!
//! Paths: `$IMAGEBOM_AICR` (default `<workspace>/../shared/aicr`), `$IMAGEBOM_CORPUS_WIDE`
//! (default `<workspace>/../shared/corpus-wide`), the oracle's Python in `$IMAGEBOM_VENV`
//! (default `<workspace>/.venv`). A missing directory or oracle fails the test.

use imagebom_extract::{extract, extract_manifest, Extraction, Limits, Origin};
use imagebom_model::Category;
use imagebom_testkit::Need;
use std::path::Path;
use std::process::Command;

/// What these tests need beyond the repository (imagebom-testkit: said and skipped when
/// missing, a failure under `CI=true`).
const NEEDS: &[Need] = &[
    Need::AICR,
    Need::CORPUS_WIDE,
    Need::CORPUS,
    Need::ORACLE,
    Need::Venv,
];

/// Renders an AICR chart with the component's recipe values through the Helm SDK.
fn helm_render(component: &str) -> String {
    helm_render_with(component, "")
}

/// [`helm_render`] with `extra` YAML appended to the recipe values.
fn helm_render_with(component: &str, extra: &str) -> String {
    let py = Need::Venv.path();
    let aicr = Need::AICR.path();
    let script = Need::ORACLE.path().join("helm_render.py");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let out = tmp.join(format!("real-{component}.yaml"));
    let values = tmp.join(format!("real-{component}.values.yaml"));
    let base = aicr
        .join("recipes/components")
        .join(component)
        .join("values.yaml");
    let text = std::fs::read_to_string(&base).unwrap_or_else(|e| panic!("{}: {e}", base.display()));
    std::fs::write(&values, format!("{text}\n{extra}")).unwrap();
    let status = Command::new(py)
        .arg(&script)
        .arg(aicr.join("charts").join(component))
        .arg(&out)
        .arg(&values)
        .output()
        .expect("running the Helm SDK oracle");
    assert!(
        status.status.success(),
        "oracle failed on {component}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    std::fs::read_to_string(&out).unwrap()
}

fn run(text: &str, file: &str) -> Extraction {
    let origin = Origin {
        component: "c".into(),
        file: file.into(),
    };
    extract(text, &origin, &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn rows(x: &Extraction) -> Vec<(Category, String, String)> {
    x.images
        .iter()
        .map(|(r, o)| (o.category, o.path.clone(), r.original().to_string()))
        .collect()
}

/// kai-scheduler's `Config` CR: `image: {name, repository, tag}` is composed as the KAI
/// operator's `Image.Url()` does, `repository/name:tag`.
#[test]
fn kai_scheduler_config_image_maps() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let x = run(&helm_render("kai-scheduler"), "kai-scheduler");
    let got: Vec<_> = rows(&x)
        .into_iter()
        .filter(|(_, p, _)| {
            p.ends_with("/image") && p.starts_with("spec/") && !p.contains("template")
        })
        .collect();
    let repo = "ghcr.io/kai-scheduler/kai-scheduler";
    let want: Vec<(Category, String, String)> = [
        ("binder/service", "binder"),
        ("binder/resourceReservation", "resourcereservation"),
        ("podGrouper/service", "podgrouper"),
        ("podGroupController/service", "podgroupcontroller"),
        ("queueController/service", "queuecontroller"),
        ("admission/service", "admission"),
        ("nodeScaleAdjuster/service", "nodescaleadjuster"),
        ("scheduler/service", "scheduler"),
    ]
    .iter()
    .map(|(p, n)| {
        (
            // `nodeScaleAdjuster.service` says `enabled: false`.
            if n == &"nodescaleadjuster" {
                Category::CrDisabled
            } else {
                Category::CrTriplet
            },
            format!("spec/{p}/image"),
            format!("{repo}/{n}:v0.14.1"),
        )
    })
    .collect();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let mut want_sorted = want;
    want_sorted.sort();
    assert_eq!(got_sorted, want_sorted);
    let all = rows(&x);
    assert!(
        !all.iter().any(|(_, _, i)| i == &format!("{repo}:v0.14.1")),
        "the bare repository is not an image: {all:#?}"
    );
}

/// An env value that names only a repository (`MS_REPOSITORY=ghcr.io/kai-scheduler/kai-scheduler`,
/// which the KAI operator completes with `MS_TAG` and a name) is not an image.
#[test]
fn repository_only_env_value_is_not_an_image() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let x = run(&helm_render("kai-scheduler"), "kai-scheduler");
    let env: Vec<_> = rows(&x)
        .into_iter()
        .filter(|(c, _, _)| matches!(c, Category::Env | Category::Arg))
        .collect();
    assert!(
        !env.iter().any(|(_, p, _)| p.ends_with("env/MS_REPOSITORY")),
        "{env:#?}"
    );
    for (r, o) in &x.images {
        assert!(
            !r.is_implicit_latest() || !matches!(o.category, Category::Env | Category::Arg),
            "an env/arg value without tag or digest became an image: {o:?}"
        );
    }
    // Not a silent drop either: the operator Deployment still yields its own image.
    assert!(x.images.iter().any(|(r, o)| o.kind == "Deployment"
        && o.name == "kai-operator"
        && r.original() == "ghcr.io/kai-scheduler/kai-scheduler/operator:v0.14.1"));
}

/// istiod's values ConfigMap holds `image: pilot` with an empty `tag` and the hub elsewhere:
/// a bare word stays a warning, never an image.
#[test]
fn istiod_bare_image_words_stay_warnings() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let p = Need::CORPUS_WIDE.path().join("rendered/istiod.yaml");
    let x = run(&std::fs::read_to_string(&p).unwrap(), "istiod");
    assert!(
        !x.images.iter().any(|(r, _)| r.original() == "pilot"),
        "{:#?}",
        rows(&x)
    );
    assert!(x
        .warnings
        .iter()
        .any(|w| w.path == "data/merged-values#image" && w.value == "pilot"));
}

/// gke-nccl-tcpxo's manifests carry upstream URLs in `# Source:` comments: the evidence
/// keeps the manifest's path.
#[test]
fn source_comment_in_a_manifest_keeps_the_file() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let dir = Need::AICR
        .path()
        .join("recipes/components/gke-nccl-tcpxo/manifests");
    for name in ["nccl-tcpxo-installer.yaml", "nri-device-injector.yaml"] {
        let p = dir.join(name);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("# Source: https://"), "{name}");
        let file = p.display().to_string();
        let origin = Origin {
            component: "gke-nccl-tcpxo".into(),
            file: file.clone(),
        };
        for x in [
            extract(&text, &origin, &Limits::default()).unwrap(),
            extract_manifest(&text, &origin, &Limits::default()).unwrap(),
        ] {
            assert!(!x.images.is_empty(), "{name}");
            for (_, o) in &x.images {
                assert_eq!(o.source, file, "{o:?}");
            }
        }
    }
}

/// Every image found in the 11 AICR charts (rendered by the Helm SDK with their recipe
/// values) says which image it is: a tag or a digest, never a repository taken for
/// `:latest`.
#[test]
fn aicr_chart_images_all_have_a_tag_or_digest() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let charts: Vec<String> = std::fs::read_dir(Need::AICR.path().join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(charts.len(), 11, "{charts:?}");
    let mut total = 0;
    for c in &charts {
        // The DRA driver refuses the `default` namespace the oracle renders into.
        let extra = if c == "nvidia-dra-driver-gpu" {
            "allowDefaultNamespace: true\n"
        } else {
            ""
        };
        let x = run(&helm_render_with(c, extra), c);
        assert!(!x.images.is_empty(), "{c}: no images");
        total += x.images.len();
        for (r, o) in &x.images {
            assert!(!r.is_implicit_latest(), "{c}: {o:?}");
        }
    }
    assert!(total > 50, "{total}");
}
