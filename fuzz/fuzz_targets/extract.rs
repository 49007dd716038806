//! Manifest streams: the Helm-style splitter and the extractor (YAML parsing under limits,
//! walking, embedded YAML/JSON) never panic, and every document slice lies in the input.
#![no_main]
use imagebom_extract::{extract, split_stream, Limits, Origin};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    for d in split_stream(s) {
        assert!(d.first_line >= 1 && d.first_column >= 1);
        assert!(s.len() >= d.text.len());
    }
    let origin = Origin {
        component: "fuzz".into(),
        file: "fuzz.yaml".into(),
    };
    // Smaller bounds than the defaults so one input stays fast; same code paths.
    let limits = Limits {
        max_bytes: 1 << 20,
        max_document_bytes: 256 << 10,
        max_nodes: 50_000,
        ..Limits::default()
    };
    match extract(s, &origin, &limits) {
        Ok(x) => {
            for (r, _) in &x.images {
                let _ = r.normalized();
            }
        }
        Err(e) => {
            assert_eq!(e.file(), "fuzz.yaml");
            let _ = e.to_string();
        }
    }
});
