//! Chart sources against real servers: an HTTP chart repository served over TCP on loopback by
//! a small server thread, and a real `docker-registry` filled by `skopeo copy` from an OCI
//! layout written here. No mocks. `docker-registry` and `skopeo` missing is a failure.

use flate2::write::GzEncoder;
use flate2::Compression;
use imagebom_charts::{
    fetch_chart, load_chart, ChartContent, ChartMirror, ChartRequest, FetchErrorKind, FetchOptions,
    Fetched,
};
use imagebom_helm::archive::ChartFiles;
use imagebom_testkit::Need;
use sha2::Digest;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What these tests need beyond the repository (imagebom-testkit: said and skipped when
/// missing, a failure under `CI=true`).
const NEEDS: &[Need] = &[Need::REGISTRY, Need::SKOPEO];

// ---------------------------------------------------------------------------------------------
// Charts and archives

fn chart_files(name: &str, version: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "Chart.yaml".into(),
            format!("apiVersion: v2\nname: {name}\nversion: {version}\n").into_bytes(),
        ),
        ("values.yaml".into(), b"image: nginx:1.27\n".to_vec()),
        (
            "templates/deploy.yaml".into(),
            b"kind: Deployment\nimage: {{ .Values.image }}\n".to_vec(),
        ),
    ]
}

/// A chart archive as `helm package` lays it out: `<name>/…`.
fn pack(name: &str, version: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in chart_files(name, version) {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        b.append_data(&mut h, format!("{name}/{path}"), data.as_slice())
            .unwrap();
    }
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(&b.into_inner().unwrap()).unwrap();
    enc.finish().unwrap()
}

fn expected_files(name: &str, version: &str) -> ChartFiles {
    chart_files(name, version).into_iter().collect()
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn files(f: &Fetched) -> &ChartFiles {
    match &f.content {
        ChartContent::Files(files) => files,
        other => panic!("expected files, got {other:?}"),
    }
}

fn options(cache: &Path) -> FetchOptions {
    FetchOptions {
        timeout: Duration::from_secs(10),
        backoff: Duration::from_millis(20),
        ..FetchOptions::new(cache)
    }
}

fn request(repository: &str, chart: &str, version: &str) -> ChartRequest {
    ChartRequest {
        repository: repository.into(),
        chart: chart.into(),
        version: version.into(),
        base_dir: PathBuf::from("/nonexistent"),
    }
}

// ---------------------------------------------------------------------------------------------
// A static HTTP server on loopback: path → (status, body); counts requests per path.

#[derive(Clone)]
struct Route {
    status: u16,
    body: Vec<u8>,
    /// Answer 503 this many times first.
    fail_first: u32,
    /// Required `Authorization` header (401 without it).
    auth: Option<String>,
}

#[derive(Default)]
struct State {
    routes: BTreeMap<String, Route>,
    hits: BTreeMap<String, u32>,
}

struct Server {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let st = st.clone();
                std::thread::spawn(move || serve(stream, &st));
            }
        });
        Server { port, state }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn route(&self, path: &str, status: u16, body: Vec<u8>) {
        self.route_flaky(path, status, body, 0);
    }

    fn route_flaky(&self, path: &str, status: u16, body: Vec<u8>, fail_first: u32) {
        self.state.lock().unwrap().routes.insert(
            path.into(),
            Route {
                status,
                body,
                fail_first,
                auth: None,
            },
        );
    }

    fn route_auth(&self, path: &str, body: Vec<u8>, auth: &str) {
        self.state.lock().unwrap().routes.insert(
            path.into(),
            Route {
                status: 200,
                body,
                fail_first: 0,
                auth: Some(auth.into()),
            },
        );
    }

    fn hits(&self, path: &str) -> u32 {
        *self.state.lock().unwrap().hits.get(path).unwrap_or(&0)
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split(' ').nth(1).unwrap_or("/").to_string();
    let mut authorization = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                authorization = Some(v.trim().to_string());
            }
        }
    }
    let (status, body) = {
        let mut s = state.lock().unwrap();
        *s.hits.entry(path.clone()).or_default() += 1;
        match s.routes.get_mut(&path) {
            Some(r) if r.auth.is_some() && r.auth != authorization => (401, b"who?".to_vec()),
            Some(r) if r.fail_first > 0 => {
                r.fail_first -= 1;
                (503, b"try again".to_vec())
            }
            Some(r) => (r.status, r.body.clone()),
            None => (404, b"not found".to_vec()),
        }
    };
    let mut out = stream;
    let _ = write!(
        out,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = out.write_all(&body);
}

