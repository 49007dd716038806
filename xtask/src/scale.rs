//! `cargo xtask scale [--images N]... [--components C] [-- EXTRA_GENERATE_ARGS...]`: the
//! end-to-end benchmark at scale.
//!
//! Starts Debian's `docker-registry` on loopback (storage and logs in `target/scale/`), fills
//! it through the Distribution HTTP API with distinct images — half single OCI manifests,
//! half multi-platform indexes (linux/amd64 + linux/arm64/v8) — then, for each size, writes a
//! synthetic recipe of C components (default 200) over the first N images: in-tree manifests
//! of every workload kind (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod),
//! custom resources with `image:` strings and `repository`/`image`/`version` triplets, and
//! env values that repeat an image. It runs the release `imagebom generate --resolve
//! --insecure-registry …` with an empty cache under `/usr/bin/time -v` and prints wall time,
//! peak RSS and registry requests per image (from the registry's access log), checking that
//! every image came out resolved. Sizes default to 500, 1,000, 2,000 and 5,000.
//!
//! The registry is filled with plain HTTP/1.1 over keep-alive connections from a few
//! threads (blobs uploaded once, cross-mounted into every repository), which is far faster
//! than one `skopeo copy` per image.

use anyhow::{bail, Context, Result};
use sha2::{Digest as _, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
const TAGS_PER_REPO: usize = 5;
const FILL_THREADS: usize = 8;
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

struct Options {
    sizes: Vec<usize>,
    components: usize,
    slices: usize,
    extra: Vec<String>,
}

fn parse_args(args: &[String]) -> Result<Options> {
    let mut o = Options {
        sizes: Vec::new(),
        components: 200,
        slices: 4,
        extra: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--images" => o.sizes.push(
                it.next()
                    .context("--images needs a number")?
                    .replace([',', '_'], "")
                    .parse()
                    .context("--images")?,
            ),
            "--components" => {
                o.components = it
                    .next()
                    .context("--components needs a number")?
                    .parse()
                    .context("--components")?
            }
            "--slices" => {
                o.slices = it
                    .next()
                    .context("--slices needs a number")?
                    .parse()
                    .context("--slices")?
            }
            "--" => o.extra.extend(it.by_ref().cloned()),
            other => bail!("unknown argument {other:?}: cargo xtask scale [--images N]... [--components C] [--slices K] [-- GENERATE_ARGS...]"),
        }
    }
    if o.sizes.is_empty() {
        o.sizes = vec![500, 1_000, 2_000, 5_000];
    }
    if o.components == 0 {
        bail!("--components must be at least 1");
    }
    Ok(o)
}

/// Runs the benchmark.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let opts = parse_args(args)?;
    if !Path::new(REGISTRY_BIN).exists() {
        bail!("{REGISTRY_BIN} is not installed (apt-get install docker-registry)");
    }
    crate::build_release(root)?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("release/imagebom");
    let base = target.join("scale");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base)?;
    let registry = Registry::start(&base.join("registry"))?;
    let host = registry.host.clone();
    let max = *opts.sizes.iter().max().unwrap_or(&0);
    let images: Vec<Image> = (0..max).map(|i| Image::new(i, opts.components)).collect();
    let t = Instant::now();
    let requests = fill(&host, &images)?;
    println!(
        "filled {host} with {max} images ({} indexes) in {:.1} s ({requests} requests)",
        images.iter().filter(|i| i.index).count(),
        t.elapsed().as_secs_f64()
    );
    let charts = renders_charts(&bin, &base);
    println!(
        "charts: {}",
        if charts {
            "every fourth component is a chart with a subchart"
        } else {
            "this build does not render charts yet: in-tree manifests only"
        }
    );
    let mut rows = Vec::new();
    for &n in &opts.sizes {
        let dir = base.join(format!("n{n}"));
        write_recipe(
            &dir,
            &host,
            &images[..n],
            opts.components,
            charts,
            opts.slices,
        )?;
        let before = registry.requests()?;
        let m = measure(&bin, &dir, "recipe", &host, &opts.extra)?;
        let requests = registry.requests()? - before;
        check_outputs(&dir, n)?;
        println!(
            "{n:>6} images: {:>6.2} s wall, {:>5} MB peak RSS, {:.2} requests/image ({requests} requests)",
            m.wall.as_secs_f64(),
            m.max_rss_kb / 1024,
            requests as f64 / n as f64
        );
        rows.push((n, m, requests));
    }
    println!("\n| images | components | wall time | peak RSS | registry requests per image |");
    println!("|---:|---:|---:|---:|---:|");
    for (n, m, requests) in &rows {
        println!(
            "| {n} | {} | {:.2} s | {} MB | {:.3} |",
            opts.components.min(*n),
            m.wall.as_secs_f64(),
            m.max_rss_kb / 1024,
            *requests as f64 / *n as f64
        );
    }
    if opts.slices > 1 {
        split_and_merge(&bin, &base.join(format!("n{max}")), &host, &opts, max)?;
    }
    drop(registry);
    Ok(())
}

