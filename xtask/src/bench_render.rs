//! `cargo xtask bench-render [--reps N] [--rounds R]`: native chart rendering against the
//! real Helm SDK.
//!
//! Renders the eight corpus charts (`$IMAGEBOM_CORPUS/charts/`, default
//! `../shared/corpus/charts`) natively and with the Helm v4 Go SDK, in-process calls against
//! in-process calls:
//! - native calls: `cargo bench -p imagebom-helm --bench corpus` (release) times, in one
//!   process, what `imagebom render DIR -f VALUES` does (load the chart directory and the
//!   values file, render, write the stream), per chart; and the whole corpus rendered on a
//!   pool of one worker per core, as `imagebom generate` renders a recipe's components;
//! - Helm SDK calls: `tests/bench/helm_bench.py serve` (`.venv/bin/python`) times the SDK's
//!   `Chart.load` + `render` calls inside one long-lived process (start-up not charged).
//!
//! The two alternate for R rounds (default 2) so that a slow spell of the machine hits both;
//! each round gives each chart one untimed warm-up and N timed calls (default 10); best and
//! median are over all rounds. For context, whole processes are timed too: the release
//! `imagebom render CHART` and a fresh Python process per SDK render. Targets: the native
//! whole corpus ≥5× faster than the SDK calls; peak memory (max RSS of `imagebom render`,
//! from GNU `/usr/bin/time -f %M`) under 200 MB.
//!
//! Every chart is rendered with its default values (kube-prometheus-stack with its four
//! vendored subcharts); opentelemetry-collector fails by design (a `fail` in NOTES.txt) and
//! is timed as a failing render on both sides. As a sanity check that both sides render the
//! same thing, the number of YAML documents per chart is compared (mismatches are printed
//! with the templates that differ). Fails if a native render errors (or succeeds)
//! unexpectedly, or if the SDK does; timing targets are reported, not enforced. Streams are
//! kept in `target/bench-render/` (`NAME.native.yaml`, `NAME.oracle.yaml`), with the copy of
//! the release binary that was timed.
//!
//! Both in-process sides also report the CPU time of each call (native: the process's
//! `CLOCK_PROCESS_CPUTIME_ID`, with the bench pinned to one CPU so that a render runs on one
//! thread; SDK: `time.process_time()`, which charges the Go runtime's threads). On a shared,
//! loaded machine the CPU-time ratio is the steadier measure; wall time on a quiet machine
//! stays the reference. The load average before and after is printed with the report.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// The corpus charts: name, values file contents (if any), whether the render fails by design.
const CHARTS: [(&str, Option<&str>, bool); 8] = [
    ("cert-manager", None, false),
    ("gpu-operator", None, false),
    ("ingress-nginx", None, false),
    ("kube-prometheus-stack", None, false),
    ("network-operator", None, false),
    ("node-feature-discovery", None, false),
    ("opentelemetry-collector", None, true),
    ("redis", None, false),
];

const SPEEDUP_TARGET: f64 = 5.0;
const RSS_TARGET_MB: f64 = 200.0;
const GNU_TIME: &str = "/usr/bin/time";

/// Best and median of a set of timings, in milliseconds (also used by `bench_kustomize`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Stat {
    pub(crate) best: f64,
    pub(crate) median: f64,
}

impl Stat {
    pub(crate) fn of(ms: &[f64]) -> Stat {
        let mut v = ms.to_vec();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return Stat::default();
        }
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        Stat { best: v[0], median }
    }
}

/// One side's result for one chart.
#[derive(Debug, Default)]
struct Side {
    /// `Err(first line of the error)` when the render failed.
    result: Option<std::result::Result<BTreeMap<String, usize>, String>>,
    time: Stat,
    /// CPU time per call (in-process sides only).
    cpu: Stat,
    /// CPU time of threads other than the calling one during the timed calls (native only).
    other_threads_cpu_ms: f64,
    rss_kb: Option<u64>,
}

impl Side {
    fn ok(&self) -> bool {
        matches!(self.result, Some(Ok(_)))
    }
    fn docs(&self) -> Option<usize> {
        match &self.result {
            Some(Ok(m)) => Some(m.values().sum()),
            _ => None,
        }
    }
    fn error(&self) -> Option<&str> {
        match &self.result {
            Some(Err(e)) => Some(e),
            _ => None,
        }
    }
}