/// An `index.yaml` for `(version, url, digest)` entries of `mychart`.
fn index(entries: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut s = String::from("apiVersion: v1\nentries:\n  mychart:\n");
    for (v, url, digest) in entries {
        s.push_str(&format!(
            "  - apiVersion: v2\n    name: mychart\n    version: {v}\n    digest: {digest}\n    created: \"2026-01-01T00:00:00Z\"\n    urls:\n    - {url}\n"
        ));
    }
    s.push_str("  other:\n  - name: other\n    version: 0.1.0\n    urls: [other-0.1.0.tgz]\ngenerated: \"2026-01-01T00:00:00Z\"\n");
    s.into_bytes()
}

/// A repository with mychart 1.0.0 (relative URL), 1.1.0 (absolute URL), 2.0.0-rc.1 and
/// 1.2.0 whose index digest is wrong.
fn repo() -> (Server, BTreeMap<&'static str, Vec<u8>>) {
    let server = Server::start();
    let mut archives = BTreeMap::new();
    for v in ["1.0.0", "1.1.0", "1.2.0", "2.0.0-rc.1"] {
        archives.insert(v, pack("mychart", v));
    }
    server.route("/charts/mychart-1.0.0.tgz", 200, archives["1.0.0"].clone());
    server.route("/abs/mychart-1.1.0.tgz", 200, archives["1.1.0"].clone());
    server.route("/charts/mychart-1.2.0.tgz", 200, archives["1.2.0"].clone());
    server.route(
        "/charts/mychart-2.0.0-rc.1.tgz",
        200,
        archives["2.0.0-rc.1"].clone(),
    );
    let abs = server.url("/abs/mychart-1.1.0.tgz");
    let wrong = sha(b"something else");
    server.route(
        "/repo/index.yaml",
        200,
        index(&[
            (
                "2.0.0-rc.1",
                "../charts/mychart-2.0.0-rc.1.tgz",
                &sha(&archives["2.0.0-rc.1"]),
            ),
            ("1.2.0", "../charts/mychart-1.2.0.tgz", &wrong),
            (
                "1.1.0",
                &abs,
                &format!("sha256:{}", sha(&archives["1.1.0"])),
            ),
            (
                "1.0.0",
                "../charts/mychart-1.0.0.tgz",
                &sha(&archives["1.0.0"]),
            ),
        ]),
    );
    (server, archives)
}

// ---------------------------------------------------------------------------------------------
// HTTP repository