/// The largest recipe again as `--slices` recipe slices (as separate CI jobs would run
/// them), then `imagebom merge` of their BOMs, compared with the single run's.
fn split_and_merge(bin: &Path, dir: &Path, host: &str, opts: &Options, n: usize) -> Result<()> {
    let mut slowest = Duration::ZERO;
    let mut total = Duration::ZERO;
    let mut rss = 0;
    let mut k = 0;
    while dir.join(format!("slice-{k}.yaml")).exists() {
        let m = measure(bin, dir, &format!("slice-{k}"), host, &opts.extra)?;
        slowest = slowest.max(m.wall);
        total += m.wall;
        rss = rss.max(m.max_rss_kb);
        k += 1;
    }
    let mut same = Vec::new();
    let t = Instant::now();
    for f in ["bom.cdx.json", "bom.spdx.json"] {
        let merged = dir.join(format!("merged-{f}"));
        let status = Command::new(bin)
            .args(["-q", "merge"])
            .arg(&merged)
            .args((0..k).map(|i| dir.join(format!("out-slice-{i}/{f}"))))
            .status()?;
        if !status.success() {
            bail!("imagebom merge of {f} failed");
        }
        same.push((
            f,
            std::fs::read(&merged)? == std::fs::read(dir.join("out").join(f))?,
        ));
    }
    let merge_time = t.elapsed();
    check_bom(&dir.join("merged-bom.cdx.json"), n)?;
    println!(
        "\n{n} images as {k} slices: slowest slice {:.2} s, all slices {:.2} s, peak RSS {} MB; merge (both formats) {:.2} s",
        slowest.as_secs_f64(),
        total.as_secs_f64(),
        rss / 1024,
        merge_time.as_secs_f64()
    );
    for (f, same) in same {
        println!(
            "merged {f} is {}byte-identical to the single run's",
            if same { "" } else { "NOT " }
        );
    }
    Ok(())
}

/// One synthetic image: `HOST/scale/cCCC/rR:vT`.
struct Image {
    i: usize,
    component: usize,
    repo: String,
    tag: String,
    index: bool,
}

impl Image {
    fn new(i: usize, components: usize) -> Image {
        let component = i % components;
        let k = i / components;
        Image {
            i,
            component,
            repo: format!("scale/c{component:03}/r{}", k / TAGS_PER_REPO),
            tag: format!("v{}", k % TAGS_PER_REPO),
            index: i.is_multiple_of(2),
        }
    }

    fn reference(&self, host: &str) -> String {
        format!("{host}/{}:{}", self.repo, self.tag)
    }
}

// --- the registry -------------------------------------------------------------------------

struct Registry {
    host: String,
    proc: Child,
    access_log: PathBuf,
}

