//! End-to-end tests of the `imagebom` binary on the bundled recipe and on bad input.

use assert_cmd::Command;
use imagebom_testkit::Need;
use std::path::Path;

/// What these tests need beyond the repository (imagebom-testkit: said and skipped when
/// missing, a failure under `CI=true`).
const NEEDS: &[Need] = &[Need::AICR];

fn imagebom() -> Command {
    let mut c = Command::cargo_bin("imagebom").unwrap();
    c.current_dir(imagebom_testkit::workspace())
        .env("SOURCE_DATE_EPOCH", "1764000000");
    c
}

const FILES: [&str; 3] = ["bom.cdx.json", "bom.spdx.json", "inventory.md"];

fn generate(out: &Path) {
    imagebom()
        .args(["generate", "--out"])
        .arg(out)
        .assert()
        .success();
}

#[test]
fn bundled_recipe_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    generate(a.path());
    generate(b.path());
    for f in FILES {
        let x = std::fs::read(a.path().join(f)).unwrap();
        let y = std::fs::read(b.path().join(f)).unwrap();
        assert!(!x.is_empty(), "{f} is empty");
        assert!(x == y, "{f} differs between two runs");
    }
    // Only the outputs: no temp files left behind.
    let mut names: Vec<String> = std::fs::read_dir(a.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, FILES);
}

#[test]
fn bundled_recipe_outputs_validate_against_official_schemas() {
    use imagebom_emit::validate::{Schema, Validator};
    let d = tempfile::tempdir().unwrap();
    generate(d.path());
    for (file, schema) in [
        ("bom.cdx.json", Schema::CycloneDx16),
        ("bom.spdx.json", Schema::Spdx23),
    ] {
        let v = Validator::new(&imagebom_testkit::workspace().join("schemas"), schema).unwrap();
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.path().join(file)).unwrap()).unwrap();
        let errors = v.errors(&doc);
        assert!(errors.is_empty(), "{file}:\n{}", errors.join("\n"));
    }
}

#[test]
fn bundled_recipe_content() {
    let d = tempfile::tempdir().unwrap();
    generate(d.path());
    let cdx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("bom.cdx.json")).unwrap()).unwrap();
    assert_eq!(cdx["specVersion"], "1.6");
    assert_eq!(cdx["metadata"]["timestamp"], "2025-11-24T16:00:00Z");
    let purls: Vec<&str> = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "container")
        .map(|c| c["purl"].as_str().unwrap())
        .collect();
    // Canonical form per the purl-spec test suite (`@sha256:` unencoded; `/` in qualifiers encoded).
    // The certgen image is used twice but is one component; the driver triplet pins a digest.
    assert!(purls.contains(&"pkg:oci/kube-webhook-certgen@sha256:01038e7de14b78d702d2849c3aad72fd25903c4765af63cf16aa3398f5d5f2dd?repository_url=registry.k8s.io%2Fingress-nginx%2Fkube-webhook-certgen&tag=v1.6.9"), "{purls:#?}");
    assert!(purls.contains(&"pkg:oci/driver@sha256:a35d05d5b984ad18713af957f87380ccbefd8f0bb5e6771fc7856e6a9e1d201f?repository_url=nvcr.io%2Fnvidia%2Fdriver"), "{purls:#?}");
    assert_eq!(
        purls
            .iter()
            .filter(|p| p.contains("kube-webhook-certgen"))
            .count(),
        1
    );
    // The umbrella chart is rendered natively: its images come with the template they were
    // found in, and a disabled alias (legacy) and a tag-disabled subchart add nothing.
    let containers: Vec<&serde_json::Value> = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "container")
        .collect();
    let occurrences = |name: &str| -> Vec<String> {
        containers
            .iter()
            .filter(|c| c["name"] == name)
            .flat_map(|c| c["properties"].as_array().unwrap())
            .filter(|p| p["name"] == "imagebom:occurrence")
            .map(|p| p["value"].as_str().unwrap().to_string())
            .collect()
    };
    let podinfo = occurrences("ghcr.io/stefanprodan/podinfo");
    assert!(
        podinfo.iter().any(|o| o.starts_with(
            "platform|platform/charts/worker/templates/deployment.yaml|Deployment/platform-worker|"
        )),
        "{podinfo:#?}"
    );
    assert!(!occurrences("docker.io/library/postgres").is_empty());
    assert!(!containers.iter().any(|c| c["name"]
        .as_str()
        .unwrap()
        .contains("legacy-should-not-appear")));
    let platform = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "application" && c["name"] == "platform")
        .expect("platform component");
    assert_eq!(platform["version"], "1.0.0", "{platform:#}");
}