struct Row {
    name: &'static str,
    expect_fail: bool,
    /// `imagebom render`, one process per render.
    native: Side,
    /// Native in-process calls (the bench).
    calls: Side,
    sdk: Side,
    fresh: Side,
}

/// Runs the benchmark.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut reps = 10usize;
    let mut rounds = 2usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--reps" => {
                reps = it
                    .next()
                    .context("--reps needs a number")?
                    .parse()
                    .context("--reps")?;
            }
            "--rounds" => {
                rounds = it
                    .next()
                    .context("--rounds needs a number")?
                    .parse()
                    .context("--rounds")?;
            }
            _ => bail!("usage: cargo xtask bench-render [--reps N] [--rounds R]"),
        }
    }
    if reps == 0 || rounds == 0 {
        bail!("--reps and --rounds must be at least 1");
    }
    let corpus = std::env::var_os("IMAGEBOM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/corpus"))
        .join("charts");
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        bail!("{} is missing: run `make test` first", python.display());
    }
    let driver = root.join("tests/bench/helm_bench.py");
    let out = root.join("target/bench-render");
    std::fs::create_dir_all(&out).with_context(|| format!("{}", out.display()))?;

    crate::build_release(root)?;
    // A private copy: the shared target directory may be rebuilt by someone else mid-run.
    let bin = out.join("imagebom");
    let built = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("release/imagebom");
    std::fs::copy(&built, &bin).with_context(|| format!("{}", built.display()))?;
    let help = Command::new(&bin).args(["render", "--help"]).output()?;
    if !help.status.success() {
        bail!(
            "{} has no `render` command: was the shared target directory overwritten by a build of \
             another checkout? (touch crates/imagebom/src/main.rs and retry)",
            built.display()
        );
    }

    // The chart list, shared with the Python driver.
    let mut spec = Vec::new();
    let mut rows = Vec::new();
    for (name, values, expect_fail) in CHARTS {
        let dir = corpus.join(name);
        if !dir.join("Chart.yaml").is_file() {
            bail!("{}: not a chart (set IMAGEBOM_CORPUS)", dir.display());
        }
        let values_file = match values {
            Some(v) => {
                let f = out.join(format!("{name}.values.yaml"));
                std::fs::write(&f, v).with_context(|| format!("{}", f.display()))?;
                Some(f)
            }
            None => None,
        };
        spec.push(serde_json::json!({"name": name, "path": dir, "values": values_file}));
        rows.push((
            Row {
                name,
                expect_fail,
                native: Side::default(),
                calls: Side::default(),
                sdk: Side::default(),
                fresh: Side::default(),
            },
            dir,
            values_file,
        ));
    }
    let spec_file = out.join("spec.json");
    std::fs::write(&spec_file, serde_json::to_vec_pretty(&spec)?)?;
    let gnu_time = Command::new(GNU_TIME)
        .args(["-f", "%M", "true"])
        .output()
        .is_ok_and(|o| o.status.success());

    // Native: one process per render.
    eprintln!("native: {reps} renders per chart …");
    for (row, dir, values) in &mut rows {
        let (dir, values) = (dir.as_path(), values.as_deref());
        let cmd = || {
            let mut c = Command::new(&bin);
            c.arg("render").arg(dir).arg("--offline");
            if let Some(v) = values {
                c.arg("-f").arg(v);
            }
            c
        };
        row.native = time_side(cmd, reps, &out.join(format!("{}.native.yaml", row.name)))?;
        if gnu_time {
            row.native.rss_kb = max_rss(cmd(), &out.join(format!("{}.native.rss", row.name)))?;
        }
    }

    // In-process calls, alternating native and Helm SDK rounds.
    let status = Command::new("cargo")
        .args([
            "bench",
            "--locked",
            "-p",
            "imagebom-helm",
            "--bench",
            "corpus",
            "--no-run",
        ])
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("building the corpus bench failed");
    }
    let mut native_ms: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
    let mut sdk_ms: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
    let mut parallel_ms = Vec::new();
    let mut native_cpu: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
    let mut sdk_cpu: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
    let mut parallel_cpu = Vec::new();
    let load_before = load_average();
    let mut sdk_version = String::from("?");
    for round in 1..=rounds {
        eprintln!("round {round}/{rounds}: native calls, {reps} per chart …");
        let o = Command::new("cargo")
            .args([
                "bench",
                "--locked",
                "-q",
                "-p",
                "imagebom-helm",
                "--bench",
                "corpus",
                "--",
            ])
            .arg(&spec_file)
            .arg(reps.to_string())
            .current_dir(root)
            .output()?;
        if !o.status.success() {
            bail!(
                "corpus bench failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let report: serde_json::Value =
            serde_json::from_slice(&o.stdout).context("corpus bench output")?;
        for (i, (row, _, _)) in rows.iter_mut().enumerate() {
            let r = find_chart(&report, row.name, "corpus bench")?;
            native_ms[i].extend(ms_of(r));
            native_cpu[i].extend(ms_of(&r["cpu_ms"]));
            row.calls.other_threads_cpu_ms += r["other_threads_cpu_ms"].as_f64().unwrap_or(0.0);
            row.calls.result = Some(if r["ok"].as_bool() == Some(true) {
                Ok(row
                    .native
                    .result
                    .clone()
                    .and_then(|r| r.ok())
                    .unwrap_or_default())
            } else {
                Err(r["error"].as_str().unwrap_or("?").to_string())
            });
        }
        parallel_ms.extend(ms_of(&report["parallel_ms"]));
        parallel_cpu.extend(ms_of(&report["parallel_cpu_ms"]));

        eprintln!("round {round}/{rounds}: Helm SDK calls, {reps} per chart in one process …");
        let o = Command::new(&python)
            .arg(&driver)
            .arg("serve")
            .arg(&spec_file)
            .arg(reps.to_string())
            .arg(&out)
            .output()
            .with_context(|| format!("{}", python.display()))?;
        if !o.status.success() {
            bail!(
                "{} serve failed: {}",
                driver.display(),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let report: serde_json::Value =
            serde_json::from_slice(&o.stdout).context("helm_bench.py serve output")?;
        sdk_version = report["sdk"].as_str().unwrap_or("?").to_string();
        for (i, (row, _, _)) in rows.iter_mut().enumerate() {
            let r = find_chart(&report["charts"], row.name, "helm_bench.py")?;
            sdk_ms[i].extend(ms_of(&r["ms"]));
            sdk_cpu[i].extend(ms_of(&r["cpu_ms"]));
            row.sdk.result = Some(if r["ok"].as_bool() == Some(true) {
                let f = out.join(format!("{}.oracle.yaml", row.name));
                let text =
                    std::fs::read_to_string(&f).with_context(|| format!("{}", f.display()))?;
                Ok(docs_per_source(&text))
            } else {
                Err(r["error"].as_str().unwrap_or("?").to_string())
            });
        }
    }
    for (i, (row, _, _)) in rows.iter_mut().enumerate() {
        row.calls.time = Stat::of(&native_ms[i]);
        row.sdk.time = Stat::of(&sdk_ms[i]);
        row.calls.cpu = Stat::of(&native_cpu[i]);
        row.sdk.cpu = Stat::of(&sdk_cpu[i]);
    }
    let parallel = Stat::of(&parallel_ms);
    let parallel_cpu = Stat::of(&parallel_cpu);
    let load_after = load_average();

    // Helm SDK, a fresh Python process per render.
    eprintln!("Helm SDK: {reps} fresh processes per chart …");
    for (row, _, _) in &mut rows {
        let cmd = || {
            let mut c = Command::new(&python);
            c.arg(&driver).arg("once").arg(&spec_file).arg(row.name);
            c
        };
        row.fresh = time_side(cmd, reps, &out.join(format!("{}.fresh.yaml", row.name)))?;
        if gnu_time {
            row.fresh.rss_kb = max_rss(cmd(), &out.join(format!("{}.fresh.rss", row.name)))?;
        }
    }

    let rows: Vec<Row> = rows.into_iter().map(|(r, _, _)| r).collect();
    print_report(&rows, reps * rounds, parallel, &sdk_version, gnu_time)?;
    print_cpu_report(&rows, parallel_cpu, &load_before, &load_after);
    Ok(())
}

/// The first three fields of `/proc/loadavg` (1, 5 and 15 minutes), or `?`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".to_string())
}

/// The CPU-time table of the in-process calls: the measure to judge by on a shared machine.
fn print_cpu_report(rows: &[Row], parallel: Stat, load_before: &str, load_after: &str) {
    let cell = |t: Stat| format!("{:>6.1} {:>6.1}", t.best, t.median);
    println!();
    println!(
        "CPU time per in-process call, ms best and median (load average before {load_before}, after {load_after})"
    );
    println!(
        "{:<24} {:>13} {:>13} {:>6} {:>6} {:>10}",
        "chart", "native CPU", "Helm SDK CPU", "×", "× med", "other thr"
    );
    let (mut c, mut s) = (Stat::default(), Stat::default());
    let mut other = 0.0;
    for r in rows {
        if r.calls.ok() == r.sdk.ok() {
            c.best += r.calls.cpu.best;
            c.median += r.calls.cpu.median;
            s.best += r.sdk.cpu.best;
            s.median += r.sdk.cpu.median;
        }
        other += r.calls.other_threads_cpu_ms;
        println!(
            "{:<24} {} {} {:>5.1}× {:>5.1}× {:>10.1}",
            r.name,
            cell(r.calls.cpu),
            cell(r.sdk.cpu),
            r.sdk.cpu.best / r.calls.cpu.best,
            r.sdk.cpu.median / r.calls.cpu.median,
            r.calls.other_threads_cpu_ms,
        );
    }
    println!(
        "{:<24} {} {} {:>5.1}× {:>5.1}×",
        "total",
        cell(c),
        cell(s),
        s.best / c.best,
        s.median / c.median
    );
    println!(
        "{:<24} {}   (pool of workers; CPU of all its threads)",
        "whole corpus",
        cell(parallel)
    );
    println!(
        "target: one chart after another ≥{SPEEDUP_TARGET}× the Helm SDK calls on CPU time: {} ({:.1}× best-of, {:.1}× median)",
        if s.median / c.median >= SPEEDUP_TARGET { "met" } else { "NOT MET" },
        s.best / c.best,
        s.median / c.median
    );
    if other > 0.01 * c.median.max(1.0) {
        println!(
            "note: {other:.1} ms of CPU time went to threads other than the calling one during the single-threaded calls"
        );
    }
}

/// The entry for chart `name` in a bench report (a list, or an object with `charts`).
fn find_chart<'v>(
    report: &'v serde_json::Value,
    name: &str,
    what: &str,
) -> Result<&'v serde_json::Value> {
    let list = report.get("charts").unwrap_or(report);
    list.as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .with_context(|| format!("{what}: no result for {name}"))
}