impl Registry {
    fn start(dir: &Path) -> Result<Registry> {
        std::fs::create_dir_all(dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let host = format!("127.0.0.1:{port}");
        let config = serde_json::json!({
            "version": 0.1,
            "log": {"level": "error"},
            "storage": {"filesystem": {"rootdirectory": dir.join("data")}},
            "http": {"addr": host},
        });
        std::fs::write(dir.join("config.yml"), config.to_string())?;
        let access_log = dir.join("access.log");
        let proc = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdout(std::fs::File::create(&access_log)?)
            .stderr(std::fs::File::create(dir.join("registry.log"))?)
            .spawn()
            .context("starting docker-registry")?;
        let r = Registry {
            host,
            proc,
            access_log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut c) = Conn::open(&r.host) {
                if c.request("GET", "/v2/", &[], &[])?.0 == 200 {
                    return Ok(r);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("docker-registry did not start; see {}", dir.display())
    }

    /// Requests served so far (lines of the access log).
    fn requests(&self) -> Result<usize> {
        // The registry writes the access log line after the response: let it settle.
        std::thread::sleep(Duration::from_millis(300));
        let text = std::fs::read_to_string(&self.access_log)?;
        Ok(text
            .lines()
            .filter(|l| l.contains("\"GET /v2/") || l.contains("\"HEAD /v2/"))
            .count())
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.proc.kill();
        let _ = self.proc.wait();
    }
}

/// A keep-alive HTTP/1.1 connection (enough of the protocol for the registry API).
struct Conn {
    host: String,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(host: &str) -> std::io::Result<Conn> {
        let s = TcpStream::connect(host)?;
        s.set_nodelay(true)?;
        Ok(Conn {
            host: host.to_string(),
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        })
    }

    /// Sends a request; returns the status, the `Location` header and the body.
    fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, Option<String>, Vec<u8>)> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        self.writer.write_all(head.as_bytes())?;
        self.writer.write_all(body)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let (mut length, mut chunked, mut location) = (0usize, false, None);
        loop {
            let mut h = String::new();
            if self.reader.read_line(&mut h)? == 0 || h == "\r\n" {
                break;
            }
            let (k, v) = h.split_once(':').unwrap_or((&h, ""));
            let v = v.trim();
            match k.to_ascii_lowercase().as_str() {
                "content-length" => length = v.parse().unwrap_or(0),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "location" => location = Some(v.to_string()),
                _ => {}
            }
        }
        let mut out = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size)?;
                let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                self.reader.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&chunk[..n]);
            }
        } else if method != "HEAD" {
            out.resize(length, 0);
            self.reader.read_exact(&mut out)?;
        }
        Ok((status, location, out))
    }

    fn expect(
        &mut self,
        want: u16,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Option<String>> {
        let (status, location, resp) = self.request(method, path, headers, body)?;
        if status != want {
            bail!(
                "{method} {path}: HTTP {status} (expected {want}): {}",
                String::from_utf8_lossy(&resp)
            );
        }
        Ok(location)
    }
}

fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

fn descriptor(media_type: &str, body: &[u8]) -> serde_json::Value {
    serde_json::json!({"mediaType": media_type, "digest": sha256(body), "size": body.len()})
}

/// The shared blobs: one layer and an image config per architecture.
struct Blobs {
    layer: Vec<u8>,
    amd64: Vec<u8>,
    arm64: Vec<u8>,
}

impl Blobs {
    fn new() -> Blobs {
        let layer = b"imagebom scale benchmark layer\n".to_vec();
        let config = |arch: &str| {
            serde_json::json!({
                "architecture": arch, "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]},
                "config": {}
            })
            .to_string()
            .into_bytes()
        };
        Blobs {
            amd64: config("amd64"),
            arm64: config("arm64"),
            layer: layer.clone(),
        }
    }

    fn all(&self) -> [&[u8]; 3] {
        [&self.layer, &self.amd64, &self.arm64]
    }

    /// A distinct image manifest for `arch` (annotations make each one unique).
    fn manifest(&self, arch: &str, image: &Image) -> Vec<u8> {
        let config = if arch == "arm64" {
            &self.arm64
        } else {
            &self.amd64
        };
        serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor("application/vnd.oci.image.config.v1+json", config),
            "layers": [descriptor("application/vnd.oci.image.layer.v1.tar+gzip", &self.layer)],
            "annotations": {"dev.imagebom.scale.image": image.i.to_string(), "dev.imagebom.scale.arch": arch}
        })
        .to_string()
        .into_bytes()
    }
}

/// Pushes every image; returns the number of requests made.
fn fill(host: &str, images: &[Image]) -> Result<usize> {
    let blobs = Blobs::new();
    let mut c = Conn::open(host)?;
    let source = "scale/base";
    for b in blobs.all() {
        let loc = c
            .expect(
                202,
                "POST",
                &format!("/v2/{source}/blobs/uploads/"),
                &[],
                &[],
            )?
            .context("no upload location")?;
        let loc = loc
            .strip_prefix(&format!("http://{host}"))
            .unwrap_or(&loc)
            .to_string();
        let sep = if loc.contains('?') { '&' } else { '?' };
        c.expect(
            201,
            "PUT",
            &format!("{loc}{sep}digest={}", sha256(b)),
            &[("Content-Type", "application/octet-stream")],
            b,
        )?;
    }
    // Group by repository: blobs are mounted once per repository.
    let mut repos: std::collections::BTreeMap<&str, Vec<&Image>> = Default::default();
    for im in images {
        repos.entry(im.repo.as_str()).or_default().push(im);
    }
    let repos: Vec<(&str, Vec<&Image>)> = repos.into_iter().collect();
    let next = AtomicUsize::new(0);
    let count = AtomicUsize::new(6);
    std::thread::scope(|s| -> Result<()> {
        let workers: Vec<_> = (0..FILL_THREADS)
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    let mut c = Conn::open(host)?;
                    let mut n = 0;
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some((repo, ims)) = repos.get(k) else {
                            break;
                        };
                        for b in blobs.all() {
                            c.expect(
                                201,
                                "POST",
                                &format!(
                                    "/v2/{repo}/blobs/uploads/?mount={}&from={source}",
                                    sha256(b)
                                ),
                                &[],
                                &[],
                            )?;
                            n += 1;
                        }
                        for im in ims {
                            n += push_image(&mut c, &blobs, im)?;
                        }
                    }
                    count.fetch_add(n, Ordering::Relaxed);
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("fill thread panicked"))??;
        }
        Ok(())
    })?;
    Ok(count.into_inner())
}

