//! `cargo xtask bench-recipe [--bin PATH] [--latency-ms N]`: AICR's component registry end to
//! end, cold, against the same work done as AICR's `make bom` does it.
//!
//! Setup (not timed), in `$CARGO_TARGET_DIR/bench-recipe` (default `target/`):
//! - the registry of `$IMAGEBOM_AICR` (default `../shared/aicr`) without the components whose
//!   charts are not shipped in its `charts/` (the same `kind: ComponentRegistry` file, fewer
//!   entries, beside the same `components/`);
//! - each shipped chart packaged by the Helm SDK (`tests/bench/recipe_helm.py publish`): an HTTP
//!   chart repository per component (`.tgz` + `helm repo index`, served by `python3 -m
//!   http.server`) and a Helm OCI artefact pushed to a real `docker-registry`; a chart whose
//!   canonical repository is `https://` is read over HTTP, an `oci://` one from the registry;
//! - every tagged image imagebom finds, as a small synthetic image under its name (copied with
//!   skopeo from an OCI layout) in the same registry;
//! - two `latency-proxy` instances (this binary, [`crate::proxy`]) adding the latency (20 ms) to
//!   every request, one before the HTTP server, one before the registry; both count requests.
//!
//! Timed, each cold (empty chart and registry caches):
//! - imagebom: one `imagebom generate --resolve` with `--chart-mirror` to the proxied
//!   repositories and `--mirror` from each image registry to the proxied registry;
//! - AICR's way: per chart one Helm SDK process (`helm pull` + `helm template`, as `make bom`
//!   runs `helm template` per chart), one after another, then one `skopeo inspect` per image,
//!   one after another.
//!
//! Both resolve the same images; digest-pinned references cannot be served by a registry filled
//! here and fail on both sides alike. Reported: wall time, ratio, requests through the proxies,
//! peak memory (max RSS, GNU `/usr/bin/time`; for AICR's way the largest of its processes).

use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
const SKOPEO: &str = "/usr/bin/skopeo";
const GNU_TIME: &str = "/usr/bin/time";

/// A child process killed when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A chart of the registry that is shipped here.
struct Chart {
    component: String,
    /// Canonical repository (`https://…` or `oci://…`).
    repository: String,
    chart: String,
    version: String,
    namespace: String,
    values: Option<PathBuf>,
}

impl Chart {
    fn is_oci(&self) -> bool {
        self.repository.starts_with("oci://")
    }
}

struct Env {
    work: PathBuf,
    python: PathBuf,
    helper: PathBuf,
    /// `tests/` of the checkout (the registry helpers of the integration suite).
    tests: PathBuf,
    registry: PathBuf,
    charts: Vec<Chart>,
    /// Registry host (direct) and the two proxies.
    reg: String,
    http_proxy: String,
    reg_proxy: String,
    _children: Vec<Guard>,
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn wait_for(host: &str, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(host).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} did not start on {host}")
}

fn spawn(cmd: &mut Command, what: &str) -> Result<Guard> {
    Ok(Guard(
        cmd.spawn().with_context(|| format!("starting {what}"))?,
    ))
}

/// `latency-proxy UPSTREAM`: returns its host.
fn proxy(upstream: &str, latency_ms: u64, children: &mut Vec<Guard>) -> Result<String> {
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "latency-proxy",
            upstream,
            "--latency-ms",
            &latency_ms.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting latency-proxy")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("proxy stdout")?).read_line(&mut line)?;
    children.push(Guard(child));
    let host = line.trim().to_string();
    if host.is_empty() {
        bail!("latency-proxy did not start");
    }
    Ok(host)
}

/// Requests a proxy forwarded so far (its answer keeps the connection open: read by length).
fn requests(host: &str) -> Result<u64> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(host)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET /_proxy/requests HTTP/1.1\r\nHost: {host}\r\n\r\n")?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            bail!("latency-proxy closed before answering");
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.trim().parse().ok())
                .context("latency-proxy: no Content-Length")?;
            if body.len() >= len {
                return body[..len]
                    .trim()
                    .parse()
                    .with_context(|| format!("proxy count {body:?}"));
            }
        }
    }
}

