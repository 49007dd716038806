//! `cargo run -p imagebom-helm --example render -- CHART_DIR [VALUES.yaml]...`: prints the
//! `helm template` stream of a chart directory (release `release-name`, namespace `default`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: render CHART_DIR [VALUES.yaml]...");
        std::process::exit(2);
    };
    let run = || -> Result<String, Box<dyn std::error::Error>> {
        let chart = imagebom_helm::Chart::load_dir(dir)?;
        let mut files = Vec::new();
        for f in &args[1..] {
            files.push(imagebom_helm::load_values(f, &std::fs::read(f)?)?);
        }
        let opts = imagebom_helm::RenderOptions {
            values: imagebom_helm::merge_values_files(&files),
            ..Default::default()
        };
        Ok(imagebom_helm::to_stream(&imagebom_helm::render(
            &chart, &opts,
        )?))
    };
    match run() {
        Ok(s) => print!("{s}"),
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1);
        }
    }
}
