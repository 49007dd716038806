//! Times [`extract`] on rendered chart streams: `cargo run --release -p imagebom-extract
//! --example extract_bench -- [REPS] DIR...` (default: the corpora's `rendered/` folders).
//! Prints, per directory, the streams, bytes, occurrences and the best of REPS passes.

use imagebom_extract::{extract, Limits, Origin};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let reps = match args.first().and_then(|a| a.parse::<usize>().ok()) {
        Some(n) => {
            args.remove(0);
            n
        }
        None => 20,
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let dirs: Vec<PathBuf> = if args.is_empty() {
        ["shared/corpus/rendered", "shared/corpus-wide/rendered"]
            .iter()
            .map(|d| root.join(d))
            .collect()
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    for dir in dirs {
        let mut streams: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap();
                (p.display().to_string(), text)
            })
            .collect();
        streams.sort();
        let bytes: usize = streams.iter().map(|(_, t)| t.len()).sum();
        let mut best = Duration::MAX;
        let mut found = 0;
        for _ in 0..reps {
            let t = Instant::now();
            found = 0;
            for (file, text) in &streams {
                let origin = Origin {
                    component: String::new(),
                    file: file.clone(),
                };
                if let Ok(x) = extract(text, &origin, &Limits::default()) {
                    found += x.images.len();
                }
            }
            best = best.min(t.elapsed());
        }
        println!(
            "{}: {} streams, {} KiB, {found} occurrences, best of {reps}: {:.2} ms",
            dir.display(),
            streams.len(),
            bytes / 1024,
            best.as_secs_f64() * 1e3
        );
    }
}