/// Pushes one image (an index pushes its two platform manifests first); returns requests.
fn push_image(c: &mut Conn, blobs: &Blobs, im: &Image) -> Result<usize> {
    let put = |c: &mut Conn, reference: &str, media_type: &str, body: &[u8]| {
        c.expect(
            201,
            "PUT",
            &format!("/v2/{}/manifests/{reference}", im.repo),
            &[("Content-Type", media_type)],
            body,
        )
    };
    if !im.index {
        put(c, &im.tag, OCI_MANIFEST, &blobs.manifest("amd64", im))?;
        return Ok(1);
    }
    let mut entries = Vec::new();
    for (arch, variant) in [("amd64", None), ("arm64", Some("v8"))] {
        let m = blobs.manifest(arch, im);
        put(c, &sha256(&m), OCI_MANIFEST, &m)?;
        let mut d = descriptor(OCI_MANIFEST, &m);
        let mut platform = serde_json::json!({"os": "linux", "architecture": arch});
        if let Some(v) = variant {
            platform["variant"] = v.into();
        }
        d["platform"] = platform;
        entries.push(d);
    }
    let index =
        serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
            .to_string()
            .into_bytes();
    put(c, &im.tag, OCI_INDEX, &index)?;
    Ok(3)
}

// --- the recipe ---------------------------------------------------------------------------

const WORKLOADS: [&str; 7] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "Pod",
];

/// Writes `dir/recipe.yaml` and its manifests for `images` spread over `components`; with
/// `charts`, every fourth component is a chart with a subchart instead.
fn write_recipe(
    dir: &Path,
    host: &str,
    images: &[Image],
    components: usize,
    charts: bool,
    slices: usize,
) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    let mut entries = Vec::new();
    let header = format!(
        "apiVersion: imagebom.dev/v1alpha1\nkind: Recipe\nmetadata:\n  name: scale\n  version: {}.0.0\n  description: synthetic recipe of {} images (cargo xtask scale)\ncomponents:\n",
        images.len(),
        images.len()
    );
    for c in 0..components.min(images.len()) {
        let mine: Vec<&Image> = images.iter().filter(|i| i.component == c).collect();
        if charts && c.is_multiple_of(4) {
            write_chart(&dir.join(format!("charts/c{c:03}")), c, host, &mine)?;
            entries.push(format!(
                "  - name: c{c:03}\n    displayName: Component {c}\n    namespace: ns-{c:03}\n    helm: {{repository: ./charts/c{c:03}, chart: c{c:03}, version: 1.0.0, values: {{global: {{pullPolicy: IfNotPresent}}}}}}\n"
            ));
            continue;
        }
        let cdir = dir.join(format!("manifests/c{c:03}"));
        std::fs::create_dir_all(&cdir)?;
        let (mut workloads, mut crs) = (String::new(), String::new());
        for (j, im) in mine.iter().enumerate() {
            let r = im.reference(host);
            let name = format!("w{j}");
            match (j + c) % 9 {
                k @ 0..=6 => workloads.push_str(&workload(WORKLOADS[k], &name, &r)),
                7 => crs.push_str(&format!(
                    "---\n# Source: c{c:03}/templates/engine.yaml\napiVersion: scale.imagebom.dev/v1\nkind: Engine\nmetadata:\n  name: {name}\nspec:\n  engine:\n    repository: {host}/{}\n    image: {}\n    version: {}\n",
                    im.repo.rsplit_once('/').map(|x| x.0).unwrap_or(""),
                    im.repo.rsplit('/').next().unwrap_or(""),
                    im.tag
                )),
                _ => crs.push_str(&format!(
                    "---\napiVersion: scale.imagebom.dev/v1\nkind: Agent\nmetadata:\n  name: {name}\nspec:\n  image: {r}\n  replicas: 1\n"
                )),
            }
        }
        std::fs::write(cdir.join("workloads.yaml"), workloads)?;
        let mut globs = "[manifests/c".to_string() + &format!("{c:03}/workloads.yaml");
        if !crs.is_empty() {
            std::fs::write(cdir.join("crs.yaml"), crs)?;
            globs.push_str(&format!(", manifests/c{c:03}/crs.yaml"));
        }
        globs.push(']');
        entries.push(format!(
            "  - name: c{c:03}\n    displayName: Component {c}\n    namespace: ns-{c:03}\n    manifests: {globs}\n"
        ));
    }
    std::fs::write(dir.join("recipe.yaml"), header.clone() + &entries.concat())?;
    // Slices: the same metadata, consecutive runs of components.
    let per = entries.len().div_ceil(slices.max(1)).max(1);
    for (k, chunk) in entries.chunks(per).enumerate() {
        std::fs::write(
            dir.join(format!("slice-{k}.yaml")),
            header.clone() + &chunk.concat(),
        )?;
    }
    Ok(())
}

