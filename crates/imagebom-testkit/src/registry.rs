//! A real registry for the suites: Debian's `docker-registry` (distribution) on loopback,
//! filled and read back with skopeo. One copy for every suite that needs it.
//!
//! A suite guards its tests with [`crate::ready`]`(&[Need::REGISTRY, Need::SKOPEO])` first (said
//! and skipped when missing, a failure under `CI=true`); [`Registry::start`] then panics with
//! what to install if the program is still absent.
//!
//! ```no_run
//! use imagebom_testkit::{ready, registry::{skopeo_copy, Registry}, Need};
//! if !ready(&[Need::REGISTRY, Need::SKOPEO]) {
//!     return;
//! }
//! let reg = Registry::start(None);
//! skopeo_copy(&["--all"], "oci:/tmp/layout:1.0", &format!("docker://{}/team/app:1.0", reg.host));
//! ```

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's `docker-registry`.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
/// skopeo.
pub const SKOPEO_BIN: &str = "/usr/bin/skopeo";
/// The user of [`HTPASSWD`].
pub const USER: &str = "chart-user";
/// The password of [`HTPASSWD`].
pub const PASSWORD: &str = "chart-secret";
/// `chart-user:chart-secret`, bcrypt-hashed (cost 4), as docker-registry's htpasswd reads it.
pub const HTPASSWD: &str =
    "chart-user:$2b$04$XZkqlKFLnwThEIX.7syE2upXoWiD10LVANFbyKjyH4FGjlFctCQZu";

/// A `docker-registry` this test started on a free loopback port, storing in a temporary
/// directory; killed (and the directory removed) when dropped.
pub struct Registry {
    /// `127.0.0.1:<port>`.
    pub host: String,
    child: Child,
    _root: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    /// Starts a registry and waits (at most 20 s) until it answers `/v2/`; with `htpasswd`
    /// (`user:bcrypt-hash` lines, e.g. [`HTPASSWD`]) it asks for basic auth. No access log.
    pub fn start(htpasswd: Option<&str>) -> Registry {
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "{REGISTRY_BIN} is not installed (apt-get install docker-registry); guard the test with \
             imagebom_testkit::ready(&[Need::REGISTRY])"
        );
        let root = tempfile::tempdir().expect("a temporary directory for the registry");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let host = format!("127.0.0.1:{port}");
        let auth = match htpasswd {
            Some(lines) => {
                let file = root.path().join("htpasswd");
                std::fs::write(&file, format!("{lines}\n")).unwrap();
                format!(
                    r#","auth":{{"htpasswd":{{"realm":"imagebom-test","path":{}}}}}"#,
                    json_string(&file.display().to_string())
                )
            }
            None => String::new(),
        };
        // JSON is YAML: docker-registry reads this as its config.
        let config = format!(
            r#"{{"version":0.1,"log":{{"level":"error","accesslog":{{"disabled":true}}}},"storage":{{"filesystem":{{"rootdirectory":{}}}}},"http":{{"addr":"{host}"}}{auth}}}"#,
            json_string(&root.path().join("data").display().to_string())
        );
        let cfg = root.path().join("config.yml");
        std::fs::write(&cfg, config).unwrap();
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        let reg = Registry {
            host,
            child,
            _root: root,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut s) = TcpStream::connect(&reg.host) {
                let _ = write!(s, "GET /v2/ HTTP/1.0\r\n\r\n");
                let mut answer = String::new();
                let _ = s.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.") {
                    return reg;
                }
            }
            assert!(Instant::now() < deadline, "docker-registry did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Runs skopeo with `args`; its stdout. Panics with the arguments and skopeo's stderr when it
/// fails.
pub fn skopeo(args: &[&str]) -> Vec<u8> {
    let out = Command::new(SKOPEO_BIN)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{SKOPEO_BIN} does not run ({e}): apt-get install skopeo"));
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `skopeo copy --quiet --dest-tls-verify=false EXTRA… SRC DEST` (the loopback registry speaks
/// plain HTTP): `extra` adds e.g. `--all`, `--preserve-digests`, `--dest-creds=user:password`.
pub fn skopeo_copy(extra: &[&str], src: &str, dest: &str) {
    let mut args = vec!["copy", "--quiet", "--dest-tls-verify=false"];
    args.extend_from_slice(extra);
    args.extend([src, dest]);
    skopeo(&args);
}

/// What skopeo reads as the manifest at `docker://REFERENCE` (plain HTTP), with `extra` (e.g.
/// `--creds=user:password`): the oracle for what the registry serves.
pub fn skopeo_raw(extra: &[&str], reference: &str) -> Vec<u8> {
    let mut args = vec!["inspect", "--raw", "--tls-verify=false"];
    args.extend_from_slice(extra);
    let target = format!("docker://{reference}");
    args.push(&target);
    skopeo(&args)
}

/// `s` as a JSON string.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
