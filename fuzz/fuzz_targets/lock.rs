//! Lock file JSON: never panics; a lock that loads writes JSON that loads to the same lock.
#![no_main]
use imagebom_model::Lock;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    if let Ok(lock) = Lock::from_json("imagebom.lock", s) {
        let out = lock.to_json();
        let again = Lock::from_json("imagebom.lock", &out)
            .unwrap_or_else(|e| panic!("written lock does not load: {e}\n{out}"));
        assert_eq!(again, lock);
    }
});