/// A chart `cCCC` 1.0.0 with a subchart `sub` in `charts/`: the parent's values list half
/// the images, rendered as Deployments through a `range` and an `include`d helper; the
/// subchart's values the other half, rendered as StatefulSets.
fn write_chart(dir: &Path, c: usize, host: &str, images: &[&Image]) -> Result<()> {
    let (a, b) = images.split_at(images.len().div_ceil(2));
    let values = |ims: &[&Image]| -> String {
        let mut v = String::from("images:\n");
        for im in ims {
            v.push_str(&format!(
                "  - repository: {host}/{}\n    tag: \"{}\"\n",
                im.repo, im.tag
            ));
        }
        if ims.is_empty() {
            v = "images: []\n".into();
        }
        v
    };
    let template = |kind: &str| {
        format!(
            "{{{{- range $i, $img := .Values.images }}}}\n---\napiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {{{{ include \"name\" $ }}}}-{{{{ $i }}}}\nspec:\n  selector:\n    matchLabels: {{app: {{{{ include \"name\" $ }}}}}}\n  template:\n    spec:\n      containers:\n      - name: main\n        image: \"{{{{ $img.repository }}}}:{{{{ $img.tag }}}}\"\n        imagePullPolicy: {{{{ $.Values.global.pullPolicy | default \"Always\" }}}}\n{{{{- end }}}}\n"
        )
    };
    let helpers =
        "{{- define \"name\" -}}{{ .Release.Name }}-{{ .Chart.Name | trunc 40 }}{{- end }}\n";
    let files = [
        (
            "Chart.yaml".to_string(),
            format!("apiVersion: v2\nname: c{c:03}\nversion: 1.0.0\n"),
        ),
        ("values.yaml".into(), values(a)),
        ("templates/_helpers.tpl".into(), helpers.into()),
        ("templates/workloads.yaml".into(), template("Deployment")),
        (
            "charts/sub/Chart.yaml".into(),
            "apiVersion: v2\nname: sub\nversion: 1.0.0\n".into(),
        ),
        ("charts/sub/values.yaml".into(), values(b)),
        ("charts/sub/templates/_helpers.tpl".into(), helpers.into()),
        (
            "charts/sub/templates/workloads.yaml".into(),
            template("StatefulSet"),
        ),
    ];
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap_or(dir))?;
        std::fs::write(p, text)?;
    }
    Ok(())
}

