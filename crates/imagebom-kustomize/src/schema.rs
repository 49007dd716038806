//! Strategic-merge list keys of the built-in Kubernetes types, looked up in the table that
//! `cargo xtask kustomize-schema` generates from the Kubernetes OpenAPI schema
//! (`schema_table.rs`; provenance and licence at its top).

include!("schema_table.rs");

/// The merge key (empty for a list of scalars) and patch strategy of the list at `path`
/// (`/spec/template/spec/containers`) of a built-in `apiVersion` and `kind`; `None` when the schema has none.
pub(crate) fn merge_key(
    api_version: &str,
    kind: &str,
    path: &str,
) -> Option<(&'static str, &'static str)> {
    let mut def = ROOTS
        .iter()
        .find(|(a, k, _)| *a == api_version && *k == kind)?
        .2;
    let mut segs = path.trim_start_matches('/').split('/').peekable();
    while let Some(seg) = segs.next() {
        let field = FIELDS
            .binary_search_by(|(d, f, ..)| (*d, *f).cmp(&(def, seg)))
            .ok()
            .map(|i| FIELDS[i])?;
        let (_, _, child, key, strategy) = field;
        if segs.peek().is_none() {
            return (!strategy.is_empty()).then_some((key, strategy));
        }
        def = child;
    }
    None
}