#[test]
fn http_exact_version_relative_and_absolute_urls_then_offline_from_cache() {
    let (server, archives) = repo();
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path());
    let repo_url = server.url("/repo");

    let got = fetch_chart(&request(&repo_url, "mychart", "1.0.0"), &opts).unwrap();
    assert_eq!(files(&got), &expected_files("mychart", "1.0.0"));
    assert_eq!(got.version, "1.0.0");
    let digest = sha(&archives["1.0.0"]);
    assert_eq!(
        got.digest.as_deref(),
        Some(format!("sha256:{digest}").as_str())
    );
    assert_eq!(got.source, server.url("/charts/mychart-1.0.0.tgz"));
    assert_eq!(got.manifest_digest, None);
    // Content-addressed cache.
    let blob = cache.path().join(format!("charts/sha256/{digest}.tgz"));
    assert_eq!(std::fs::read(&blob).unwrap(), archives["1.0.0"]);

    let got = fetch_chart(&request(&format!("{repo_url}/"), "mychart", "1.1.0"), &opts).unwrap();
    assert_eq!(files(&got), &expected_files("mychart", "1.1.0"));
    assert_eq!(got.source, server.url("/abs/mychart-1.1.0.tgz"));

    // Online again: the index is asked, the cached archive is not downloaded again.
    let before = server.hits("/charts/mychart-1.0.0.tgz");
    let again = fetch_chart(&request(&repo_url, "mychart", "1.0.0"), &opts).unwrap();
    assert_eq!(files(&again), &expected_files("mychart", "1.0.0"));
    assert_eq!(server.hits("/charts/mychart-1.0.0.tgz"), before);
    assert_eq!(server.hits("/repo/index.yaml"), 3);

    // Offline: from the cache only; the server is not asked at all.
    let offline = FetchOptions {
        offline: true,
        ..opts.clone()
    };
    let index_hits = server.hits("/repo/index.yaml");
    let got = fetch_chart(&request(&repo_url, "mychart", "1.0.0"), &offline).unwrap();
    assert_eq!(files(&got), &expected_files("mychart", "1.0.0"));
    assert_eq!(
        got.digest.as_deref(),
        Some(format!("sha256:{digest}").as_str())
    );
    assert_eq!(got.version, "1.0.0");
    assert_eq!(server.hits("/repo/index.yaml"), index_hits);

    // Offline miss.
    let e = fetch_chart(&request(&repo_url, "mychart", "9.9.9"), &offline).unwrap_err();
    assert!(matches!(*e.kind, FetchErrorKind::NotCached { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("mychart")
            && msg.contains("9.9.9")
            && msg.contains("not in the cache (offline)")
            && msg.contains(&repo_url),
        "{msg}"
    );

    // A cached archive is verified when read: a tampered one is refused.
    std::fs::write(&blob, pack("mychart", "6.6.6")).unwrap();
    let e = fetch_chart(&request(&repo_url, "mychart", "1.0.0"), &offline).unwrap_err();
    assert!(
        matches!(*e.kind, FetchErrorKind::CorruptCache { .. }),
        "{e}"
    );
    // Online, a tampered cache entry is replaced by a fresh, verified download.
    let got = fetch_chart(&request(&repo_url, "mychart", "1.0.0"), &opts).unwrap();
    assert_eq!(files(&got), &expected_files("mychart", "1.0.0"));
}

#[test]
fn http_version_constraints_online_and_offline() {
    let (server, _) = repo();
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path());
    let repo_url = server.url("/repo");
    for (wanted, got) in [
        (">=1.0.0 <1.2.0", "1.1.0"),
        ("1.0.x", "1.0.0"),
        ("~1.1", "1.1.0"),
    ] {
        let f = fetch_chart(&request(&repo_url, "mychart", wanted), &opts).unwrap();
        assert_eq!(f.version, got, "{wanted}");
        assert_eq!(files(&f), &expected_files("mychart", got));
    }
    // Empty: the highest stable version (1.2.0, whose listed digest is wrong), never the rc.
    let e = fetch_chart(&request(&repo_url, "mychart", ""), &opts).unwrap_err();
    assert!(
        matches!(*e.kind, FetchErrorKind::DigestMismatch { .. }),
        "{e}"
    );
    let f = fetch_chart(&request(&repo_url, "mychart", ">=2.0.0-0"), &opts).unwrap();
    assert_eq!(f.version, "2.0.0-rc.1");
    let e = fetch_chart(&request(&repo_url, "mychart", ">>1"), &opts).unwrap_err();
    assert!(matches!(*e.kind, FetchErrorKind::BadVersion { .. }), "{e}");
    // Offline, a constraint is answered from what the cache holds.
    let offline = FetchOptions {
        offline: true,
        ..opts
    };
    let f = fetch_chart(&request(&repo_url, "mychart", "^1.0"), &offline).unwrap();
    assert_eq!(f.version, "1.1.0");
    let f = fetch_chart(&request(&repo_url, "mychart", "~1.1"), &offline).unwrap();
    assert_eq!(f.version, "1.1.0");
    let e = fetch_chart(&request(&repo_url, "mychart", "^3"), &offline).unwrap_err();
    assert!(matches!(*e.kind, FetchErrorKind::NotCached { .. }), "{e}");
}

#[test]
fn http_digest_mismatch_is_refused_and_nothing_is_cached() {
    let (server, archives) = repo();
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path());
    let e = fetch_chart(&request(&server.url("/repo"), "mychart", "1.2.0"), &opts).unwrap_err();
    let msg = e.to_string();
    match &*e.kind {
        FetchErrorKind::DigestMismatch {
            expected, actual, ..
        } => {
            assert_eq!(*expected, format!("sha256:{}", sha(b"something else")));
            assert_eq!(*actual, format!("sha256:{}", sha(&archives["1.2.0"])));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        msg.contains("1.2.0")
            && msg.contains(&sha(b"something else"))
            && msg.contains(&sha(&archives["1.2.0"])),
        "{msg}"
    );
    assert!(
        !cache.path().join("charts").exists()
            || std::fs::read_dir(cache.path().join("charts/sha256"))
                .map(|d| d.count())
                .unwrap_or(0)
                == 0
    );
    let offline = FetchOptions {
        offline: true,
        ..opts
    };
    let e = fetch_chart(&request(&server.url("/repo"), "mychart", "1.2.0"), &offline).unwrap_err();
    assert!(matches!(*e.kind, FetchErrorKind::NotCached { .. }));
}

