//! `cargo xtask bench-kustomize [--cases DIR] [--only NAME]... [--reps N] [--bin PATH] [--kubectl PATH]`:
//! native Kustomize builds against the real `kubectl kustomize`.
//!
//! Every shared case that builds (`DIR/cases.json` with `expected/NAME.yaml`; `DIR` defaults to
//! `$IMAGEBOM_KUSTOMIZE`, else `../shared/kustomize`; `--only` picks cases) is built three ways, each with one
//! untimed warm-up and N timed runs (default 10), best and median kept:
//! - in-process: `imagebom_kustomize::build` + `to_yaml` in this process, wall time and the
//!   process's CPU time (`CLOCK_PROCESS_CPUTIME_ID`; the build is single-threaded);
//! - native process: `imagebom render --kustomize DIR` (`--bin`, default the release binary in
//!   `$CARGO_TARGET_DIR` or `target/`), wall time and the child's user + system CPU time
//!   (`getrusage(RUSAGE_CHILDREN)` around each run);
//! - oracle process: `kubectl kustomize DIR` (`--kubectl`, default `/usr/bin/kubectl`), timed
//!   the same way (its CPU time charges all the Go runtime's threads).
//!
//! The warm-up outputs are compared (bytes, else parsed documents in order), so both sides are
//! known to build the same thing. The report gives per case and in total the medians and the
//! ratios oracle ÷ native (above 1: native faster), with the load average before and after;
//! on a shared machine CPU time is the steadier measure. The issue's target (the native process
//! at least as fast as the oracle process on the whole set) is reported, not enforced. Run it
//! from a release build (`cargo build --release -p imagebom -p xtask`, then
//! `$CARGO_TARGET_DIR/release/xtask bench-kustomize`): a debug xtask times a debug library.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use crate::bench_render::Stat;

/// Wall and CPU time of one way of building a case.
#[derive(Debug, Clone, Copy, Default)]
struct Timing {
    wall: Stat,
    cpu: Stat,
}

/// One case's results.
struct Row {
    name: String,
    /// Bytes of the oracle's output.
    bytes: usize,
    /// `bytes`, `documents` or what differs between the native and the oracle output.
    same: String,
    calls: Timing,
    native: Timing,
    oracle: Timing,
}