/// A scratch recipe directory with one manifest.
fn scratch(recipe_extra: &str, manifest: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("m.yaml"), manifest).unwrap();
    std::fs::write(
        d.path().join("recipe.yaml"),
        format!(
            "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {{name: t, version: '1'}}\ncomponents:\n  - name: c\n    manifests: [m.yaml]\n{recipe_extra}"
        ),
    )
    .unwrap();
    d
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      image: busybox:1.37\n";

fn fails_with_2(d: &Path, needle: &str) {
    let out = d.join("out");
    let a = imagebom()
        .args(["generate", "--recipe"])
        .arg(d.join("recipe.yaml"))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        stderr.contains(needle),
        "stderr lacks {needle:?}:\n{stderr}"
    );
    assert!(!out.exists(), "output directory was created on error");
}

#[test]
fn bad_inputs_exit_2_without_output() {
    let d = scratch("    bogus: 1\n", POD);
    fails_with_2(d.path(), "unknown field `bogus`");
    let d = scratch("", "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n");
    fails_with_2(d.path(), "m.yaml");
    let d = scratch(
        &format!(
            "    images:\n      - ref: busybox@sha256:{}\n        reason: r\n",
            "a".repeat(63)
        ),
        POD,
    );
    fails_with_2(d.path(), "images[0].ref");
    let d = scratch(
        "    images:\n      - ref: Bad/Ref\n        reason: r\n",
        POD,
    );
    fails_with_2(d.path(), "images[0].ref");
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("recipe.yaml"),
        "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t, version: '1'}\ncomponents:\n  - name: c\n    manifests: [missing.yaml]\n",
    )
    .unwrap();
    fails_with_2(d.path(), "missing.yaml");
}

#[test]
fn alias_bomb_in_manifest_is_bounded() {
    let mut m = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        m.push_str(&format!("  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    let d = scratch("", &m);
    fails_with_2(d.path(), "m.yaml");
}

#[test]
fn images_from_stdin() {
    let stream = format!(
        "{POD}---\n{}",
        POD.replace("busybox:1.37", "docker.io/library/busybox:1.37")
            .replace("name: p", "name: q")
    );
    let a = imagebom()
        .args(["images", "-"])
        .write_stdin(stream.clone())
        .assert()
        .success();
    assert_eq!(
        String::from_utf8_lossy(&a.get_output().stdout),
        "busybox:1.37\n"
    );
    let a = imagebom()
        .args(["images", "--normalize", "-"])
        .write_stdin(stream)
        .assert()
        .success();
    assert_eq!(
        String::from_utf8_lossy(&a.get_output().stdout),
        "docker.io/library/busybox:1.37\n"
    );
}

#[test]
fn usage_error_is_exit_2() {
    imagebom()
        .args(["generate", "--format", "xml"])
        .assert()
        .code(2);
    imagebom().args(["frobnicate"]).assert().code(2);
}

/// The freshness gate: the committed inventory page and lock match what `make bom` writes.
#[test]
fn committed_page_and_lock_are_fresh() {
    imagebom()
        .args([
            "generate",
            "--check",
            "--page",
            "docs/user/container-images.md",
        ])
        .assert()
        .code(0);
}

#[test]
fn render_prints_the_helm_template_stream() {
    // The committed expectation is the real Helm v4 SDK's render (cargo xtask conformance).
    let a = imagebom()
        .current_dir(imagebom_testkit::workspace())
        .args(["render", "fixtures/charts/webapp"])
        .assert()
        .success();
    let want = std::fs::read_to_string(
        imagebom_testkit::workspace().join("fixtures/charts/expected/webapp.yaml"),
    )
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&a.get_output().stdout), want);
}

