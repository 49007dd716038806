//! Helm charts: loading, values and dependencies, rendered natively with `helm template`
//! semantics on the `imagebom-template` engine.