/// The shared cases that build: name and kustomization directory, sorted by name.
fn cases(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let file = root.join("cases.json");
    let text = std::fs::read_to_string(&file).with_context(|| format!("{}", file.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}", file.display()))?;
    let map = json
        .as_object()
        .with_context(|| format!("{}: not a map of cases", file.display()))?;
    let mut out: Vec<(String, PathBuf)> = map
        .iter()
        .filter(|(name, _)| root.join("expected").join(format!("{name}.yaml")).is_file())
        .map(|(name, case)| {
            let kdir = case["kdir"].as_str().unwrap_or(".");
            (name.clone(), root.join("cases").join(name).join(kdir))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Milliseconds of a clock of `clock_gettime`.
fn clock_ms(clock: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a POSIX constant.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime: {}", std::io::Error::last_os_error());
    ts.tv_sec as f64 * 1000.0 + ts.tv_nsec as f64 / 1e6
}

/// User + system CPU time of the waited-for children so far, in milliseconds.
fn children_cpu_ms() -> f64 {
    // SAFETY: a zeroed rusage is valid; getrusage writes at most its size.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    assert_eq!(rc, 0, "getrusage: {}", std::io::Error::last_os_error());
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(ru.ru_utime) + ms(ru.ru_stime)
}

/// One run of `cmd`: wall ms, CPU ms and its output.
fn run_cmd(mut cmd: Command) -> Result<(f64, f64, Output)> {
    let c0 = children_cpu_ms();
    let t0 = Instant::now();
    let o = cmd.output().with_context(|| format!("{cmd:?}"))?;
    let wall = t0.elapsed().as_secs_f64() * 1000.0;
    Ok((wall, children_cpu_ms() - c0, o))
}

/// A warm-up run of `cmd` (its stdout returned; it must succeed), then `reps` timed ones.
fn time_process(cmd: impl Fn() -> Command, reps: usize) -> Result<(Vec<u8>, Timing)> {
    let (_, _, warm) = run_cmd(cmd())?;
    if !warm.status.success() {
        bail!(
            "{:?} failed: {}",
            cmd(),
            String::from_utf8_lossy(&warm.stderr).trim()
        );
    }
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let (w, c, o) = run_cmd(cmd())?;
        if !o.status.success() {
            bail!("{:?} failed once after succeeding", cmd());
        }
        wall.push(w);
        cpu.push(c);
    }
    Ok((
        warm.stdout,
        Timing {
            wall: Stat::of(&wall),
            cpu: Stat::of(&cpu),
        },
    ))
}

/// A warm-up native build in this process (its stream returned), then `reps` timed ones.
fn time_calls(dir: &Path, reps: usize) -> Result<(String, Timing)> {
    let build = || -> Result<String> {
        let objects =
            imagebom_kustomize::build(dir).map_err(|e| anyhow::anyhow!("native build: {e}"))?;
        Ok(imagebom_kustomize::to_yaml(&objects))
    };
    let stream = build()?;
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let c0 = clock_ms(libc::CLOCK_PROCESS_CPUTIME_ID);
        let t0 = Instant::now();
        std::hint::black_box(build()?);
        wall.push(t0.elapsed().as_secs_f64() * 1000.0);
        cpu.push(clock_ms(libc::CLOCK_PROCESS_CPUTIME_ID) - c0);
    }
    Ok((
        stream,
        Timing {
            wall: Stat::of(&wall),
            cpu: Stat::of(&cpu),
        },
    ))
}

/// `bytes` when the streams are identical, `documents` when they parse to the same documents
/// in order, else what differs.
fn compare(ours: &[u8], theirs: &[u8]) -> String {
    if ours == theirs {
        return "bytes".into();
    }
    let parse = |b: &[u8]| -> Option<Vec<serde_yaml_ng::Value>> {
        let text = std::str::from_utf8(b).ok()?;
        serde_yaml_ng::Deserializer::from_str(text)
            .map(|d| serde::Deserialize::deserialize(d).ok())
            .filter(|v: &Option<serde_yaml_ng::Value>| !matches!(v, Some(v) if v.is_null()))
            .collect()
    };
    match (parse(ours), parse(theirs)) {
        (Some(a), Some(b)) if a == b => "documents".into(),
        (Some(a), Some(b)) => format!("DIFFERENT ({} vs {} documents)", a.len(), b.len()),
        _ => "DIFFERENT (unparsable)".into(),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".to_string())
}

/// Runs the benchmark.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    const USAGE: &str =
        "usage: cargo xtask bench-kustomize [--cases DIR] [--only NAME]... [--reps N] \
                         [--bin PATH] [--kubectl PATH]";
    let mut reps = 10usize;
    let mut corpus = std::env::var_os("IMAGEBOM_KUSTOMIZE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/kustomize"));
    let mut bin = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("release/imagebom");
    let mut kubectl = PathBuf::from("/usr/bin/kubectl");
    let mut only: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{a} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--reps" => reps = value()?.parse().context("--reps")?,
            "--cases" => corpus = PathBuf::from(value()?),
            "--only" => only.push(value()?.clone()),
            "--bin" => bin = PathBuf::from(value()?),
            "--kubectl" => kubectl = PathBuf::from(value()?),
            _ => bail!("{USAGE}"),
        }
    }
    if reps == 0 {
        bail!("--reps must be at least 1");
    }
    let mut cases = cases(&corpus)?;
    if !only.is_empty() {
        if let Some(missing) = only.iter().find(|n| !cases.iter().any(|(c, _)| c == *n)) {
            bail!("{}: no case {missing} that builds", corpus.display());
        }
        cases.retain(|(name, _)| only.contains(name));
    }
    if cases.is_empty() {
        bail!("{}: no case that builds", corpus.display());
    }
    for program in [&bin, &kubectl] {
        if !program.is_file() {
            bail!(
                "{} is missing (cargo build --release -p imagebom, or --bin / --kubectl)",
                program.display()
            );
        }
    }
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this xtask is a debug build, so the in-process times are a debug library's \
             (cargo build --release -p imagebom -p xtask and run target/release/xtask)"
        );
    }
    let version = Command::new(&kubectl)
        .args(["version", "--client"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).replace('\n', "; "))
        .unwrap_or_default();
    let load_before = load_average();
    eprintln!(
        "{} cases, {reps} timed runs each (+1 warm-up), {} and {}",
        cases.len(),
        bin.display(),
        kubectl.display()
    );
    let mut rows = Vec::new();
    for (name, dir) in &cases {
        eprintln!("{name} …");
        let (stream, calls) = time_calls(dir, reps).with_context(|| name.clone())?;
        let (native_out, native) = time_process(
            || {
                let mut c = Command::new(&bin);
                c.args(["render", "--kustomize"]).arg(dir);
                c
            },
            reps,
        )?;
        let (oracle_out, oracle) = time_process(
            || {
                let mut c = Command::new(&kubectl);
                c.arg("kustomize").arg(dir);
                c
            },
            reps,
        )?;
        if native_out != stream.as_bytes() {
            bail!("{name}: `imagebom render --kustomize` printed another stream than to_yaml");
        }
        rows.push(Row {
            name: name.clone(),
            bytes: oracle_out.len(),
            same: compare(&native_out, &oracle_out),
            calls,
            native,
            oracle,
        });
    }
    print_report(&rows, reps, &version, &load_before, &load_average());
    if rows.iter().any(|r| r.same.starts_with("DIFFERENT")) {
        bail!("some native outputs differ from the oracle's");
    }
    Ok(())
}

