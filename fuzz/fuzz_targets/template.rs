//! Go text/template with Sprig and Helm's functions: lexing, parsing and executing any
//! source never panics, hangs or overflows the stack. Run twice: on the engine with
//! `helm_funcmap()` under tightened limits, and as the only template of a chart rendered by
//! `imagebom_helm::render` (which adds `include`, `tpl`, `required`, `fail`, … and applies
//! the product's own limits).
#![no_main]
use imagebom_helm::{render, Chart, ChartFiles, RenderOptions};
use imagebom_template::{convert, helm_funcmap, Limits, Template, Value};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const VALUES: &str = "image: {repository: registry.k8s.io/pause, tag: '3.10', pullPolicy: IfNotPresent}\nlist: [1, 2, 3]\nenabled: true\nn: 1000\nnested: {a: {b: {c: x}}}\n";

fn data() -> &'static Value {
    static DATA: OnceLock<Value> = OnceLock::new();
    DATA.get_or_init(|| {
        convert::from_yaml_str(&format!(
            "Values:\n{}Release: {{Name: r, Namespace: default}}\nChart: {{Name: c, Version: 1.0.0}}\n",
            VALUES
                .lines()
                .map(|l| format!("  {l}\n"))
                .collect::<String>()
        ))
        .expect("fixed data parses")
    })
}

fuzz_target!(|src: &str| {
    let limits = Limits {
        max_output_bytes: 1 << 20,
        max_range_iters: 100_000,
        ..Limits::default()
    };
    if let Ok(t) = Template::new("fuzz.tpl")
        .funcs(helm_funcmap())
        .limits(limits)
        .parse(src)
    {
        if let Ok(out) = t.execute_to_string(data()) {
            assert!(out.len() <= limits.max_output_bytes);
        }
    }
    // Through the chart renderer: only sources without `range` over big counts would stay
    // fast under the product's limits (10,000,000 iterations), so skip long integers.
    if src.bytes().filter(u8::is_ascii_digit).count() > 4 {
        return;
    }
    let mut files = ChartFiles::new();
    files.insert(
        "Chart.yaml".into(),
        b"apiVersion: v2\nname: c\nversion: 1.0.0\n".to_vec(),
    );
    files.insert("values.yaml".into(), VALUES.as_bytes().to_vec());
    files.insert(
        "templates/_helpers.tpl".into(),
        b"{{- define \"c.name\" -}}{{ .Chart.Name }}{{- end -}}".to_vec(),
    );
    files.insert("templates/fuzz.yaml".into(), src.as_bytes().to_vec());
    if let Ok(chart) = Chart::from_files(files) {
        let _ = render(&chart, &RenderOptions::default());
    }
});
