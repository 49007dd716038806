//! `imagebom render --kustomize DIR` and `imagebom images --kustomize DIR` against the real
//! `kubectl kustomize DIR` (kubectl v1.32, Kustomize v5.5.0) on the shared kustomizations
//! (`../shared/kustomize`): the printed stream is byte for byte kubectl's on the cases of
//! `imagebom-kustomize/tests/byte_identical.txt`, the same documents in order on the other
//! supported ones; errors name the file.

use assert_cmd::Command;
use imagebom_testkit::{ready, shared, Need};
use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};

const KUBECTL: Need = Need::Program("/usr/bin/kubectl", "kubectl");
const KCORPUS: Need = Need::Shared {
    name: "kustomize",
    env: "IMAGEBOM_KUSTOMIZE",
    marker: "cases.json",
};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn imagebom() -> Command {
    let mut c = Command::cargo_bin("imagebom").unwrap();
    c.current_dir(workspace());
    c
}

fn listed(file: &str) -> Vec<String> {
    std::fs::read_to_string(
        workspace()
            .join("crates/imagebom-kustomize/tests")
            .join(file),
    )
    .unwrap()
    .lines()
    .map(str::trim)
    .filter(|l| !l.is_empty() && !l.starts_with('#'))
    .map(str::to_string)
    .collect()
}

