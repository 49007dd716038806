//! In-process native render timings for `cargo xtask bench-render` (`harness = false`).
//!
//! `cargo bench -p imagebom-helm --bench corpus -- SPEC.json REPS [--loop SECONDS]`
//!
//! SPEC.json is the chart list the xtask writes (`[{"name", "path", "values"}]`). Per chart:
//! one untimed warm-up, then REPS timed calls of what `imagebom render DIR -f VALUES` does
//! (load the chart directory, read the values file, render, write the `helm template`
//! stream into a string), the same work the Helm SDK side times in its `Chart.load` + `render`
//! calls. Prints JSON: `{"charts": [{"name", "ok", "error", "ms": [..], "cpu_ms": [..],
//! "other_threads_cpu_ms": F}], "parallel_ms": [..], "parallel_cpu_ms": [..]}` where `parallel_ms`
//! times the whole list rendered on a pool of one worker per core taking charts in list order,
//! as `imagebom_render::render_with` renders a recipe's components. `--loop SECONDS` renders the
//! list over and over (for a profiler) instead.
//!
//! `cpu_ms` is the process's CPU time (`CLOCK_PROCESS_CPUTIME_ID`) spent in each call: on a
//! shared machine it is a steadier measure than wall time. The one-chart-after-another calls
//! run single-threaded: the process is pinned to one CPU for them (so `available_parallelism`
//! is 1 and the render spawns no parsing or schema thread; `--loop` is pinned too), and
//! `other_threads_cpu_ms` (process minus this thread's CPU time over the chart's timed calls)
//! shows that no other thread worked. The pool runs with the original CPU set.

use imagebom_helm::{load_values, render, to_stream, Chart, RenderOptions};
use std::path::Path;
use std::time::Instant;

/// The allocator the `imagebom` binary uses, so the bench times what it ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// CPU time of `clock` (`libc::CLOCK_PROCESS_CPUTIME_ID` or `CLOCK_THREAD_CPUTIME_ID`), in ms.
fn cpu_ms(clock: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock ids are the POSIX constants.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime: {}", std::io::Error::last_os_error());
    ts.tv_sec as f64 * 1000.0 + ts.tv_nsec as f64 / 1e6
}

fn process_cpu_ms() -> f64 {
    cpu_ms(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn thread_cpu_ms() -> f64 {
    cpu_ms(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// The process's CPU set, for restoring after [`pin_to_one_cpu`].
fn cpu_set() -> libc::cpu_set_t {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the call writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let rc = libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
        assert_eq!(
            rc,
            0,
            "sched_getaffinity: {}",
            std::io::Error::last_os_error()
        );
        set
    }
}

fn set_cpu_set(set: &libc::cpu_set_t) {
    // SAFETY: `set` is a valid cpu_set_t of the size passed.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) };
    assert_eq!(
        rc,
        0,
        "sched_setaffinity: {}",
        std::io::Error::last_os_error()
    );
}

/// Pins the process to the CPU it runs on, so that `available_parallelism` is 1 and a render
/// stays on one thread.
fn pin_to_one_cpu() {
    // SAFETY: plain libc calls on a zeroed (valid) cpu_set_t.
    unsafe {
        let cpu = libc::sched_getcpu().max(0) as usize;
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        set_cpu_set(&set);
    }
    assert_eq!(
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        1,
        "pinned to one CPU, yet more than one is available"
    );
}

struct Spec {
    name: String,
    path: String,
    values: Option<String>,
}

fn render_one(spec: &Spec) -> Result<String, String> {
    let chart = Chart::load_dir(&spec.path).map_err(|e| e.to_string())?;
    let values = match &spec.values {
        Some(f) => {
            let data = std::fs::read(f).map_err(|e| format!("{f}: {e}"))?;
            load_values(f, &data).map_err(|e| e.to_string())?
        }
        None => imagebom_template::Dict::new(),
    };
    let opts = RenderOptions {
        values,
        ..RenderOptions::default()
    };
    let out = render(&chart, &opts).map_err(|e| e.to_string())?;
    Ok(to_stream(&out))
}

/// The whole list on a pool of one worker per core taking charts in list order, as
/// `imagebom_render::render_with` takes a recipe's components.
fn render_all_parallel(specs: &[Spec]) {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(specs.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(spec) = specs.get(i) else { break };
                let _ = std::hint::black_box(render_one(spec));
            });
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.len() < 2 {
        eprintln!("usage: corpus SPEC.json REPS [--loop SECONDS]");
        std::process::exit(2);
    }
    let spec_text = std::fs::read_to_string(&args[0]).expect("spec file");
    let spec: serde_json::Value = serde_json::from_str(&spec_text).expect("spec JSON");
    let specs: Vec<Spec> = spec
        .as_array()
        .expect("spec list")
        .iter()
        .map(|c| Spec {
            name: c["name"].as_str().expect("name").to_string(),
            path: c["path"].as_str().expect("path").to_string(),
            values: c["values"].as_str().map(str::to_string),
        })
        .collect();
    let reps: usize = args[1].parse().expect("REPS");
    let all_cpus = cpu_set();
    pin_to_one_cpu();
    if args.get(2).map(String::as_str) == Some("--loop") {
        let secs: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10.0);
        let t0 = Instant::now();
        let mut n = 0;
        while t0.elapsed().as_secs_f64() < secs {
            for s in &specs {
                let _ = std::hint::black_box(render_one(s));
            }
            n += 1;
        }
        eprintln!(
            "{n} passes, {:.1} ms per pass",
            t0.elapsed().as_secs_f64() * 1000.0 / n as f64
        );
        return;
    }
    let mut charts = Vec::new();
    for s in &specs {
        assert!(Path::new(&s.path).is_dir(), "{}: not a directory", s.path);
        let warm = render_one(s);
        let mut ms = Vec::with_capacity(reps);
        let mut cpu = Vec::with_capacity(reps);
        let (mut process_total, mut thread_total) = (0.0, 0.0);
        for _ in 0..reps {
            let (c0, th0) = (process_cpu_ms(), thread_cpu_ms());
            let t = Instant::now();
            let _ = std::hint::black_box(render_one(s));
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            let (c1, th1) = (process_cpu_ms(), thread_cpu_ms());
            cpu.push(c1 - c0);
            process_total += c1 - c0;
            thread_total += th1 - th0;
        }
        charts.push(serde_json::json!({
            "name": s.name,
            "ok": warm.is_ok(),
            "error": warm.as_ref().err(),
            "ms": ms,
            "cpu_ms": cpu,
            "other_threads_cpu_ms": (process_total - thread_total).max(0.0),
        }));
    }
    set_cpu_set(&all_cpus);
    render_all_parallel(&specs);
    let mut parallel = Vec::with_capacity(reps);
    let mut parallel_cpu = Vec::with_capacity(reps);
    for _ in 0..reps {
        let c0 = process_cpu_ms();
        let t = Instant::now();
        render_all_parallel(&specs);
        parallel.push(t.elapsed().as_secs_f64() * 1000.0);
        parallel_cpu.push(process_cpu_ms() - c0);
    }
    println!(
        "{}",
        serde_json::json!({
            "charts": charts,
            "parallel_ms": parallel,
            "parallel_cpu_ms": parallel_cpu,
        })
    );
}
