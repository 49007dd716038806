//! Image reference grammar: never panics; a parsed reference normalises to a reference
//! that parses again to the same normal form.
#![no_main]
use imagebom_model::{Digest, ImageRef};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    let _ = Digest::parse(s);
    if let Ok(r) = ImageRef::parse(s) {
        let n = r.normalized();
        let again = ImageRef::parse(&n)
            .unwrap_or_else(|e| panic!("normal form {n:?} of {s:?} does not parse: {e}"));
        assert_eq!(again.normalized(), n, "normalising {s:?} is not idempotent");
        let _ = (r.name(), r.qualified_name(), r.is_implicit_latest());
    }
});
