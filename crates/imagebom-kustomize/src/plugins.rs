//! `crds` and `validators`: the two fields that only name files for Kustomize to read.
//!
//! `crds` files are OpenAPI definitions Kustomize reads for the schema of custom resources
//! (they are not emitted); imagebom checks that they load and otherwise treats custom
//! resources as it always does. `validators` are plugins, which imagebom never runs: the
//! build fails as Kustomize fails with plugins disabled (its default).

use crate::kustomization::{parse_documents, Kustomization};
use crate::KustomizeError;

/// Every `crds` file must be readable in or below the kustomization's directory.
pub(crate) fn crds(k: &Kustomization) -> Result<(), KustomizeError> {
    let files = k.strings("crds");
    for f in &files {
        let path = k.dir.join(f);
        let real = path.canonicalize().map_err(|e| {
            KustomizeError::invalid(
                &k.file,
                format!(
                    "loading CRDs {files:?}: evalsymlink failure on '{}' : {e}",
                    path.display()
                ),
            )
        })?;
        if !real.starts_with(&k.dir) {
            return Err(KustomizeError::invalid(
                &k.file,
                format!(
                    "loading CRDs {files:?}: security; file '{}' is not in or below '{}'",
                    real.display(),
                    k.dir.display()
                ),
            ));
        }
        let text = crate::kustomization::read(&real)?;
        serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text).map_err(|e| {
            KustomizeError::Yaml {
                path: real.clone(),
                message: e.to_string(),
            }
        })?;
    }
    Ok(())
}

/// A `validators` entry is an external plugin: refused in Kustomize's words.
pub(crate) fn validators(k: &Kustomization) -> Result<(), KustomizeError> {
    if let Some(entry) = k.strings("validators").first() {
        let (file, text) = k.read_restricted(entry)?;
        let docs = parse_documents(&text, &file)?;
        let kind = docs
            .first()
            .and_then(|d| crate::get_str(d, &["kind"]))
            .unwrap_or("")
            .to_string();
        return Err(KustomizeError::invalid(
            &k.file,
            format!(
                "external plugins disabled; unable to load external plugin '{kind}' \
                 (validators: {}; imagebom runs no plugins)",
                file.display()
            ),
        ));
    }
    Ok(())
}