#[test]
fn http_missing_chart_missing_version_and_oversized_index() {
    let (server, _) = repo();
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path());
    let repo_url = server.url("/repo");
    let e = fetch_chart(&request(&repo_url, "nochart", "1.0.0"), &opts).unwrap_err();
    assert!(matches!(*e.kind, FetchErrorKind::NoChart { .. }), "{e}");
    assert!(e.to_string().contains("nochart"));
    let e = fetch_chart(&request(&repo_url, "mychart", "3.0.0"), &opts).unwrap_err();
    match &*e.kind {
        FetchErrorKind::NoVersion { available } => {
            assert_eq!(available, "2.0.0-rc.1, 1.2.0, 1.1.0, 1.0.0")
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("3.0.0") && e.to_string().contains(&repo_url));
    let small = FetchOptions {
        max_index_size: 100,
        ..opts.clone()
    };
    let e = fetch_chart(&request(&repo_url, "mychart", "1.0.0"), &small).unwrap_err();
    match &*e.kind {
        FetchErrorKind::TooLarge {
            limit, limit_name, ..
        } => assert_eq!((*limit, *limit_name), (100, "max_index_size")),
        other => panic!("{other:?}"),
    }
    // No repository there at all.
    let e = fetch_chart(&request(&server.url("/none"), "mychart", "1.0.0"), &opts).unwrap_err();
    assert!(
        matches!(*e.kind, FetchErrorKind::Http { status: 404, .. }),
        "{e}"
    );
    // Garbage instead of an index.
    server.route("/junk/index.yaml", 200, b"entries: [1, 2".to_vec());
    let e = fetch_chart(&request(&server.url("/junk"), "mychart", "1.0.0"), &opts).unwrap_err();
    assert!(matches!(*e.kind, FetchErrorKind::Invalid { .. }), "{e}");
    // An archive over the compressed limit is refused while downloading.
    let tiny = FetchOptions {
        limits: imagebom_helm::archive::ArchiveLimits {
            max_compressed: 50,
            ..Default::default()
        },
        ..opts
    };
    let e = fetch_chart(&request(&repo_url, "mychart", "1.0.0"), &tiny).unwrap_err();
    assert!(
        matches!(
            *e.kind,
            FetchErrorKind::TooLarge {
                limit_name: "max_compressed",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn http_transient_failures_are_retried_a_bounded_number_of_times() {
    let (server, archives) = repo();
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path());
    let body = index(&[(
        "1.0.0",
        "../charts/mychart-1.0.0.tgz",
        &sha(&archives["1.0.0"]),
    )]);
    server.route_flaky("/flaky/index.yaml", 200, body.clone(), 2);
    let got = fetch_chart(&request(&server.url("/flaky"), "mychart", "1.0.0"), &opts).unwrap();
    assert_eq!(got.version, "1.0.0");
    assert_eq!(server.hits("/flaky/index.yaml"), 3);
    server.route_flaky("/down/index.yaml", 200, body, 100);
    let e = fetch_chart(&request(&server.url("/down"), "mychart", "1.0.0"), &opts).unwrap_err();
    assert!(
        matches!(*e.kind, FetchErrorKind::Http { status: 503, .. }),
        "{e}"
    );
    assert_eq!(server.hits("/down/index.yaml"), opts.retries + 1);
    assert!(e.is_network());
}

#[test]
fn http_hostile_archive_with_a_matching_digest_is_refused_and_not_cached() {
    let server = Server::start();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_link_name("/etc/passwd").unwrap();
    b.append_data(&mut h, "mychart/values.yaml", std::io::empty())
        .unwrap();
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(&b.into_inner().unwrap()).unwrap();
    let evil = enc.finish().unwrap();
    server.route("/r/mychart-1.0.0.tgz", 200, evil.clone());
    server.route(
        "/r/index.yaml",
        200,
        index(&[("1.0.0", "mychart-1.0.0.tgz", &sha(&evil))]),
    );
    let cache = tempfile::tempdir().unwrap();
    let e = fetch_chart(
        &request(&server.url("/r"), "mychart", "1.0.0"),
        &options(cache.path()),
    )
    .unwrap_err();
    assert!(matches!(*e.kind, FetchErrorKind::Archive(_)), "{e}");
    assert!(e.to_string().contains("links are refused"), "{e}");
    assert!(!cache
        .path()
        .join(format!("charts/sha256/{}.tgz", sha(&evil)))
        .exists());
}

#[test]
fn http_basic_auth_from_the_repository_url_never_shows_the_password() {
    let server = Server::start();
    let tgz = pack("mychart", "1.0.0");
    // base64("u:s3cret")
    let auth = "Basic dTpzM2NyZXQ=";
    server.route_auth(
        "/p/index.yaml",
        index(&[("1.0.0", "mychart-1.0.0.tgz", &sha(&tgz))]),
        auth,
    );
    server.route_auth("/p/mychart-1.0.0.tgz", tgz.clone(), auth);
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path());
    let with_creds = format!("http://u:s3cret@127.0.0.1:{}/p", server.port);
    let got = fetch_chart(&request(&with_creds, "mychart", "1.0.0"), &opts).unwrap();
    assert_eq!(files(&got), &expected_files("mychart", "1.0.0"));
    assert_eq!(got.source, server.url("/p/mychart-1.0.0.tgz"));
    let wrong = format!("http://u:wrong@127.0.0.1:{}/p", server.port);
    let e = fetch_chart(&request(&wrong, "mychart", "1.0.0"), &opts).unwrap_err();
    assert!(
        matches!(*e.kind, FetchErrorKind::Http { status: 401, .. }),
        "{e}"
    );
    assert!(
        !e.to_string().contains("wrong") && !format!("{e:?}").contains("wrong"),
        "{e:?}"
    );
    // The cache index keys the repository without credentials.
    let index = std::fs::read_to_string(cache.path().join("charts/index.json")).unwrap();
    assert!(!index.contains("s3cret"), "{index}");
}

// ---------------------------------------------------------------------------------------------
// Local charts

#[test]
fn local_directory_and_archive() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("charts/mychart");
    for (path, data) in chart_files("mychart", "0.3.0") {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let tgz = pack("mychart", "0.4.0");
    std::fs::write(base.path().join("mychart-0.4.0.tgz"), &tgz).unwrap();
    let opts = options(&base.path().join("cache"));
    let mut req = request("./charts/mychart", "mychart", "0.3.0");
    req.base_dir = base.path().to_path_buf();
    let got = fetch_chart(&req, &opts).unwrap();
    assert_eq!(
        got.content,
        ChartContent::Directory(base.path().join("./charts/mychart"))
    );
    assert_eq!(
        (got.version.as_str(), got.digest.as_deref()),
        ("0.3.0", None)
    );
    // A directory of charts plus the chart name; `file://` as in Chart.yaml dependencies.
    req.repository = "file://charts".into();
    let got = fetch_chart(&req, &opts).unwrap();
    assert_eq!(
        got.content,
        ChartContent::Directory(base.path().join("charts/mychart"))
    );
    req.repository = "./mychart-0.4.0.tgz".into();
    req.version = "0.4.0".into();
    let got = fetch_chart(&req, &opts).unwrap();
    assert_eq!(files(&got), &expected_files("mychart", "0.4.0"));
    assert_eq!(got.digest, Some(format!("sha256:{}", sha(&tgz))));
    assert_eq!(got.source, "./mychart-0.4.0.tgz");
    req.repository = "./missing".into();
    let e = fetch_chart(&req, &opts).unwrap_err();
    assert!(matches!(*e.kind, FetchErrorKind::Io { .. }), "{e}");
    assert!(e.to_string().contains("missing") && e.to_string().contains("mychart"));
    req.repository = "ftp://example.invalid/charts".into();
    let e = fetch_chart(&req, &opts).unwrap_err();
    assert!(
        matches!(*e.kind, FetchErrorKind::BadRepository { .. }),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// OCI: a real docker-registry filled by skopeo

use imagebom_testkit::layout::Layout;
use imagebom_testkit::registry::{skopeo_copy, skopeo_raw, Registry, HTPASSWD};

/// Tags in `layout` as `tag` an artifact of a `config_type` config and `layers`.
fn artifact(
    layout: &mut Layout,
    tag: &str,
    config_type: &str,
    config: &[u8],
    layers: &[(&[u8], &str)],
) {
    let config = layout.blob(config, config_type);
    let layers = layers.iter().map(|(d, t)| layout.blob(d, t)).collect();
    let desc = layout.manifest(None, config, layers);
    layout.tag(&desc, tag);
}

/// Copies `tag` of `layout` to `repo:tag` in `reg`, as the user `creds` (`user:password`).
fn push(layout: &Layout, reg: &Registry, tag: &str, repo: &str, creds: Option<&str>) {
    let creds = creds.map(|c| format!("--dest-creds={c}"));
    skopeo_copy(
        &creds.iter().map(String::as_str).collect::<Vec<_>>(),
        &layout.reference(tag),
        &format!("docker://{}/{repo}:{tag}", reg.host),
    );
}

const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
const HELM_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

#[test]
fn oci_chart_from_a_real_registry_then_offline() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let reg = Registry::start(None);
    let mut layout = Layout::new();
    let chart = pack("mychart", "1.2.3");
    let config = br#"{"apiVersion":"v2","name":"mychart","version":"1.2.3"}"#;
    artifact(
        &mut layout,
        "1.2.3",
        HELM_CONFIG,
        config,
        &[(&chart, HELM_LAYER)],
    );
    push(&layout, &reg, "1.2.3", "charts/mychart", None);
    // A build-metadata version: Helm tags 1.0.0+build.7 as 1.0.0_build.7.
    let plus = pack("mychart", "1.0.0+build.7");
    artifact(
        &mut layout,
        "1.0.0_build.7",
        HELM_CONFIG,
        config,
        &[(&plus, HELM_LAYER)],
    );
    push(&layout, &reg, "1.0.0_build.7", "charts/mychart", None);
    // An ordinary image is not a chart.
    artifact(
        &mut layout,
        "3.0.0",
        "application/vnd.oci.image.config.v1+json",
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
        &[],
    );
    push(&layout, &reg, "3.0.0", "charts/mychart", None);

    let cache = tempfile::tempdir().unwrap();
    let opts = FetchOptions {
        insecure_registries: vec![reg.host.clone()],
        ..options(cache.path())
    };
    let repo = format!("oci://{}/charts", reg.host);
    let got = fetch_chart(&request(&repo, "mychart", "1.2.3"), &opts).unwrap();
    assert_eq!(files(&got), &expected_files("mychart", "1.2.3"));
    assert_eq!(got.version, "1.2.3");
    assert_eq!(got.digest, Some(format!("sha256:{}", sha(&chart))));
    assert_eq!(
        got.source,
        format!("oci://{}/charts/mychart:1.2.3", reg.host)
    );
    // The manifest digest, as skopeo (the oracle) sees the manifest.
    let raw = skopeo_raw(&[], &format!("{}/charts/mychart:1.2.3", reg.host));
    let manifest_digest = format!("sha256:{}", sha(&raw));
    assert_eq!(
        got.manifest_digest.as_deref(),
        Some(manifest_digest.as_str())
    );
    assert!(cache
        .path()
        .join(format!("charts/sha256/{}.tgz", sha(&chart)))
        .exists());
    // Pinned by manifest digest (`version@digest`, as Helm reads `chart:version@digest`).
    let pinned = format!("1.2.3@{manifest_digest}");
    let got = fetch_chart(&request(&repo, "mychart", &pinned), &opts).unwrap();
    assert_eq!(files(&got), &expected_files("mychart", "1.2.3"));
    assert_eq!(got.version, "1.2.3");
    assert_eq!(
        got.source,
        format!("oci://{}/charts/mychart:1.2.3@{manifest_digest}", reg.host)
    );
    let other = format!("1.2.3@sha256:{}", "0".repeat(64));
    let e = fetch_chart(&request(&repo, "mychart", &other), &opts).unwrap_err();
    assert!(matches!(*e.kind, FetchErrorKind::Invalid { .. }), "{e}");
    let e = fetch_chart(&request(&repo, "mychart", "^1@sha256:abc"), &opts).unwrap_err();
    assert!(matches!(*e.kind, FetchErrorKind::BadVersion { .. }), "{e}");

    let got = fetch_chart(&request(&repo, "mychart", "1.0.0+build.7"), &opts).unwrap();
    assert_eq!(files(&got), &expected_files("mychart", "1.0.0+build.7"));
    assert_eq!(got.version, "1.0.0+build.7");

    // Constraints: the registry's tags that are versions, highest match.
    let got = fetch_chart(&request(&repo, "mychart", "^1.0"), &opts).unwrap();
    assert_eq!(got.version, "1.2.3");
    assert_eq!(
        got.source,
        format!("oci://{}/charts/mychart:1.2.3", reg.host)
    );
    let got = fetch_chart(&request(&repo, "mychart", "~1.0"), &opts).unwrap();
    assert_eq!(got.version, "1.0.0+build.7");
    assert_eq!(files(&got), &expected_files("mychart", "1.0.0+build.7"));

    let e = fetch_chart(&request(&repo, "mychart", "3.0.0"), &opts).unwrap_err();
    assert!(matches!(*e.kind, FetchErrorKind::NotAChart { .. }), "{e}");
    assert!(e.to_string().contains(HELM_CONFIG), "{e}");

    let e = fetch_chart(&request(&repo, "mychart", "9.9.9"), &opts).unwrap_err();
    match &*e.kind {
        FetchErrorKind::NoVersion { available } => {
            assert!(
                available.contains("1.2.3") && available.contains("1.0.0+build.7"),
                "{available}"
            )
        }
        other => panic!("{other:?}"),
    }
    let e = fetch_chart(&request(&repo, "nochart", "1.2.3"), &opts).unwrap_err();
    assert!(matches!(*e.kind, FetchErrorKind::NoChart { .. }), "{e}");

    // Offline: the cache answers with the registry stopped.
    drop(reg);
    let offline = FetchOptions {
        offline: true,
        ..opts.clone()
    };
    let got = fetch_chart(&request(&repo, "mychart", "1.2.3"), &offline).unwrap();
    assert_eq!(files(&got), &expected_files("mychart", "1.2.3"));
    assert_eq!(got.digest, Some(format!("sha256:{}", sha(&chart))));
    assert_eq!(
        got.manifest_digest.as_deref(),
        Some(manifest_digest.as_str())
    );
    let e = fetch_chart(&request(&repo, "mychart", "4.5.6"), &offline).unwrap_err();
    assert!(e.to_string().contains("not in the cache (offline)"), "{e}");
    // Online with the registry gone: a network error naming the chart, after retries.
    let e = fetch_chart(&request(&repo, "mychart", "1.2.3"), &opts).unwrap_err();
    assert!(e.is_network(), "{e:?}");
    assert!(e.to_string().contains("mychart") && e.to_string().contains("1.2.3"));
}

#[test]
fn oci_layer_digest_and_shape_are_checked() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let reg = Registry::start(None);
    let mut layout = Layout::new();
    let config = br#"{"apiVersion":"v2","name":"mychart","version":"1.0.0"}"#;
    let a = pack("mychart", "1.0.0");
    let b = pack("mychart", "1.0.1");
    artifact(
        &mut layout,
        "4.0.0",
        HELM_CONFIG,
        config,
        &[(&a, HELM_LAYER), (&b, HELM_LAYER)],
    );
    push(&layout, &reg, "4.0.0", "charts/mychart", None);
    artifact(
        &mut layout,
        "4.0.1",
        HELM_CONFIG,
        config,
        &[(b"x", "application/octet-stream")],
    );
    push(&layout, &reg, "4.0.1", "charts/mychart", None);
    let cache = tempfile::tempdir().unwrap();
    let opts = FetchOptions {
        insecure_registries: vec![reg.host.clone()],
        ..options(cache.path())
    };
    let repo = format!("oci://{}/charts", reg.host);
    for tag in ["4.0.0", "4.0.1"] {
        let e = fetch_chart(&request(&repo, "mychart", tag), &opts).unwrap_err();
        assert!(
            matches!(*e.kind, FetchErrorKind::NotAChart { .. }),
            "{tag}: {e}"
        );
    }
    // The layer limit is checked against the manifest before downloading.
    artifact(
        &mut layout,
        "4.0.2",
        HELM_CONFIG,
        config,
        &[(&a, HELM_LAYER)],
    );
    push(&layout, &reg, "4.0.2", "charts/mychart", None);
    let tiny = FetchOptions {
        limits: imagebom_helm::archive::ArchiveLimits {
            max_compressed: 10,
            ..Default::default()
        },
        ..opts.clone()
    };
    let e = fetch_chart(&request(&repo, "mychart", "4.0.2"), &tiny).unwrap_err();
    assert!(
        matches!(*e.kind, FetchErrorKind::TooLarge { limit: 10, .. }),
        "{e}"
    );
    let got = fetch_chart(&request(&repo, "mychart", "4.0.2"), &opts).unwrap();
    assert_eq!(files(&got), &expected_files("mychart", "1.0.0"));
}

/// `chart-user:chart-secret`, bcrypt-hashed (cost 4) for docker-registry's htpasswd.
const CHILD_ENV: &str = "IMAGEBOM_TEST_OCI_AUTH";

/// Credentials come from the Docker config (`$DOCKER_CONFIG/config.json`), read by the same
/// code as image resolution. The fetch runs in a child process of this test binary so that
/// its environment is its own.
#[test]
fn oci_credentials_from_the_docker_config() {
    if !imagebom_testkit::ready(NEEDS) {
        return;
    }
    let reg = Registry::start(Some(HTPASSWD));
    let mut layout = Layout::new();
    let chart = pack("private", "0.1.0");
    let config = br#"{"apiVersion":"v2","name":"private","version":"0.1.0"}"#;
    artifact(
        &mut layout,
        "0.1.0",
        HELM_CONFIG,
        config,
        &[(&chart, HELM_LAYER)],
    );
    push(
        &layout,
        &reg,
        "0.1.0",
        "secure/private",
        Some("chart-user:chart-secret"),
    );
    let home = tempfile::tempdir().unwrap();
    let run = |auth: Option<&str>, expect: &str| {
        let docker = home.path().join(expect);
        std::fs::create_dir_all(&docker).unwrap();
        let auths = match auth {
            Some(a) => serde_json::json!({"auths": {reg.host.clone(): {"auth": a}}}),
            None => serde_json::json!({"auths": {}}),
        };
        std::fs::write(docker.join("config.json"), auths.to_string()).unwrap();
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "oci_auth_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(
                CHILD_ENV,
                format!("{}|{}|{expect}", reg.host, docker.join("cache").display()),
            )
            .env("DOCKER_CONFIG", &docker)
            .env("HOME", home.path())
            .env_remove("REGISTRY_AUTH_FILE")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("test oci_auth_child ... ok"),
            "child ({expect}) failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // base64("chart-user:chart-secret")
    run(Some("Y2hhcnQtdXNlcjpjaGFydC1zZWNyZXQ="), "ok");
    // base64("chart-user:wrong")
    run(Some("Y2hhcnQtdXNlcjp3cm9uZw=="), "denied");
    run(None, "denied");
}

/// The child half of [`oci_credentials_from_the_docker_config`]; fails when run on its own.
#[test]
#[ignore = "run by oci_credentials_from_the_docker_config in a child process"]
fn oci_auth_child() {
    let spec = std::env::var(CHILD_ENV).expect("run by oci_credentials_from_the_docker_config");
    let [host, cache, expect] = spec.split('|').collect::<Vec<_>>()[..] else {
        panic!("bad {CHILD_ENV}: {spec}")
    };
    let opts = FetchOptions {
        insecure_registries: vec![host.to_string()],
        retries: 0,
        ..options(Path::new(cache))
    };
    let r = fetch_chart(
        &request(&format!("oci://{host}/secure"), "private", "0.1.0"),
        &opts,
    );
    match (expect, r) {
        ("ok", Ok(f)) => assert_eq!(files(&f), &expected_files("private", "0.1.0")),
        ("denied", Err(e)) => {
            assert!(matches!(*e.kind, FetchErrorKind::Denied { .. }), "{e:?}");
            let msg = e.to_string();
            assert!(
                !msg.contains("chart-secret") && !msg.contains("Y2hhcnQ"),
                "{msg}"
            );
        }
        (expect, r) => panic!("expected {expect}, got {r:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Chart mirrors for fetched dependencies

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A parent chart directory whose dependency `dep` (`version`) lives at `repository`.
fn parent_chart(dir: &Path, repository: &str, version: &str) -> PathBuf {
    let parent = dir.join("parent");
    std::fs::create_dir_all(parent.join("templates")).unwrap();
    std::fs::write(
        parent.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: parent\nversion: 1.0.0\ndependencies:\n  - name: dep\n    version: \"{version}\"\n    repository: {repository}\n"
        ),
    )
    .unwrap();
    parent
}

#[test]
fn a_dependency_comes_from_its_mirror_and_keeps_its_canonical_source() {
    let d = tempfile::tempdir().unwrap();
    // Nothing listens there: only the mirror can serve the dependency.
    let canonical = format!("http://127.0.0.1:{}/charts", free_port());
    let parent = parent_chart(d.path(), &canonical, "^1.0.0");
    let mirror = d.path().join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    // The highest version the constraint allows is chosen (without a lock).
    let tgz = pack("dep", "1.2.0");
    std::fs::write(mirror.join("dep-1.2.0.tgz"), &tgz).unwrap();
    std::fs::write(mirror.join("dep-1.0.0.tgz"), pack("dep", "1.0.0")).unwrap();
    std::fs::write(mirror.join("dep-2.0.0.tgz"), pack("dep", "2.0.0")).unwrap();
    let fetched = fetch_chart(
        &request(parent.to_str().unwrap(), "parent", ""),
        &options(&d.path().join("cache")),
    )
    .unwrap();
    let mirrored = |target: &Path| FetchOptions {
        retries: 0,
        mirrors: vec![ChartMirror {
            source: canonical.clone(),
            target: target.display().to_string(),
            base_dir: PathBuf::from("."),
        }],
        ..options(&d.path().join("cache"))
    };
    // Without the mirror the canonical repository is asked, and it is not there.
    let unmirrored = FetchOptions {
        retries: 0,
        ..options(&d.path().join("cache"))
    };
    let e = load_chart(&fetched, &unmirrored).unwrap_err();
    assert!(e.is_network(), "{e}");
    let loaded = load_chart(&fetched, &mirrored(&mirror)).unwrap();
    assert_eq!(loaded.fetched.len(), 1);
    let dep = &loaded.fetched[0];
    assert_eq!(dep.version, "1.2.0");
    assert_eq!(dep.digest, Some(format!("sha256:{}", sha(&tgz))));
    assert_eq!(dep.source, format!("{canonical}/dep"));
    assert_eq!(loaded.chart.dependencies[0].metadata.version, "1.2.0");
    // A mirror without the chart names what it looked for.
    let empty = d.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = load_chart(&fetched, &mirrored(&empty))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("dependency \"dep\": chart mirror")
            && e.contains("dep-<version>.tgz satisfying ^1.0.0"),
        "{e}"
    );
    // A mirror folder holding another version is refused, naming both.
    let other = d.path().join("other/dep");
    std::fs::create_dir_all(&other).unwrap();
    for (path, data) in chart_files("dep", "2.0.0") {
        let p = other.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let e = load_chart(&fetched, &mirrored(&d.path().join("other")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("serves dep version 2.0.0, not ^1.0.0 (the constraint)"),
        "{e}"
    );
}