fn yaml_str(v: &serde_yaml_ng::Value, k: &str) -> String {
    match &v[k] {
        serde_yaml_ng::Value::String(s) => s.clone(),
        serde_yaml_ng::Value::Null => String::new(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// Writes the registry without the components whose charts are not shipped; returns its path
/// and the shipped charts.
fn subset_registry(aicr: &Path, work: &Path) -> Result<(PathBuf, Vec<Chart>)> {
    let recipes = work.join("aicr/recipes");
    std::fs::create_dir_all(&recipes)?;
    let link = recipes.join("components");
    if !link.exists() {
        std::os::unix::fs::symlink(aicr.join("recipes/components"), &link)?;
    }
    let text = std::fs::read_to_string(aicr.join("recipes/registry.yaml"))?;
    let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text)?;
    let mut charts = Vec::new();
    let comps = doc["components"]
        .as_sequence_mut()
        .context("registry.yaml: no components")?;
    comps.retain(|c| {
        let name = yaml_str(c, "name");
        let repo = yaml_str(&c["helm"], "defaultRepository");
        if repo.trim().is_empty() {
            return true;
        }
        if !aicr.join("charts").join(&name).join("Chart.yaml").is_file() {
            return false;
        }
        let values = aicr
            .join("recipes/components")
            .join(&name)
            .join("values.yaml");
        let chart = yaml_str(&c["helm"], "defaultChart");
        charts.push(Chart {
            component: name,
            repository: repo.trim_end_matches('/').to_string(),
            chart: chart.rsplit('/').next().unwrap_or(&chart).to_string(),
            version: yaml_str(&c["helm"], "defaultVersion"),
            namespace: Some(yaml_str(&c["helm"], "defaultNamespace"))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "default".into()),
            values: values.is_file().then_some(values),
        });
        true
    });
    let path = recipes.join("registry.yaml");
    std::fs::write(&path, serde_yaml_ng::to_string(&doc)?)?;
    Ok((path, charts))
}

fn run_ok(cmd: &mut Command, what: &str) -> Result<std::process::Output> {
    let o = cmd.output().with_context(|| format!("{what}: {cmd:?}"))?;
    if !o.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    Ok(o)
}

/// `$IMAGEBOM_AICR`, else `../shared/aicr`.
fn aicr_dir(root: &Path) -> PathBuf {
    std::env::var_os("IMAGEBOM_AICR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/aicr"))
}