#[test]
fn render_applies_values_files_set_release_and_namespace() {
    let d = tempfile::tempdir().unwrap();
    let values = d.path().join("v.yaml");
    std::fs::write(&values, "global: {registry: mirror.example}\nworkers: 1\n").unwrap();
    let a = imagebom()
        .current_dir(imagebom_testkit::workspace())
        .args(["render", "fixtures/charts/webapp", "-f"])
        .arg(&values)
        .args(["--set", "image.tag=9.9.9", "--release", "web", "-n", "apps"])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        out.contains("image: \"mirror.example/library/nginx:9.9.9\""),
        "{out}"
    );
    assert!(out.contains("web.example.com"), "{out}");
    assert_eq!(out.matches("kube-webhook-certgen").count(), 1, "{out}");

    let a = imagebom()
        .current_dir(imagebom_testkit::workspace())
        .args(["images", "--normalize", "--chart", "fixtures/charts/webapp"])
        .args(["--set", "image.tag=9.9.9"])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        out.lines().any(|l| l == "docker.io/library/nginx:9.9.9"),
        "{out}"
    );

    // A template error names chart, template, line and column, as Helm words it; exit 2.
    let chart = d.path().join("t");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: t\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/a.yaml"),
        "kind: ConfigMap\nx: {{ required \"x is required\" .Values.x }}\nns: {{ .Release.Namespace }}\n",
    )
    .unwrap();
    let a = imagebom().arg("render").arg(&chart).assert().code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("execution error at (t/templates/a.yaml:2:6): x is required"),
        "{err}"
    );
    let a = imagebom()
        .arg("render")
        .arg(&chart)
        .args(["--set", "x=1", "-n", "apps"])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(out.contains("x: 1\nns: apps"), "{out}");
    imagebom()
        .args(["render", "/nonexistent/chart"])
        .assert()
        .code(2);
}

#[test]
fn keep_going_writes_the_other_components_and_fails() {
    let d = tempfile::tempdir().unwrap();
    let chart = d.path().join("bad");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: bad\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/x.yaml"),
        "{{ fail \"broken on purpose\" }}\n",
    )
    .unwrap();
    std::fs::write(d.path().join("m.yaml"), POD).unwrap();
    std::fs::write(
        d.path().join("recipe.yaml"),
        "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t, version: '1'}\ncomponents:\n  - name: bad\n    helm: {repository: ./bad, chart: bad, version: 1.0.0}\n  - name: good\n    manifests: [m.yaml]\n",
    )
    .unwrap();
    let out = d.path().join("out");
    let run = |extra: &[&str]| {
        imagebom()
            .args(["generate", "--recipe"])
            .arg(d.path().join("recipe.yaml"))
            .arg("--out")
            .arg(&out)
            .args(extra)
            .assert()
            .code(2)
    };
    let a = run(&[]);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("component \"bad\"") && err.contains("broken on purpose"),
        "{err}"
    );
    assert!(!out.exists(), "outputs written without --keep-going");

    let a = run(&["--keep-going"]);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("broken on purpose"), "{err}");
    let cdx = std::fs::read_to_string(out.join("bom.cdx.json")).unwrap();
    assert!(
        cdx.contains("docker.io/library/busybox"),
        "the good component's image"
    );
    assert!(
        cdx.contains("component not rendered (--keep-going)"),
        "the failure is recorded"
    );
}

