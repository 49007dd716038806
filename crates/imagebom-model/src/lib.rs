//! Shared types of the imagebom pipeline.
//!
//! Every stage (recipe → render → extract → resolve → emit) speaks in these types, so they
//! live in one crate with no pipeline logic of their own:
//!
//! - [`reference`]: the OCI distribution reference grammar ([`ImageRef`], [`Digest`]) and
//!   Docker Hub normalisation;
//! - [`inventory`]: what extraction found ([`Inventory`], [`ImageEntry`], [`Occurrence`]);
//! - [`lock`]: the lock file ([`Lock`], [`Resolution`], [`Platform`]);
//! - [`purl`]: `pkg:oci` package URLs in the purl specification's canonical form;
//! - [`fsutil`]: atomic file writes (temp file + rename);
//! - [`url`]: redaction of credentials from URLs before they are emitted.

pub mod fsutil;
pub mod inventory;
pub mod lock;
pub mod purl;
pub mod reference;
pub mod url;

pub use inventory::{
    AdmissionPolicyRef, Category, ChartInfo, ComponentInfo, ComponentTrust, ImageEntry, ImageTrust,
    Inventory, Occurrence, ProvenanceRequirement, RecipeInfo, RenderedChartInfo, TrustPolicy,
    TrustedIdentity, TrustedKey, Warning,
};
pub use lock::{
    BuildProvenance, Lock, Platform, Provenance, Resolution, ResolutionSource, SignatureKind,
    SignatureVerdict, Verdict,
};
pub use reference::{Digest, ImageRef, RefError};
pub use url::redact_url;
