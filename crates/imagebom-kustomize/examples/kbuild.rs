//! `kbuild DIR`: prints the native build of a kustomization, as `kubectl kustomize DIR` would.
fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    match imagebom_kustomize::build(std::path::Path::new(&dir)) {
        Ok(objects) => print!("{}", imagebom_kustomize::to_yaml(&objects)),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