fn print_report(rows: &[Row], reps: usize, version: &str, before: &str, after: &str) {
    println!();
    println!(
        "Kustomize builds, ms (median of {reps}; best in the totals): in-process = imagebom_kustomize::build, \
         process = imagebom render --kustomize, oracle = kubectl kustomize ({})",
        version.trim().trim_end_matches(';')
    );
    println!("load average before {before}, after {after}");
    println!(
        "{:<40} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>7}",
        "case",
        "KiB",
        "same",
        "in-proc",
        "cpu",
        "process",
        "cpu",
        "oracle",
        "cpu",
        "×proc",
        "×cpu",
        "×in-p"
    );
    let mut sums = [Stat::default(); 6];
    for r in rows {
        let t = [
            r.calls.wall,
            r.calls.cpu,
            r.native.wall,
            r.native.cpu,
            r.oracle.wall,
            r.oracle.cpu,
        ];
        for (s, x) in sums.iter_mut().zip(t) {
            s.best += x.best;
            s.median += x.median;
        }
        println!(
            "{:<40} {:>8.0} {:>10} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>6.1}× {:>6.1}× {:>6.1}×",
            r.name,
            r.bytes as f64 / 1024.0,
            r.same,
            r.calls.wall.median,
            r.calls.cpu.median,
            r.native.wall.median,
            r.native.cpu.median,
            r.oracle.wall.median,
            r.oracle.cpu.median,
            r.oracle.wall.median / r.native.wall.median,
            r.oracle.cpu.median / r.native.cpu.median,
            r.oracle.wall.median / r.calls.wall.median,
        );
    }
    for (label, pick) in [
        ("total (medians)", (|s: Stat| s.median) as fn(Stat) -> f64),
        ("total (bests)", |s: Stat| s.best),
    ] {
        let v: Vec<f64> = sums.iter().map(|s| pick(*s)).collect();
        println!(
            "{:<40} {:>8} {:>10} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>6.1}× {:>6.1}× {:>6.1}×",
            label,
            "",
            "",
            v[0],
            v[1],
            v[2],
            v[3],
            v[4],
            v[5],
            v[4] / v[2],
            v[5] / v[3],
            v[4] / v[0],
        );
    }
    let (wall, cpu) = (
        sums[4].median / sums[2].median,
        sums[5].median / sums[3].median,
    );
    println!(
        "target: the native process at least as fast as the oracle process on all {} cases: {} \
         (wall {wall:.1}×, CPU {cpu:.1}×)",
        rows.len(),
        if wall >= 1.0 && cpu >= 1.0 {
            "met"
        } else {
            "NOT MET"
        }
    );
    let bytes = rows.iter().filter(|r| r.same == "bytes").count();
    let docs = rows.iter().filter(|r| r.same == "documents").count();
    println!(
        "outputs: {bytes} byte-identical to the oracle's, {docs} the same documents, {} different",
        rows.len() - bytes - docs
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_best() {
        assert_eq!(
            Stat::of(&[3.0, 1.0, 2.0]),
            Stat {
                best: 1.0,
                median: 2.0
            }
        );
        assert_eq!(Stat::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
        assert_eq!(Stat::of(&[]), Stat::default());
    }

    #[test]
    fn cases_are_the_ones_the_oracle_built() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("expected")).unwrap();
        std::fs::write(
            d.path().join("cases.json"),
            r#"{"b": {"kdir": "config/default"}, "a": {}, "broken": {"kdir": "."}}"#,
        )
        .unwrap();
        std::fs::write(d.path().join("expected/a.yaml"), "").unwrap();
        std::fs::write(d.path().join("expected/b.yaml"), "").unwrap();
        std::fs::write(d.path().join("expected/broken.error.txt"), "x").unwrap();
        let got = cases(d.path()).unwrap();
        assert_eq!(
            got,
            vec![
                ("a".to_string(), d.path().join("cases/a/.")),
                ("b".to_string(), d.path().join("cases/b/config/default")),
            ]
        );
    }

    #[test]
    fn outputs_compare_as_bytes_then_documents() {
        assert_eq!(compare(b"a: 1\n", b"a: 1\n"), "bytes");
        assert_eq!(
            compare(b"a: '1'\n---\nb: x\n", b"a: \"1\"\n---\nb: x\n"),
            "documents"
        );
        assert!(compare(b"a: 1\n", b"a: 2\n").starts_with("DIFFERENT"));
    }

    #[test]
    fn children_cpu_time_grows_with_a_child() {
        let before = children_cpu_ms();
        let (_, cpu, o) = run_cmd({
            let mut c = Command::new("sh");
            c.args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"]);
            c
        })
        .unwrap();
        assert!(o.status.success());
        assert!(
            cpu > 0.0 && children_cpu_ms() >= before + cpu - 0.001,
            "{cpu}"
        );
    }
}
