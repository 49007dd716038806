//! Where imagebom's test suites find what lies outside the repository — the shared corpora beside
//! the clone (`../shared`), the Python venv with the oracles, Debian's registry and skopeo — and
//! what a suite does when one is missing.
//!
//! A suite asks with [`shared`], [`venv_python`] or [`program`] and gets `None` when the thing is
//! absent; it then returns at once, having printed plainly that it did not run and why. Under
//! `CI=true` a missing thing is a failure instead: CI must run every suite. So `cargo test` on a
//! fresh clone runs the hermetic suites and names the others, and CI runs all of them.
//!
//! ```no_run
//! let Some(corpus) = imagebom_testkit::shared("corpus", "IMAGEBOM_CORPUS", "expected") else {
//!     return;
//! };
//! ```
//!
//! [`registry`] starts a real `docker-registry` and fills it with skopeo, for every suite that
//! needs one; [`layout`] writes the OCI image layouts skopeo copies into it.
//!
//! A suite whose helpers find the paths themselves guards each test with [`ready`]:
//!
//! ```no_run
//! use imagebom_testkit::{ready, Need};
//! const NEEDS: &[Need] = &[Need::CORPUS, Need::Venv];
//! if !ready(NEEDS) {
//!     return;
//! }
//! ```

pub mod layout;
pub mod registry;

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `crates/imagebom-testkit`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether missing inputs fail (CI) rather than skip.
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `../shared/<name>` beside the workspace, or `$env` when set; `None` (after saying so) when it
/// is missing or lacks `marker` (a file or folder that must be inside it).
///
/// The oracle scripts (`oracle`) lie beside the corpus: without `$env` they are looked for next
/// to `$IMAGEBOM_CORPUS` when that is set.
pub fn shared(name: &str, env: &str, marker: &str) -> Option<PathBuf> {
    let dir = std::env::var_os(env)
        .map(PathBuf::from)
        .or_else(|| {
            (name == "oracle")
                .then(|| std::env::var_os("IMAGEBOM_CORPUS"))
                .flatten()
                .map(|c| PathBuf::from(c).join("../oracle"))
        })
        .unwrap_or_else(|| workspace().join("../shared").join(name));
    if dir.join(marker).exists() {
        return Some(dir);
    }
    missing(&format!(
        "the shared {name} is not at {} (set {env})",
        dir.display()
    ))
}

/// The Python of the venv with the oracles (`$IMAGEBOM_VENV`, default `<workspace>/.venv`, which
/// `make test` creates).
pub fn venv_python() -> Option<PathBuf> {
    let venv = std::env::var_os("IMAGEBOM_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv"));
    let py = venv.join("bin/python");
    if py.exists() {
        return Some(py);
    }
    missing(&format!(
        "the oracle venv is not at {} (set IMAGEBOM_VENV; `make test` creates it)",
        venv.display()
    ))
}

/// Runs the oracle `script` (Python source) with `python` as `python SCRIPT INPUT OUTPUT`, `input`
/// written to the INPUT file; returns what the script wrote to OUTPUT. Panics with the script's
/// stderr when it fails.
pub fn run_oracle_script(python: &Path, script: &str, input: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (file, input_file, out) = (
        dir.path().join("oracle.py"),
        dir.path().join("input.json"),
        dir.path().join("out.json"),
    );
    std::fs::write(&file, script).expect("writing the oracle script");
    std::fs::write(&input_file, input).expect("writing the oracle's input");
    let run = std::process::Command::new(python)
        .arg(&file)
        .arg(&input_file)
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    assert!(
        run.status.success(),
        "oracle script failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read(&out).expect("the oracle's output")
}

/// An installed program at `path` (e.g. `/usr/bin/docker-registry`); `package` names what installs it.
pub fn program(path: &str, package: &str) -> Option<PathBuf> {
    let p = PathBuf::from(path);
    if p.exists() {
        return Some(p);
    }
    missing(&format!(
        "{path} is not installed (apt-get install {package})"
    ))
}

/// Fails under CI; otherwise prints the reason on the real stderr (not the test harness's
/// captured output, so it shows for passing tests too) and returns `None`.
fn missing<T>(why: &str) -> Option<T> {
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    if required() {
        panic!("{why}: CI=true requires it");
    }
    let _ = writeln!(
        std::io::stderr(),
        "NOT RUN: {test}: {why}; run `make test` (CI=true makes this a failure)"
    );
    None
}

/// Something outside the repository that a suite needs.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// `../shared/<name>` (or `$env`), which must hold `marker`.
    Shared {
        /// Folder name under `../shared`.
        name: &'static str,
        /// Environment variable that overrides the path.
        env: &'static str,
        /// A file or folder that must be inside it.
        marker: &'static str,
    },
    /// The oracle venv ([`venv_python`]).
    Venv,
    /// An installed program ([`program`]): its path and the Debian package that installs it.
    Program(&'static str, &'static str),
}