fn setup(root: &Path, aicr: &Path, latency_ms: u64) -> Result<Env> {
    if !aicr.join("recipes/registry.yaml").is_file() {
        bail!("{}: AICR's recipes are missing", aicr.display());
    }
    for p in [REGISTRY_BIN, SKOPEO, GNU_TIME] {
        if !Path::new(p).exists() {
            bail!("{p} is missing (apt-get install docker-registry skopeo time)");
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let work = target.join("bench-recipe");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let (registry, charts) = subset_registry(aicr, &work)?;
    let mut children = Vec::new();
    let reg = format!("127.0.0.1:{}", free_port()?);
    let config = serde_json::json!({
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": true}},
        "storage": {"filesystem": {"rootdirectory": work.join("registry")}},
        "http": {"addr": reg},
    });
    std::fs::write(work.join("registry.yml"), config.to_string())?;
    children.push(spawn(
        Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(work.join("registry.yml"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(work.join("registry.log"))?),
        "docker-registry",
    )?);
    wait_for(&reg, "docker-registry")?;
    let http = format!("127.0.0.1:{}", free_port()?);
    std::fs::create_dir_all(work.join("http"))?;
    children.push(spawn(
        Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(http.rsplit(':').next().unwrap_or_default())
            .arg("--directory")
            .arg(work.join("http"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        "python3 -m http.server",
    )?);
    wait_for(&http, "http.server")?;
    let http_proxy = proxy(&http, latency_ms, &mut children)?;
    let reg_proxy = proxy(&reg, latency_ms, &mut children)?;
    Ok(Env {
        python: root.join(".venv/bin/python"),
        helper: root.join("tests/bench/recipe_helm.py"),
        tests: root.join("tests"),
        work,
        registry,
        charts,
        reg,
        http_proxy,
        reg_proxy,
        _children: children,
    })
}

/// Publishes every shipped chart to its HTTP repository and the OCI registry.
fn publish(env: &Env, aicr_charts: &Path) -> Result<()> {
    for c in &env.charts {
        run_ok(
            Command::new(&env.python)
                .arg(&env.helper)
                .arg("publish")
                .arg(aicr_charts.join(&c.component))
                .arg(env.work.join("http").join(&c.component))
                .arg(format!("oci://{}/charts/{}", env.reg, c.component)),
            &format!("publishing {}", c.component),
        )?;
    }
    Ok(())
}

/// `--chart-mirror` flags: each chart to its proxied HTTP repository or OCI reference.
fn chart_mirrors(env: &Env) -> Vec<String> {
    env.charts
        .iter()
        .map(|c| {
            let target = if c.is_oci() {
                format!("oci://{}/charts/{}/{}", env.reg_proxy, c.component, c.chart)
            } else {
                format!("http://{}/{}/{}", env.http_proxy, c.component, c.chart)
            };
            format!("--chart-mirror={}/{}={target}", c.repository, c.chart)
        })
        .collect()
}

/// The images of the registry, from an untimed offline run on the local chart folders.
fn images(env: &Env, bin: &Path, aicr_charts: &Path) -> Result<Vec<String>> {
    let out = env.work.join("list");
    let mut cmd = Command::new(bin);
    cmd.args(["generate", "--offline", "--format", "cyclonedx", "--recipe"])
        .arg(&env.registry)
        .arg("--out")
        .arg(&out)
        .arg("--chart-cache")
        .arg(env.work.join("list-cache"));
    for c in &env.charts {
        cmd.arg(format!(
            "--chart-mirror={}/{}={}",
            c.repository,
            c.chart,
            aicr_charts.join(&c.component).display()
        ));
    }
    run_ok(&mut cmd, "listing the images")?;
    let bom: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("bom.cdx.json"))?)?;
    let mut refs = BTreeSet::new();
    for c in bom["components"].as_array().into_iter().flatten() {
        for p in c["properties"].as_array().into_iter().flatten() {
            if p["name"] == "imagebom:normalized" {
                refs.extend(p["value"].as_str().map(str::to_string));
            }
        }
    }
    Ok(refs.into_iter().collect())
}

/// `host/repo[:tag]` → (`repo`, `tag`), `None` for a digest-pinned reference.
fn repo_and_tag(r: &str) -> Option<(&str, &str)> {
    if r.contains('@') {
        return None;
    }
    let (_, path) = r.split_once('/')?;
    path.rsplit_once(':')
}

/// Copies one synthetic image under every tagged reference into the registry (direct).
fn fill(env: &Env, refs: &[String]) -> Result<usize> {
    let layout = env.work.join("layout");
    run_ok(
        Command::new(&env.python)
            .arg("-c")
            .arg(
                "import sys; sys.path.insert(0, sys.argv[2]); from registry import Layout; \
                 import pathlib; l = Layout(pathlib.Path(sys.argv[1])); \
                 l.tag(l.index([l.image('amd64'), l.image('arm64', 'v8')]), 'bench')",
            )
            .arg(&layout)
            .arg(env.tests.join("integration")),
        "writing the OCI layout",
    )?;
    let mut n = 0;
    for r in refs {
        let Some((repo, tag)) = repo_and_tag(r) else {
            continue;
        };
        run_ok(
            Command::new(SKOPEO)
                .args(["copy", "--all", "--quiet", "--dest-tls-verify=false"])
                .arg(format!("oci:{}:bench", layout.display()))
                .arg(format!("docker://{}/{repo}:{tag}", env.reg)),
            &format!("copying {r}"),
        )?;
        n += 1;
    }
    Ok(n)
}

/// One run's measures.
#[derive(Default)]
struct Measured {
    seconds: f64,
    requests: u64,
    rss_kb: u64,
    failures: usize,
}

/// Runs `cmd` under GNU time; returns success and its max RSS in KiB.
fn timed(cmd: &Command, rss_file: &Path) -> Result<(bool, u64, Vec<u8>)> {
    let mut c = Command::new(GNU_TIME);
    c.args(["-f", "%M", "-o"])
        .arg(rss_file)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    let o = c.output().with_context(|| format!("{c:?}"))?;
    let rss = std::fs::read_to_string(rss_file)
        .unwrap_or_default()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    Ok((o.status.success(), rss, o.stderr))
}

fn proxied(env: &Env) -> Result<u64> {
    Ok(requests(&env.http_proxy)? + requests(&env.reg_proxy)?)
}

fn bench_imagebom(env: &Env, bin: &Path, refs: &[String]) -> Result<Measured> {
    let mut cmd = Command::new(bin);
    cmd.args(["generate", "--resolve", "--allow-unresolved", "--quiet"])
        .arg("--recipe")
        .arg(&env.registry)
        .arg("--out")
        .arg(env.work.join("imagebom-out"))
        .arg("--lock")
        .arg(env.work.join("imagebom.lock"))
        .arg("--chart-cache")
        .arg(env.work.join("imagebom-charts"))
        .arg("--cache-dir")
        .arg(env.work.join("imagebom-cache"))
        .arg("--insecure-registry")
        .arg(&env.reg_proxy)
        .args(chart_mirrors(env));
    let hosts: BTreeSet<&str> = refs.iter().filter_map(|r| r.split('/').next()).collect();
    for h in hosts {
        cmd.arg(format!("--mirror={h}={}", env.reg_proxy));
    }
    let before = proxied(env)?;
    let t0 = Instant::now();
    let (ok, rss_kb, stderr) = timed(&cmd, &env.work.join("imagebom.rss"))?;
    let seconds = t0.elapsed().as_secs_f64();
    if !ok {
        bail!("imagebom failed: {}", String::from_utf8_lossy(&stderr));
    }
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.work.join("imagebom.lock"))?)?;
    let resolved = lock["images"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, e)| e["source"] == "registry")
        .count();
    Ok(Measured {
        seconds,
        requests: proxied(env)? - before,
        rss_kb,
        failures: refs.len().saturating_sub(resolved),
    })
}