/// A JSON list of milliseconds (or the `ms` field of an object).
fn ms_of(v: &serde_json::Value) -> Vec<f64> {
    v.get("ms")
        .unwrap_or(v)
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
        .unwrap_or_default()
}

/// One untimed warm-up render (its stdout kept in `keep`, its outcome recorded), then `reps`
/// timed ones.
fn time_side(cmd: impl Fn() -> Command, reps: usize, keep: &Path) -> Result<Side> {
    let warm = run_cmd(cmd())?.1;
    let result = if warm.status.success() {
        std::fs::write(keep, &warm.stdout).with_context(|| format!("{}", keep.display()))?;
        Ok(docs_per_source(&String::from_utf8_lossy(&warm.stdout)))
    } else {
        Err(first_error_line(&warm.stderr))
    };
    let mut ms = Vec::with_capacity(reps);
    for _ in 0..reps {
        let (t, o) = run_cmd(cmd())?;
        if o.status.success() != result.is_ok() {
            bail!(
                "{}: the render succeeded once and failed once: {}",
                keep.display(),
                first_error_line(&o.stderr)
            );
        }
        ms.push(t);
    }
    Ok(Side {
        result: Some(result),
        time: Stat::of(&ms),
        rss_kb: None,
        ..Side::default()
    })
}