/// The documents of a `kubectl kustomize` stream (documents separated by `---` lines).
fn parse(text: &str) -> Vec<Value> {
    format!("\n{text}")
        .split("\n---\n")
        .map(|d| serde_yaml_ng::from_str::<Value>(d).expect("YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

/// The kustomization directory of shared case `name`.
fn case_dir(root: &Path, name: &str) -> PathBuf {
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("cases.json")).unwrap()).unwrap();
    let kdir = cases[name]["kdir"].as_str().unwrap_or(".");
    root.join("cases").join(name).join(kdir)
}

#[test]
fn render_kustomize_prints_what_kubectl_kustomize_prints() {
    if !ready(&[KUBECTL, KCORPUS]) {
        return;
    }
    let root = shared("kustomize", "IMAGEBOM_KUSTOMIZE", "cases.json").unwrap();
    let bytes = listed("byte_identical.txt");
    let supported = listed("supported.txt");
    assert!(
        supported.len() >= 32 && bytes.len() >= 14,
        "lists are short"
    );
    let mut problems = Vec::new();
    for name in &supported {
        let dir = case_dir(&root, name);
        let theirs = std::process::Command::new("/usr/bin/kubectl")
            .arg("kustomize")
            .arg(&dir)
            .output()
            .expect("kubectl runs");
        assert!(theirs.status.success(), "kubectl kustomize {name} failed");
        let ours = imagebom()
            .args(["render", "--kustomize"])
            .arg(&dir)
            .output()
            .unwrap();
        if !ours.status.success() {
            problems.push(format!("{name}: {}", String::from_utf8_lossy(&ours.stderr)));
            continue;
        }
        let (a, b) = (
            String::from_utf8(ours.stdout).unwrap(),
            String::from_utf8(theirs.stdout).unwrap(),
        );
        if bytes.contains(name) {
            if a != b {
                problems.push(format!("{name}: the bytes differ from kubectl's"));
            }
        } else if parse(&a) != parse(&b) {
            problems.push(format!("{name}: the documents differ from kubectl's"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn render_kustomize_errors_name_the_file() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("kustomization.yaml"),
        "resources: [missing.yaml]\n",
    )
    .unwrap();
    let out = imagebom()
        .args(["render", "--kustomize"])
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kustomization.yaml") && err.contains("missing.yaml"),
        "{err}"
    );
    // A chart and a kustomization at once is a usage error.
    imagebom()
        .args(["render", "fixtures/charts/webapp", "--kustomize"])
        .arg(d.path())
        .assert()
        .code(2);
    // Neither is one too, and so are chart options, which a kustomization would ignore.
    imagebom().arg("render").assert().code(2);
    let ok = tempfile::tempdir().unwrap();
    std::fs::write(ok.path().join("kustomization.yaml"), "namePrefix: a-\n").unwrap();
    imagebom()
        .args(["render", "--kustomize"])
        .arg(ok.path())
        .assert()
        .success();
    for args in [["render", "--set", "a=b"], ["images", "-f", "v.yaml"]] {
        imagebom()
            .args(args)
            .arg("--kustomize")
            .arg(ok.path())
            .assert()
            .code(2)
            .stderr(predicates::str::contains("cannot be used with"));
    }
}

#[test]
fn images_kustomize_lists_the_built_images_with_their_files() {
    let d = tempfile::tempdir().unwrap();
    let base = d.path().join("base");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::write(base.join("kustomization.yaml"), "resources: [app.yaml]\n").unwrap();
    std::fs::write(
        base.join("app.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  template:\n    \
         spec:\n      containers:\n      - {name: app, image: nginx:1.25}\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("kustomization.yaml"),
        "resources: [base]\nimages:\n- {name: nginx, newName: mirror.example.com/nginx, newTag: '1.27'}\n",
    )
    .unwrap();
    let out = imagebom()
        .args(["images", "--kustomize"])
        .arg(d.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "mirror.example.com/nginx:1.27\n"
    );
    let out = imagebom()
        .args(["images", "--json", "--kustomize"])
        .arg(d.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let source = doc["images"][0]["occurrences"][0]["source"]
        .as_str()
        .unwrap_or_default();
    // The evidence names the kustomization and the resource file, under the DIR given.
    let dir = d.path().display();
    assert_eq!(
        source,
        format!("{dir}/base/kustomization.yaml ({dir}/base/app.yaml)"),
        "{doc}"
    );
}

/// `helmCharts` with a `repo` that neither `chartHome` nor a `--chart-mirror` holds come from
/// the chart cache (`--chart-cache`), for `render --kustomize` and `images --kustomize`: the
/// stream is the one of the same chart placed in `chartHome/NAME-VERSION/NAME`.
#[test]
fn render_and_images_kustomize_take_helm_charts_from_the_chart_cache() {
    let d = tempfile::tempdir().unwrap();
    let chart = workspace().join("crates/imagebom-kustomize/tests/helm-cases/features/charts");
    let tgz = d.path().join("web-1.2.3.tgz");
    let ok = std::process::Command::new("tar")
        .arg("czf")
        .arg(&tgz)
        .arg("-C")
        .arg(&chart)
        .arg("web")
        .status()
        .unwrap()
        .success();
    assert!(ok, "tar failed");
    let repo = "https://charts.example.com";
    let cache_dir = d.path().join("cache");
    let cache = imagebom_charts::ChartCache::new(&cache_dir);
    let digest = cache.put_blob(&std::fs::read(&tgz).unwrap()).unwrap();
    let entry = imagebom_charts::CacheEntry {
        digest,
        version: "1.2.3".into(),
        source: format!("{repo}/web-1.2.3.tgz"),
        manifest: None,
    };
    cache.record(repo, "web", "1.2.3", &entry).unwrap();
    let k = format!(
        "helmCharts:\n- name: web\n  repo: {repo}\n  version: 1.2.3\n  releaseName: front\n"
    );
    let cached = d.path().join("cached");
    let home = d.path().join("home");
    for dir in [&cached, &home] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("kustomization.yaml"), &k).unwrap();
    }
    let untar = std::process::Command::new("tar")
        .arg("xzf")
        .arg(&tgz)
        .arg("-C")
        .arg({
            let h = home.join("charts/web-1.2.3");
            std::fs::create_dir_all(&h).unwrap();
            h
        })
        .status()
        .unwrap()
        .success();
    assert!(untar, "tar failed");
    let render = |dir: &Path, cache: &Path| {
        imagebom()
            .args(["render", "--chart-cache"])
            .arg(cache)
            .arg("--kustomize")
            .arg(dir)
            .output()
            .unwrap()
    };
    let want = render(&home, &d.path().join("empty"));
    assert!(
        want.status.success(),
        "{}",
        String::from_utf8_lossy(&want.stderr)
    );
    let got = render(&cached, &cache_dir);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&want.stdout)
    );
    let images = imagebom()
        .args(["images", "--chart-cache"])
        .arg(&cache_dir)
        .arg("--kustomize")
        .arg(&cached)
        .output()
        .unwrap();
    assert!(
        images.status.success(),
        "{}",
        String::from_utf8_lossy(&images.stderr)
    );
    assert!(
        String::from_utf8_lossy(&images.stdout).contains("example.com/web"),
        "{}",
        String::from_utf8_lossy(&images.stdout)
    );
    // An empty cache: exit 2, naming chart, repository and version.
    let missing = render(&cached, &d.path().join("empty"));
    assert_eq!(missing.status.code(), Some(2));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("chart web version 1.2.3 from https://charts.example.com"),
        "{err}"
    );
}
