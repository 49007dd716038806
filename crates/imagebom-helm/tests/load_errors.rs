//! Chart directories Helm's `loader.LoadDir` rejects are rejected by [`Chart::load_dir`],
//! even where imagebom reads the file only when a render asks for it (`crds/`, `.Files`).
//! Helm reads every file at load: an unreadable one fails the load (the Helm SDK prints
//! `error reading crds/b.yaml: open …/crds/b.yaml: permission denied`), as does a dangling
//! symlink (`error evaluating symlink …`).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use imagebom_helm::Chart;

/// A chart whose templates never read `crds/`.
fn chart(dir: &Path) {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::create_dir_all(dir.join("crds")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(dir.join("templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
    std::fs::write(dir.join("crds/a.yaml"), "kind: CustomResourceDefinition\n").unwrap();
}

/// Set in the child this test runs itself as when it runs as root.
const NO_DAC: &str = "IMAGEBOM_TEST_WITHOUT_DAC_OVERRIDE";

#[test]
fn unreadable_crd_fails_the_load() {
    let dir = tempfile::tempdir().unwrap();
    chart(dir.path());
    let b = dir.path().join("crds/b.yaml");
    std::fs::write(&b, "kind: CustomResourceDefinition\n").unwrap();
    std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&b).is_ok() {
        // Root reads a mode-000 file (CAP_DAC_OVERRIDE): run this test again without it.
        assert!(
            std::env::var_os(NO_DAC).is_none(),
            "the file stays readable without CAP_DAC_OVERRIDE"
        );
        let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let exe = std::env::current_exe().unwrap();
        let status = Command::new("capsh")
            .args(["--drop=cap_dac_override,cap_dac_read_search", "--", "-c"])
            .arg("exec \"$0\" --exact unreadable_crd_fails_the_load --nocapture")
            .arg(&exe)
            .env(NO_DAC, "1")
            .status();
        match status {
            Ok(s) => assert!(s.success(), "the test without CAP_DAC_OVERRIDE failed"),
            Err(e) => eprintln!(
                "SKIPPED: running as root (uid 0: {root}), a mode-000 file stays readable and \
                 capsh could not drop CAP_DAC_OVERRIDE ({e}); the dangling-symlink test covers \
                 the load-time check"
            ),
        }
        return;
    }
    let err = Chart::load_dir(dir.path()).expect_err("Helm fails at chart load");
    let text = err.to_string();
    assert!(text.contains("crds/b.yaml"), "{text}");
    assert!(text.contains("ermission denied"), "{text}");
}

#[test]
fn dangling_symlink_in_crds_fails_the_load() {
    let dir = tempfile::tempdir().unwrap();
    chart(dir.path());
    std::os::unix::fs::symlink("nowhere", dir.path().join("crds/c.yaml")).unwrap();
    let err = Chart::load_dir(dir.path()).expect_err("Helm fails at chart load");
    assert!(err.to_string().contains("crds/c.yaml"), "{err}");
}

#[test]
fn directory_named_like_a_file_loads() {
    // Helm walks into it: not an error.
    let dir = tempfile::tempdir().unwrap();
    chart(dir.path());
    std::fs::create_dir(dir.path().join("crds/d.yaml")).unwrap();
    assert!(Chart::load_dir(dir.path()).is_ok());
}