#[test]
fn keep_going_reports_every_bad_manifest() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let bad = "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n";
    let pod = |img: &str| POD.replace("busybox:1.37", img);
    for (f, text) in [
        ("bad1.yaml", bad.to_string()),
        ("good1.yaml", pod("quay.io/a/one:1")),
        ("bad2.yaml", bad.to_string()),
        ("good2.yaml", pod("quay.io/a/two:2")),
    ] {
        std::fs::write(d.path().join(f), text).unwrap();
    }
    let chart = d.path().join("broken");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: broken\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/x.yaml"),
        "{{ fail \"on purpose\" }}\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("recipe.yaml"),
        "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t, version: '1'}\ncomponents:\n  - name: a\n    manifests: [bad1.yaml, good1.yaml]\n  - name: b\n    manifests: [bad2.yaml]\n  - name: c\n    manifests: [good2.yaml]\n  - name: d\n    helm: {repository: ./broken, chart: broken, version: 1.0.0}\n",
    )
    .unwrap();
    let out = d.path().join("out");
    let a = imagebom()
        .args(["generate", "--keep-going", "--recipe"])
        .arg(d.path().join("recipe.yaml"))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    for f in ["bad1.yaml", "bad2.yaml"] {
        assert!(
            err.contains(&format!("{f}:4:1: invalid YAML")),
            "{f} not reported:\n{err}"
        );
    }
    assert!(err.contains("on purpose"), "the chart's failure:\n{err}");
    assert!(err.contains("warning: "), "{err}");
    for l in err.lines() {
        assert!(!l.ends_with("(\"\")"), "stray (\"\"): {l}");
    }
    let cdx = std::fs::read_to_string(out.join("bom.cdx.json")).unwrap();
    for img in ["quay.io/a/one:1", "quay.io/a/two:2"] {
        assert!(cdx.contains(img), "{img} missing from the BOM");
    }
}

/// kai-scheduler rendered natively from the AICR chart (`$IMAGEBOM_AICR`, default
/// `<workspace>/../shared/aicr`) with its recipe values: the `Config` CR's images are
/// `repository/name:tag`, and `MS_REPOSITORY` is not an image.
#[test]
fn kai_scheduler_images_through_the_binary() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let aicr = Need::AICR.path();
    let a = imagebom()
        .args(["images", "--all", "--chart"])
        .arg(aicr.join("charts/kai-scheduler"))
        .arg("-f")
        .arg(aicr.join("recipes/components/kai-scheduler/values.yaml"))
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    let lines: Vec<&str> = out.lines().collect();
    let repo = "ghcr.io/kai-scheduler/kai-scheduler";
    for n in [
        "admission",
        "binder",
        "nodescaleadjuster",
        "podgroupcontroller",
        "podgrouper",
        "queuecontroller",
        "resourcereservation",
        "scheduler",
        "crd-upgrader",
        "operator",
    ] {
        let want = format!("{repo}/{n}:v0.14.1");
        assert!(lines.contains(&want.as_str()), "{want} missing:\n{out}");
    }
    assert!(
        !lines.contains(&repo),
        "repository-only env value listed:\n{out}"
    );
    assert!(
        !lines.contains(&format!("{repo}:v0.14.1").as_str()),
        "{out}"
    );
}