/// Whether this build renders charts: a one-chart recipe through `generate`.
fn renders_charts(bin: &Path, base: &Path) -> bool {
    let dir = base.join("probe");
    let im = Image::new(0, 1);
    if write_recipe(
        &dir,
        "localhost:5000",
        std::slice::from_ref(&im),
        1,
        true,
        1,
    )
    .is_err()
    {
        return false;
    }
    Command::new(bin)
        .args(["-q", "generate", "--recipe"])
        .arg(dir.join("recipe.yaml"))
        .arg("--out")
        .arg(dir.join("out"))
        .env("SOURCE_DATE_EPOCH", "1764000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// One workload of `kind` running `image`, with the image repeated in an env value.
fn workload(kind: &str, name: &str, image: &str) -> String {
    let pod = format!(
        "containers:\n- name: main\n  image: {image}\n  args: [\"--port=8080\", \"--verbose\"]\n  env:\n  - name: SELF_IMAGE\n    value: {image}\n  - name: MODE\n    value: fast\n"
    );
    let indent = |s: &str, n: usize| -> String {
        s.lines()
            .map(|l| format!("{}{l}\n", " ".repeat(n)))
            .collect()
    };
    let (api, spec) = match kind {
        "Pod" => ("v1", format!("spec:\n{}", indent(&pod, 2))),
        "Job" => (
            "batch/v1",
            format!("spec:\n  template:\n    spec:\n      restartPolicy: Never\n{}", indent(&pod, 6)),
        ),
        "CronJob" => (
            "batch/v1",
            format!(
                "spec:\n  schedule: \"0 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n{}",
                indent(&pod, 10)
            ),
        ),
        _ => (
            "apps/v1",
            format!(
                "spec:\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n{}",
                indent(&pod, 6)
            ),
        ),
    };
    format!("---\n# Source: chart/templates/{name}.yaml\napiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n{spec}")
}

// --- the measurement -----------------------------------------------------------------------

struct Measured {
    wall: Duration,
    max_rss_kb: u64,
}

/// Runs `generate --resolve` on `dir/NAME.yaml` into `dir/out[-NAME]` with an empty cache
/// (and, for a slice, its own lock `dir/NAME.lock`).
fn measure(bin: &Path, dir: &Path, name: &str, host: &str, extra: &[String]) -> Result<Measured> {
    let suffix = if name == "recipe" {
        String::new()
    } else {
        format!("-{name}")
    };
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-v")
        .arg(bin)
        .args(["-q", "generate", "--recipe"])
        .arg(dir.join(format!("{name}.yaml")))
        .arg("--out")
        .arg(dir.join(format!("out{suffix}")))
        .args(["--resolve", "--insecure-registry", host, "--cache-dir"])
        .arg(dir.join(format!("cache{suffix}")));
    if name != "recipe" {
        cmd.arg("--lock").arg(dir.join(format!("{name}.lock")));
    }
    let t = Instant::now();
    let out = cmd
        .args(extra)
        .env("SOURCE_DATE_EPOCH", "1764000000")
        .stdout(Stdio::null())
        .output()
        .context("running /usr/bin/time (apt-get install time)")?;
    let wall = t.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("imagebom generate failed in {}:\n{stderr}", dir.display());
    }
    let max_rss_kb = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .context("no maximum resident set size from /usr/bin/time")?;
    Ok(Measured { wall, max_rss_kb })
}

/// Every image is in the BOM with a digest, and the lock has them all from the registry.
fn check_outputs(dir: &Path, n: usize) -> Result<()> {
    check_bom(&dir.join("out/bom.cdx.json"), n)?;
    check_lock(dir, n)
}

/// The CycloneDX BOM at `path` has `n` container components, each with a digest.
fn check_bom(path: &Path, n: usize) -> Result<()> {
    let dir = path;
    let bom: serde_json::Value = serde_json::from_slice(&std::fs::read(path)?)?;
    let containers: Vec<&serde_json::Value> = bom["components"]
        .as_array()
        .context("no components")?
        .iter()
        .filter(|c| c["type"] == "container")
        .collect();
    let hashed = containers.iter().filter(|c| c["hashes"].is_array()).count();
    if containers.len() != n || hashed != n {
        bail!(
            "{}: {} container components, {hashed} with a digest; expected {n}",
            dir.display(),
            containers.len()
        );
    }
    Ok(())
}

/// The lock beside the recipe in `dir` has `n` registry entries, half of them indexes.
fn check_lock(dir: &Path, n: usize) -> Result<()> {
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("imagebom.lock"))?)?;
    let entries = lock["images"].as_object().context("lock has no images")?;
    let from_registry = entries
        .values()
        .filter(|e| e["source"] == "registry")
        .count();
    let indexes = entries
        .values()
        .filter(|e| e["platforms"].as_array().is_some_and(|p| p.len() == 2))
        .count();
    if from_registry != n || indexes != n.div_ceil(2) {
        bail!(
            "{}: lock has {from_registry} registry entries ({indexes} with two platforms); expected {n} ({})",
            dir.display(),
            n.div_ceil(2)
        );
    }
    Ok(())
}
