//! Recipe loader: YAML into the recipe format and its validation never panic; errors name
//! the recipe file.
#![no_main]
use imagebom_recipe::Recipe;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|s: &str| {
    // Manifest globs are expanded against the file system: a `**` glob from `/` would walk
    // the whole machine, which is slow but not a bug. Relative globs start from a directory
    // that does not exist.
    if s.contains("**") {
        return;
    }
    let path = Path::new("/nonexistent-imagebom-fuzz/recipe.yaml");
    match Recipe::parse(path, s.to_string()) {
        Ok(r) => {
            let _ = (r.info(), r.component_infos(), r.lock_path());
        }
        Err(e) => {
            let m = e.to_string();
            assert!(
                m.contains("recipe.yaml"),
                "error does not name the file: {m}"
            );
        }
    }
});
