//! Registry answers: an OCI/Docker manifest or index body never makes the describer panic.
#![no_main]
use imagebom_model::Digest;
use imagebom_resolve::registry::describe_manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let digest = Digest::sha256_of(body);
    if let Ok(r) = describe_manifest("registry.example/fuzz:1", body, digest.clone()) {
        assert_eq!(r.digest, digest);
        assert_eq!(r.size, Some(body.len() as u64));
        for p in &r.platforms {
            let _ = p.spec();
        }
    }
});
