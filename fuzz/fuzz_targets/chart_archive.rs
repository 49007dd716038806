//! Chart archives from the network: gzip + tar reading under limits, then the chart
//! loader (Chart.yaml, values, subcharts) over what came out; never panics.
#![no_main]
use imagebom_helm::archive::{read_chart_archive, ArchiveLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let limits = ArchiveLimits {
        max_compressed: 1 << 20,
        max_uncompressed: 4 << 20,
        max_file: 1 << 20,
        max_entries: 1_000,
    };
    let Ok(files) = read_chart_archive(bytes, &limits) else {
        return;
    };
    assert!(files.len() <= limits.max_entries);
    let total: usize = files.values().map(Vec::len).sum();
    assert!(total as u64 <= limits.max_uncompressed);
    let _ = imagebom_helm::Chart::from_files(files);
});