fn run_cmd(mut cmd: Command) -> Result<(f64, Output)> {
    let t0 = Instant::now();
    let o = cmd.output().with_context(|| format!("{cmd:?}"))?;
    Ok((t0.elapsed().as_secs_f64() * 1000.0, o))
}

/// Max RSS in KiB of one run of `cmd` under GNU time (written to `file`).
fn max_rss(cmd: Command, file: &Path) -> Result<Option<u64>> {
    let mut c = Command::new(GNU_TIME);
    c.args(["-f", "%M", "-o"]).arg(file).arg(cmd.get_program());
    c.args(cmd.get_args());
    c.output().with_context(|| format!("{c:?}"))?;
    let text = std::fs::read_to_string(file).unwrap_or_default();
    Ok(text.lines().last().and_then(|l| l.trim().parse().ok()))
}

fn first_error_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .find(|l| l.contains("rror"))
        .or_else(|| text.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("(no message)");
    line.trim().chars().take(200).collect()
}

/// YAML documents with content (not only blanks and comments) per `# Source:` template, a
/// document boundary being a line that starts with `---` as in Helm's `SplitManifests`.
fn docs_per_source(stream: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    let mut source = String::new();
    let mut content = false;
    let mut close = |source: &str, content: &mut bool| {
        if std::mem::take(content) {
            *counts.entry(source.to_string()).or_insert(0) += 1;
        }
    };
    for line in stream.lines() {
        let rest = match line.strip_prefix("---") {
            Some(rest) => {
                close(&source, &mut content);
                rest
            }
            None => line,
        };
        let t = rest.trim();
        if let Some(path) = t.strip_prefix("# Source:") {
            // A new template starts; its documents are counted under its path.
            close(&source, &mut content);
            source = path.trim().to_string();
        } else if !t.is_empty() && !t.starts_with('#') {
            content = true;
        }
    }
    close(&source, &mut content);
    counts
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn print_report(
    rows: &[Row],
    reps: usize,
    parallel: Stat,
    sdk_version: &str,
    gnu_time: bool,
) -> Result<()> {
    let cell = |s: &Side| format!("{:>6.1} {:>6.1}", s.time.best, s.time.median);
    let docs = |s: &Side| s.docs().map_or("error".to_string(), |d| d.to_string());
    let rss = |s: &Side| {
        s.rss_kb
            .map_or("n/a".to_string(), |k| format!("{:.0}", mb(k)))
    };
    println!();
    println!(
        "Render: imagebom (release) vs Helm {sdk_version} Go SDK; best and median of {reps} runs, ms"
    );
    println!(
        "{:<24} {:>11} {:>13} {:>13} {:>6} {:>13} {:>13} {:>6} {:>9}",
        "chart",
        "docs n/h",
        "native call",
        "Helm SDK call",
        "×",
        "native proc",
        "Helm proc",
        "×",
        "RSS n/h"
    );
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let (mut c, mut n, mut s, mut f) = (
        Stat::default(),
        Stat::default(),
        Stat::default(),
        Stat::default(),
    );
    let mut counted = 0;
    for r in rows {
        let comparable = r.native.ok() == r.sdk.ok()
            && r.calls.ok() == r.sdk.ok()
            && r.sdk.ok() != r.expect_fail;
        if comparable {
            counted += 1;
            for (acc, side) in [
                (&mut c, &r.calls),
                (&mut n, &r.native),
                (&mut s, &r.sdk),
                (&mut f, &r.fresh),
            ] {
                acc.best += side.time.best;
                acc.median += side.time.median;
            }
        }
        println!(
            "{:<24} {:>11} {} {} {:>5.1}× {} {} {:>5.1}× {:>9}",
            r.name,
            format!("{}/{}", docs(&r.native), docs(&r.sdk)),
            cell(&r.calls),
            cell(&r.sdk),
            r.sdk.time.best / r.calls.time.best,
            cell(&r.native),
            cell(&r.fresh),
            r.fresh.time.best / r.native.time.best,
            format!("{}/{}", rss(&r.native), rss(&r.fresh)),
        );
        if r.calls.ok() != r.native.ok() {
            problems.push(format!(
                "{}: the in-process render and `imagebom render` disagree: {:?} / {:?}",
                r.name,
                r.calls.error(),
                r.native.error()
            ));
        }
        match (&r.native.result, &r.sdk.result) {
            (Some(Ok(a)), Some(Ok(b))) if a != b => {
                let differ: Vec<String> = a
                    .keys()
                    .chain(b.keys())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .filter(|k| a.get(*k) != b.get(*k))
                    .take(6)
                    .map(|k| {
                        format!(
                            "{k} ({}/{})",
                            a.get(k).unwrap_or(&0),
                            b.get(k).unwrap_or(&0)
                        )
                    })
                    .collect();
                notes.push(format!(
                    "{}: DOCUMENT COUNT MISMATCH native/Helm {}/{}; templates that differ: {}",
                    r.name,
                    r.native.docs().unwrap_or(0),
                    r.sdk.docs().unwrap_or(0),
                    differ.join(", ")
                ));
            }
            _ => {}
        }
        if r.expect_fail {
            notes.push(format!(
                "{}: fails by design; native: {}; Helm: {}",
                r.name,
                r.native.error().unwrap_or("RENDERED (expected a failure)"),
                r.sdk.error().unwrap_or("RENDERED (expected a failure)")
            ));
        }
        if r.native.ok() == r.expect_fail {
            problems.push(format!(
                "{}: native render {}",
                r.name,
                r.native
                    .error()
                    .map_or("succeeded, expected a failure".to_string(), |e| format!(
                        "failed: {e}"
                    ))
            ));
        }
        if r.sdk.ok() == r.expect_fail {
            problems.push(format!(
                "{}: Helm SDK render {}",
                r.name,
                r.sdk
                    .error()
                    .map_or("succeeded, expected a failure".to_string(), |e| format!(
                        "failed: {e}"
                    ))
            ));
        }
    }
    let pair = |t: Stat| format!("{:>6.1} {:>6.1}", t.best, t.median);
    let label = format!("total ({counted} charts)");
    println!(
        "{label:<24} {:>11} {} {} {:>5.1}× {} {} {:>5.1}×",
        "",
        pair(c),
        pair(s),
        s.best / c.best,
        pair(n),
        pair(f),
        f.best / n.best,
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{:<24} {:>11} {}   (a pool of {cores} workers taking the charts in order, as a recipe's components)",
        "whole corpus",
        "",
        pair(parallel),
    );
    let at_once = s.best / parallel.best;
    println!(
        "target: the native whole corpus ≥{SPEEDUP_TARGET}× faster than the Helm SDK calls: {} ({at_once:.1}× best-of, {:.1}× median)",
        if at_once >= SPEEDUP_TARGET && counted == rows.len() { "met" } else { "NOT MET" },
        s.median / parallel.median
    );
    println!(
        "one chart after another: {:.1}× best-of, {:.1}× median; whole processes (imagebom render vs a fresh SDK process): {:.1}×, {:.1}×",
        s.best / c.best,
        s.median / c.median,
        f.best / n.best,
        f.median / n.median
    );
    if gnu_time {
        let peak = rows
            .iter()
            .filter_map(|r| r.native.rss_kb.map(|k| (k, r.name)))
            .max();
        if let Some((kb, name)) = peak {
            println!(
                "peak memory of the native renders: {:.1} MB max RSS ({name}); target < {RSS_TARGET_MB} MB: {}",
                mb(kb),
                if mb(kb) < RSS_TARGET_MB { "met" } else { "NOT MET" }
            );
        }
    } else {
        println!("peak memory: not measured ({GNU_TIME} is not GNU time; apt-get install time)");
    }
    for note in &notes {
        println!("note: {note}");
    }
    for p in &problems {
        println!("ERROR: {p}");
    }
    if !problems.is_empty() {
        bail!("{} unexpected render outcome(s)", problems.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_counted_per_template() {
        let s = "---\n# Source: a.yaml\nkind: A\n---\nkind: B\n---# comment\n\n---\n# Source: b.yaml\n# only a comment\n---\n# Source: c.yaml\nkind: C\n";
        let m = docs_per_source(s);
        assert_eq!(
            m,
            BTreeMap::from([("a.yaml".to_string(), 2), ("c.yaml".to_string(), 1)])
        );
    }

    #[test]
    fn glued_separator_starts_a_document() {
        let m = docs_per_source("# Source: x\na: 1\n---b: 2\n");
        assert_eq!(m.get("x"), Some(&2));
    }

    #[test]
    fn median_and_best() {
        let s = Stat::of(&[3.0, 1.0, 2.0, 10.0]);
        assert_eq!((s.best, s.median), (1.0, 2.5));
        let s = Stat::of(&[5.0, 1.0, 3.0]);
        assert_eq!((s.best, s.median), (1.0, 3.0));
    }
}