fn bench_aicr_way(env: &Env, refs: &[String]) -> Result<Measured> {
    let before = proxied(env)?;
    let mut m = Measured::default();
    let t0 = Instant::now();
    for (i, c) in env.charts.iter().enumerate() {
        let mut cmd = Command::new(&env.python);
        cmd.arg(&env.helper).arg("template");
        if c.is_oci() {
            cmd.arg(format!(
                "oci://{}/charts/{}/{}",
                env.reg_proxy, c.component, c.chart
            ));
        } else {
            cmd.arg(&c.chart);
        }
        cmd.arg(&c.version)
            .arg(env.work.join(format!("aicr-{}.yaml", c.component)))
            .arg(&c.namespace);
        if let Some(v) = &c.values {
            cmd.arg(v);
        }
        if c.is_oci() {
            cmd.arg("--oci");
        } else {
            cmd.arg("--repo")
                .arg(format!("http://{}/{}", env.http_proxy, c.component));
        }
        cmd.env("HELM_CACHE_HOME", env.work.join("helm-cache"))
            .env("HELM_CONFIG_HOME", env.work.join("helm-config"));
        let (ok, rss, stderr) = timed(&cmd, &env.work.join(format!("aicr-{i}.rss")))?;
        if !ok {
            bail!(
                "helm template {} failed: {}",
                c.component,
                String::from_utf8_lossy(&stderr)
            );
        }
        m.rss_kb = m.rss_kb.max(rss);
    }
    for (i, r) in refs.iter().enumerate() {
        let rest = r.split_once('/').map_or(r.as_str(), |(_, rest)| rest);
        let mut cmd = Command::new(SKOPEO);
        cmd.args(["inspect", "--tls-verify=false"])
            .arg(format!("docker://{}/{rest}", env.reg_proxy));
        let (ok, rss, _) = timed(&cmd, &env.work.join(format!("skopeo-{i}.rss")))?;
        m.failures += usize::from(!ok);
        m.rss_kb = m.rss_kb.max(rss);
    }
    m.seconds = t0.elapsed().as_secs_f64();
    m.requests = proxied(env)? - before;
    Ok(m)
}

struct Options {
    bin: Option<PathBuf>,
    latency_ms: u64,
}

fn parse_args(args: &[String]) -> Result<Options> {
    let mut o = Options {
        bin: None,
        latency_ms: 20,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--bin" => o.bin = Some(it.next().context("--bin needs a path")?.into()),
            "--latency-ms" => {
                o.latency_ms = it
                    .next()
                    .context("--latency-ms needs a number")?
                    .parse()
                    .context("--latency-ms needs a number")?
            }
            other => bail!("bench-recipe: unknown argument {other:?} (--bin PATH, --latency-ms N)"),
        }
    }
    Ok(o)
}

/// Runs the benchmark and prints its table.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let opts = parse_args(args)?;
    let bin = match opts.bin {
        Some(b) => b,
        None => {
            crate::build_release(root)?;
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target"))
                .join("release/imagebom")
        }
    };
    let aicr = aicr_dir(root);
    let env = setup(root, &aicr, opts.latency_ms)?;
    let aicr_charts = aicr.join("charts");
    publish(&env, &aicr_charts)?;
    let refs = images(&env, &bin, &aicr_charts)?;
    let served = fill(&env, &refs)?;
    let http = env.charts.iter().filter(|c| !c.is_oci()).count();
    println!(
        "AICR registry: {} charts ({http} over HTTP, {} OCI), {} images ({served} served, {} digest-pinned), {} ms per request",
        env.charts.len(),
        env.charts.len() - http,
        refs.len(),
        refs.len() - served,
        opts.latency_ms
    );
    let ours = bench_imagebom(&env, &bin, &refs)?;
    let theirs = bench_aicr_way(&env, &refs)?;
    println!("| run | wall | requests | peak RSS | images not resolved |");
    println!("|---|---|---|---|---|");
    for (name, m) in [
        ("imagebom generate --resolve", &ours),
        (
            "helm template per chart + skopeo inspect per image",
            &theirs,
        ),
    ] {
        println!(
            "| {name} | {:.2} s | {} | {:.0} MB | {} |",
            m.seconds,
            m.requests,
            m.rss_kb as f64 / 1024.0,
            m.failures
        );
    }
    println!(
        "ratio: imagebom {:.1}x faster, {:.1}x fewer requests",
        theirs.seconds / ours.seconds.max(1e-9),
        theirs.requests as f64 / ours.requests.max(1) as f64
    );
    Ok(())
}