/// gke-nccl-tcpxo's manifests name their upstream URL in a `# Source:` comment: the BOM's
/// evidence names the manifest file.
#[test]
fn source_comment_in_a_recipe_manifest_keeps_the_file() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let from = Need::AICR
        .path()
        .join("recipes/components/gke-nccl-tcpxo/manifests");
    let files = ["nccl-tcpxo-installer.yaml", "nri-device-injector.yaml"];
    for f in files {
        std::fs::copy(from.join(f), d.path().join(f)).unwrap();
    }
    std::fs::write(
        d.path().join("recipe.yaml"),
        format!("apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata: {{name: t, version: '1'}}\ncomponents:\n  - name: gke\n    manifests: [{}]\n", files.join(", ")),
    )
    .unwrap();
    let out = d.path().join("out");
    imagebom()
        .args(["generate", "--recipe"])
        .arg(d.path().join("recipe.yaml"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let cdx = std::fs::read_to_string(out.join("bom.cdx.json")).unwrap();
    assert!(!cdx.contains("https://"), "an upstream URL became evidence");
    for f in files {
        assert!(cdx.contains(&format!("{f}|")), "{f} missing from evidence");
    }
}

// ---------------------------------------------------------------- outputs

const PAGE: &str =
    "# Page\n\n<!-- imagebom:begin (generated; do not edit by hand) -->\n<!-- imagebom:end -->\n";

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Runs the binary in `dir` under `umask`.
fn run_umask(umask: &str, dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(assert_cmd::cargo::cargo_bin("imagebom"))
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1764000000")
        .output()
        .unwrap()
}

/// Every file `generate`, `lock`, `merge`, `check` and `mirror` write, relative to the recipe.
const WRITTEN: [&str; 8] = [
    "out/bom.cdx.json",
    "out/bom.spdx.json",
    "out/inventory.md",
    "page.md",
    "imagebom.lock",
    "merged.json",
    "check.txt",
    "mirror.txt",
];

fn write_everything(umask: &str, d: &Path) {
    let runs: [&[&str]; 5] = [
        &[
            "generate",
            "--recipe",
            "recipe.yaml",
            "--out",
            "out",
            "--page",
            "page.md",
        ],
        &["lock", "--recipe", "recipe.yaml"],
        &["merge", "merged.json", "out/bom.cdx.json"],
        &["check", "--recipe", "recipe.yaml", "--out", "check.txt"],
        &["mirror", "--recipe", "recipe.yaml", "--out", "mirror.txt"],
    ];
    for args in runs {
        let o = run_umask(umask, d, args);
        // `check` finds the tag-only image: exit 1, the report still written.
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn outputs_get_the_umask_mode_and_keep_a_replaced_files_mode() {
    let d = scratch("", POD);
    std::fs::write(d.path().join("page.md"), PAGE).unwrap();
    write_everything("022", d.path());
    for f in WRITTEN {
        assert_eq!(mode(&d.path().join(f)), 0o644, "{f} under umask 022");
    }
    // Under 077 new files are private; files replaced keep their mode (as `cp` does).
    let d = scratch("", POD);
    std::fs::write(d.path().join("page.md"), PAGE).unwrap();
    write_everything("077", d.path());
    for f in WRITTEN {
        // The page existed (0644): it keeps its mode, not downgraded.
        let want = if f == "page.md" { 0o644 } else { 0o600 };
        assert_eq!(mode(&d.path().join(f)), want, "{f} under umask 077");
    }
    for f in WRITTEN {
        std::fs::set_permissions(
            d.path().join(f),
            std::os::unix::fs::PermissionsExt::from_mode(0o640),
        )
        .unwrap();
    }
    write_everything("077", d.path());
    for f in WRITTEN {
        assert_eq!(mode(&d.path().join(f)), 0o640, "{f} replaced");
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn outputs_a_failed_third_write_replaces_nothing() {
    let d = scratch("", POD);
    let out = d.path().join("out");
    std::fs::create_dir_all(out.join("inventory.md")).unwrap();
    std::fs::write(out.join("bom.cdx.json"), "old cdx").unwrap();
    std::fs::write(out.join("bom.spdx.json"), "old spdx").unwrap();
    let a = imagebom()
        .current_dir(d.path())
        .args(["generate", "--recipe", "recipe.yaml", "--out", "out"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(stderr.contains("out/inventory.md"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(out.join("bom.cdx.json")).unwrap(),
        "old cdx"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("bom.spdx.json")).unwrap(),
        "old spdx"
    );
    assert_eq!(
        names_in(&out),
        ["bom.cdx.json", "bom.spdx.json", "inventory.md"]
    );
}

#[test]
fn outputs_a_second_run_waits_for_the_lock() {
    let d = scratch("", POD);
    let out = d.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let lock_path = out.join(".imagebom-output.lock");
    let held = std::fs::File::create(&lock_path).unwrap();
    held.lock().unwrap();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("imagebom"))
        .current_dir(d.path())
        .env("SOURCE_DATE_EPOCH", "1764000000")
        .args(["generate", "--recipe", "recipe.yaml", "--out", "out"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(
        names_in(&out),
        [".imagebom-output.lock"],
        "wrote under the lock"
    );
    // Released as a run releases it: the file removed, then unlocked.
    std::fs::remove_file(&lock_path).unwrap();
    drop(held);
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("waiting for another imagebom run writing out"),
        "{stderr}"
    );
    assert_eq!(names_in(&out), FILES);
}

#[test]
fn outputs_merge_waits_quietly_with_q() {
    let d = scratch("", POD);
    let gen = Command::cargo_bin("imagebom")
        .unwrap()
        .current_dir(d.path())
        .env("SOURCE_DATE_EPOCH", "1764000000")
        .args(["generate", "--recipe", "recipe.yaml", "--out", "a"])
        .output()
        .unwrap();
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let out = d.path().join("m");
    std::fs::create_dir_all(&out).unwrap();
    let lock_path = out.join(".imagebom-output.lock");
    let held = std::fs::File::create(&lock_path).unwrap();
    held.lock().unwrap();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("imagebom"))
        .current_dir(d.path())
        .args(["-q", "merge", "m/bom.cdx.json", "a/bom.cdx.json"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    std::fs::remove_file(&lock_path).unwrap();
    drop(held);
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(!stderr.contains("waiting"), "-q printed: {stderr}");
    assert!(out.join("bom.cdx.json").is_file());
}

/// The timestamp each output of `out` was written with.
fn stamps(out: &Path) -> Vec<String> {
    let json = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(f)).unwrap()).unwrap()
    };
    let md = std::fs::read_to_string(out.join("inventory.md")).unwrap();
    vec![
        json("bom.cdx.json")["metadata"]["timestamp"]
            .as_str()
            .unwrap()
            .to_string(),
        json("bom.spdx.json")["creationInfo"]["created"]
            .as_str()
            .unwrap()
            .to_string(),
        md.split(" at ")
            .nth(1)
            .and_then(|s| s.split(".\n").next())
            .unwrap()
            .to_string(),
    ]
}

#[test]
fn outputs_of_concurrent_runs_are_whole_sets() {
    let d = scratch("", POD);
    let out = d.path().join("out");
    for round in 0..3 {
        let children: Vec<_> = (0..4)
            .map(|i| {
                std::process::Command::new(assert_cmd::cargo::cargo_bin("imagebom"))
                    .current_dir(d.path())
                    .env(
                        "SOURCE_DATE_EPOCH",
                        (1764000000 + 100 * round + i).to_string(),
                    )
                    .args(["generate", "-q", "--recipe", "recipe.yaml", "--out", "out"])
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
        let s = stamps(&out);
        assert!(s.iter().all(|t| *t == s[0]), "mixed set: {s:?}");
        assert_eq!(names_in(&out), FILES, "leftovers");
    }
}

#[test]
fn outputs_temp_files_of_a_killed_run_are_removed() {
    let d = scratch("", POD);
    let out = d.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join(".imagebom-Xy12ab.tmp"), "half").unwrap();
    imagebom()
        .current_dir(d.path())
        .args(["generate", "-q", "--recipe", "recipe.yaml", "--out", "out"])
        .assert()
        .success();
    assert_eq!(names_in(&out), FILES);
}

#[test]
fn outputs_go_through_symlinks_and_into_special_files() {
    let d = scratch("", POD);
    let p = d.path();
    generate_in(p);
    let merged = std::fs::read_to_string(p.join("out/bom.cdx.json")).unwrap();
    // A symlink is written through: the link stays, its target gets the content.
    std::fs::create_dir(p.join("real")).unwrap();
    std::fs::write(p.join("real/t.json"), "old").unwrap();
    std::os::unix::fs::symlink("real/t.json", p.join("link.json")).unwrap();
    merge_to(p, "link.json");
    assert!(std::fs::symlink_metadata(p.join("link.json"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(p.join("real/t.json")).unwrap(),
        merged
    );
    assert_eq!(names_in(&p.join("real")), ["t.json"]);
    // A link to the process's stdout (what /dev/stdout is) writes stdout; the link stays.
    std::os::unix::fs::symlink("/proc/self/fd/1", p.join("fd1")).unwrap();
    let a = merge_to(p, "fd1");
    assert_eq!(String::from_utf8_lossy(&a.get_output().stdout), merged);
    assert!(std::fs::symlink_metadata(p.join("fd1"))
        .unwrap()
        .file_type()
        .is_symlink());
    // A FIFO is written, not replaced.
    let fifo = p.join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = std::thread::spawn({
        let fifo = fifo.clone();
        move || std::fs::read_to_string(fifo).unwrap()
    });
    merge_to(p, "fifo");
    assert_eq!(reader.join().unwrap(), merged);
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &std::fs::symlink_metadata(&fifo).unwrap().file_type()
    ));
}

fn generate_in(d: &Path) {
    imagebom()
        .current_dir(d)
        .args(["generate", "-q", "--recipe", "recipe.yaml", "--out", "out"])
        .assert()
        .success();
}

fn merge_to(d: &Path, out: &str) -> assert_cmd::assert::Assert {
    imagebom()
        .current_dir(d)
        .args(["merge", out, "out/bom.cdx.json"])
        .assert()
        .success()
}

#[test]
fn outputs_recipe_with_a_byte_order_mark_reads_as_without() {
    let d = scratch("", POD);
    generate_in(d.path());
    let recipe = std::fs::read(d.path().join("recipe.yaml")).unwrap();
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend(&recipe);
    std::fs::write(d.path().join("recipe.yaml"), bom).unwrap();
    imagebom()
        .current_dir(d.path())
        .args(["generate", "-q", "--recipe", "recipe.yaml", "--out", "out2"])
        .assert()
        .success();
    for f in FILES {
        assert_eq!(
            std::fs::read(d.path().join("out").join(f)).unwrap(),
            std::fs::read(d.path().join("out2").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn outputs_errors_name_their_cause_once() {
    let d = tempfile::tempdir().unwrap();
    for args in [
        &["generate", "--recipe", "missing.yaml"][..],
        &["images", "missing.yaml"],
        &["merge", "out.json", "missing.json"],
    ] {
        let a = imagebom().current_dir(d.path()).args(args).assert().code(2);
        let stderr = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
        assert_eq!(
            stderr.matches("No such file or directory").count(),
            1,
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("missing."), "{stderr}");
    }
}

/// Splits a markdown table row into its cells on the pipes that are not escaped.
fn cells(row: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut chars = row.trim().trim_matches('|').chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let n = chars.next().unwrap_or('\\');
                cells.last_mut().unwrap().extend(['\\', n]);
            }
            '|' => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells.iter().map(|c| c.trim().to_string()).collect()
}

#[test]
fn outputs_registry_text_is_escaped_in_the_inventory() {
    let d = scratch("", POD);
    let lock = serde_json::json!({"lockVersion": 1, "images": {"docker.io/library/busybox:1.37": {
        "digest": format!("sha256:{}", "a".repeat(64)),
        "source": "registry",
        "platforms": [{"os": "linux\u{1b}[31m", "architecture": "<img src=x onerror=alert(1)>",
                       "variant": "v8|*b*_[x](http://e)", "digest": format!("sha256:{}", "b".repeat(64))}],
        "provenance": {"signature": true, "attestation": false, "sbom": null,
                       "referrers": ["a`b<script>\u{202e}|x"]}
    }}});
    std::fs::write(d.path().join("imagebom.lock"), lock.to_string()).unwrap();
    generate_in(d.path());
    let md = std::fs::read_to_string(d.path().join("out/inventory.md")).unwrap();
    assert!(
        !md.chars().any(|c| c.is_control() && c != '\n'),
        "control bytes"
    );
    assert!(!md.contains('\u{202e}'), "bidi override");
    let row = md
        .lines()
        .find(|l| l.contains("busybox:1.37") && l.contains("registry"))
        .unwrap();
    let c = cells(row);
    assert_eq!(c.len(), 10, "cells of {row}");
    // Text cell: every metacharacter escaped, so it renders as the text itself.
    assert_eq!(
        c[4],
        r"linux\u{1b}\[31m/\<img src=x onerror=alert(1)\>/v8\|\*b\*\_\[x\](http://e)"
    );
    // Code span: fenced past the backtick inside, the pipe escaped for the table.
    assert_eq!(c[9], r"``a`b<script>\u{202e}\|x``");
}
