//! In-process native render timings for `cargo xtask bench-render` (`harness = false`).
//!
//! `cargo bench -p imagebom-helm --bench corpus -- SPEC.json REPS [--loop SECONDS]`
//!
//! SPEC.json is the chart list the xtask writes (`[{"name", "path", "values"}]`). Per chart:
//! one untimed warm-up, then REPS timed calls of what `imagebom render DIR -f VALUES` does
//! (load the chart directory, read the values file, render, write the `helm template`
//! stream into a string), the same work the Helm SDK side times in its `Chart.load` + `render`
//! calls. Prints JSON: `{"charts": [{"name", "ok", "error", "ms": [..]}], "parallel_ms": [..]}`
//! where `parallel_ms` times the whole list rendered on a pool of one worker per core taking
//! charts in list order, as `imagebom_render::render_with` renders a recipe's components. `--loop SECONDS` renders the list over and over (for a profiler) instead.

use imagebom_helm::{load_values, render, to_stream, Chart, RenderOptions};
use std::path::Path;
use std::time::Instant;

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
        for _ in 0..reps {
            let t = Instant::now();
            let _ = std::hint::black_box(render_one(s));
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        charts.push(serde_json::json!({
            "name": s.name,
            "ok": warm.is_ok(),
            "error": warm.as_ref().err(),
            "ms": ms,
        }));
    }
    render_all_parallel(&specs);
    let mut parallel = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        render_all_parallel(&specs);
        parallel.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "{}",
        serde_json::json!({"charts": charts, "parallel_ms": parallel})
    );
}