impl Need {
    /// The chart corpus (`../shared/corpus`, `IMAGEBOM_CORPUS`).
    pub const CORPUS: Need = Need::Shared {
        name: "corpus",
        env: "IMAGEBOM_CORPUS",
        marker: "expected",
    };
    /// The wide chart corpus (`../shared/corpus-wide`, `IMAGEBOM_CORPUS_WIDE`).
    pub const CORPUS_WIDE: Need = Need::Shared {
        name: "corpus-wide",
        env: "IMAGEBOM_CORPUS_WIDE",
        marker: "rendered",
    };
    /// AICR's recipes and charts (`../shared/aicr`, `IMAGEBOM_AICR`).
    pub const AICR: Need = Need::Shared {
        name: "aicr",
        env: "IMAGEBOM_AICR",
        marker: "recipes",
    };
    /// The Helm SDK oracle scripts (`../shared/oracle`, `IMAGEBOM_ORACLE`; else beside
    /// `IMAGEBOM_CORPUS` when that is set).
    pub const ORACLE: Need = Need::Shared {
        name: "oracle",
        env: "IMAGEBOM_ORACLE",
        marker: "helm_render.py",
    };
    /// The sigstore conformance data (`../shared/sigstore`, `IMAGEBOM_SIGSTORE`).
    pub const SIGSTORE: Need = Need::Shared {
        name: "sigstore",
        env: "IMAGEBOM_SIGSTORE",
        marker: "conformance/bundle-verify",
    };
    /// Debian's `docker-registry`.
    pub const REGISTRY: Need = Need::Program("/usr/bin/docker-registry", "docker-registry");
    /// skopeo.
    pub const SKOPEO: Need = Need::Program("/usr/bin/skopeo", "skopeo");

    /// Where the need is (the shared folder, the venv's Python, the program); `None` when it is
    /// missing, said as [`shared`] says it (a failure under `CI=true`).
    pub fn find(self) -> Option<PathBuf> {
        match self {
            Need::Shared { name, env, marker } => shared(name, env, marker),
            Need::Venv => venv_python(),
            Need::Program(path, package) => program(path, package),
        }
    }

    /// Where a need is that [`ready`] has found: for a suite's path helpers. Panics, naming the
    /// need, when it is missing (so a helper called without [`ready`] fails rather than skips).
    /// A shared folder is made absolute (`canonicalize`), the venv's Python is not (its path is
    /// what makes it the venv's).
    pub fn path(self) -> PathBuf {
        let p = self
            .find()
            .unwrap_or_else(|| panic!("{self:?} is missing: guard the test with ready()"));
        match self {
            Need::Shared { .. } => p.canonicalize().unwrap_or(p),
            _ => p,
        }
    }
}

/// Whether every need is present; each missing one is said (or fails under `CI=true`).
pub fn ready(needs: &[Need]) -> bool {
    // Every need is asked (no short cut), so each missing one is said.
    needs.iter().filter(|n| n.find().is_none()).count() == 0
}

/// Copies the directory tree `from` into `to` (created if missing), for tests that build a
/// fixture in a temporary directory. Panics on any I/O error.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    for e in entries.flatten() {
        let (p, t) = (e.path(), to.join(e.file_name()));
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        }
    }
}
