//! What an image's stored provenance record says, summarised the same way for every
//! emitter (CycloneDX properties, SPDX annotations, the page's provenance matrix).
//!
//! Presence is derived from everything stored, not from cosign's legacy tags alone: the
//! verification records (kind and predicate type), the referrers' `artifactType`s and the
//! `.sig` / `.att` / `.sbom` tags. A Sigstore bundle referrer that was never verified may
//! hold a signature or any attestation, so it makes "none" unknowable.

use imagebom_model::lock::{BuildProvenance, SignatureKind, SignatureVerdict, Verdict};
use imagebom_model::Provenance;

/// `artifactType` prefix of Sigstore bundles (`…bundle.v0.3+json`, `…bundle+json;version=…`).
const BUNDLE: &str = "application/vnd.dev.sigstore.bundle";

fn is_bundle(t: &str) -> bool {
    t.starts_with(BUNDLE)
}

/// A cosign signature stored as a referrer (cosign's OCI 1.1 mode).
fn is_signature_type(t: &str) -> bool {
    t.starts_with("application/vnd.dev.cosign.artifact.sig")
}

/// An in-toto statement or DSSE envelope stored as a referrer.
fn is_attestation_type(t: &str) -> bool {
    t.starts_with("application/vnd.in-toto") || t.starts_with("application/vnd.dsse.envelope")
}

/// A CycloneDX or SPDX document stored as a referrer.
fn is_sbom_type(t: &str) -> bool {
    t.starts_with("application/vnd.cyclonedx")
        || t.starts_with("application/spdx")
        || t.starts_with("text/spdx")
        || t.starts_with("application/vnd.dev.cosign.artifact.sbom")
}

/// An in-toto predicate type that is an SBOM (CycloneDX or SPDX).
pub(crate) fn is_sbom_predicate(p: &str) -> bool {
    p.starts_with("https://cyclonedx.org/bom") || p.starts_with("https://spdx.dev/Document")
}

/// `true` when found, `false` when every place was checked and nothing was there, `None`
/// (unknown) otherwise.
fn derive(found: bool, checked: bool, ambiguous: bool) -> Option<bool> {
    if found {
        Some(true)
    } else if !checked || ambiguous {
        None
    } else {
        Some(false)
    }
}

/// The signature status of an image, as the page's matrix and `imagebom:signed` say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signed {
    /// At least one signature verified.
    Verified,
    /// A signature is present, none verified (or verification never ran).
    Unverified,
    /// Checked: no signature anywhere.
    None,
    /// Never checked, or could not be.
    Unknown,
}

impl Signed {
    /// `verified`, `unverified`, `none` or `unknown`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Signed::Verified => "verified",
            Signed::Unverified => "unverified",
            Signed::None => "none",
            Signed::Unknown => "unknown",
        }
    }
}

/// The summary of one provenance record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    p: &'a Provenance,
}

impl<'a> View<'a> {
    pub(crate) fn new(p: &'a Provenance) -> Self {
        View { p }
    }

    fn records(&self) -> &'a [SignatureVerdict] {
        self.p.verification.as_deref().unwrap_or(&[])
    }

    fn referrers(&self) -> &'a [String] {
        self.p.referrers.as_deref().unwrap_or(&[])
    }

    fn has_referrer(&self, f: fn(&str) -> bool) -> bool {
        self.referrers().iter().any(|t| f(t))
    }

    /// Whether a bundle referrer was never classified by verification.
    fn ambiguous(&self) -> bool {
        self.p.verification.is_none() && self.has_referrer(is_bundle)
    }

    fn checked(&self, tag: Option<bool>) -> bool {
        tag.is_some() && self.p.referrers.is_some()
    }

    /// Whether the image has a signature: a verification record, a referrer or the tag.
    pub(crate) fn signature(&self) -> Option<bool> {
        let found = self.p.signature == Some(true)
            || self
                .records()
                .iter()
                .any(|r| r.kind == SignatureKind::Signature)
            || self.has_referrer(is_signature_type);
        derive(found, self.checked(self.p.signature), self.ambiguous())
    }

    /// Whether the image has attestations: a verification record, a referrer or the tag.
    pub(crate) fn attestation(&self) -> Option<bool> {
        let found = self.p.attestation == Some(true)
            || self
                .records()
                .iter()
                .any(|r| r.kind == SignatureKind::Attestation)
            || self.has_referrer(is_attestation_type);
        derive(found, self.checked(self.p.attestation), self.ambiguous())
    }

    /// Whether an SBOM is attached or attested: an SBOM attestation, an SBOM referrer or the
    /// `.sbom` tag.
    pub(crate) fn sbom(&self) -> Option<bool> {
        let found = self.p.sbom == Some(true)
            || self.sbom_attestation().is_some()
            || self.has_referrer(is_sbom_type);
        derive(found, self.checked(self.p.sbom), self.ambiguous())
    }

    /// The verdict of the best SBOM attestation (verified before unverified), if any.
    pub(crate) fn sbom_attestation(&self) -> Option<Verdict> {
        self.records()
            .iter()
            .filter(|r| r.kind == SignatureKind::Attestation)
            .filter(|r| r.predicate_type.as_deref().is_some_and(is_sbom_predicate))
            .map(|r| r.verdict)
            .min()
    }

    /// The signature status: verified, present but unverified, none or unknown.
    pub(crate) fn signed(&self) -> Signed {
        let sigs = || {
            self.records()
                .iter()
                .filter(|r| r.kind == SignatureKind::Signature)
        };
        if sigs().any(|r| r.verdict == Verdict::Verified) {
            return Signed::Verified;
        }
        match self.signature() {
            Some(true) => Signed::Unverified,
            Some(false) => Signed::None,
            None => Signed::Unknown,
        }
    }

    /// Every distinct verified signer (signatures and attestations), sorted.
    pub(crate) fn signers(&self) -> Vec<Signer<'a>> {
        let mut out: Vec<Signer<'a>> = self
            .records()
            .iter()
            .filter(|r| r.verdict == Verdict::Verified)
            .filter_map(Signer::of)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every distinct build a verified attestation describes, sorted.
    pub(crate) fn builds(&self) -> Vec<&'a BuildProvenance> {
        let mut out: Vec<&BuildProvenance> = self
            .records()
            .iter()
            .filter(|r| r.verdict == Verdict::Verified)
            .filter_map(|r| r.build.as_ref())
            .collect();
        out.sort_by_key(|b| build_key(b));
        out.dedup();
        out
    }

    /// The verification records, in discovery order; `None` when verification never ran.
    pub(crate) fn verification(&self) -> Option<&'a [SignatureVerdict]> {
        self.p.verification.as_deref()
    }
}

fn build_key(b: &BuildProvenance) -> [&str; 5] {
    [
        b.builder_id.as_deref().unwrap_or(""),
        b.build_type.as_deref().unwrap_or(""),
        b.source_repository.as_deref().unwrap_or(""),
        b.source_ref.as_deref().unwrap_or(""),
        b.source_commit.as_deref().unwrap_or(""),
    ]
}

/// Who signed: a keyless identity (certificate SAN and OIDC issuer) or a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Signer<'a> {
    /// Keyless: SAN and issuer (either may be missing in a hand-written lock).
    Identity {
        subject: Option<&'a str>,
        issuer: Option<&'a str>,
    },
    /// Keyed: the Sigstore key ID.
    Key(&'a str),
}

impl<'a> Signer<'a> {
    fn of(r: &'a SignatureVerdict) -> Option<Self> {
        if r.subject.is_some() || r.issuer.is_some() {
            Some(Signer::Identity {
                subject: r.subject.as_deref(),
                issuer: r.issuer.as_deref(),
            })
        } else {
            r.key_id.as_deref().map(Signer::Key)
        }
    }
}

/// `kind|source|verdict|signer|predicateType|reason`: one verification record as a
/// property / annotation value (the signer as `SUBJECT (ISSUER)` or `key:KEYID`; empty
/// fields stay empty).
pub(crate) fn verdict_text(r: &SignatureVerdict) -> String {
    let kind = match r.kind {
        SignatureKind::Signature => "signature",
        SignatureKind::Attestation => "attestation",
    };
    let verdict = match r.verdict {
        Verdict::Verified => "verified",
        Verdict::Unverified => "unverified",
    };
    let signer = Signer::of(r).map(|s| signer_text(&s)).unwrap_or_default();
    format!(
        "{kind}|{}|{verdict}|{signer}|{}|{}",
        r.source,
        r.predicate_type.as_deref().unwrap_or(""),
        r.reason.as_deref().unwrap_or("")
    )
}

/// `SUBJECT (ISSUER)` or `key:KEYID`.
pub(crate) fn signer_text(s: &Signer<'_>) -> String {
    match s {
        Signer::Identity { subject, issuer } => match (subject, issuer) {
            (Some(s), Some(i)) => format!("{s} ({i})"),
            (Some(s), None) => s.to_string(),
            (None, Some(i)) => format!("({i})"),
            (None, None) => String::new(),
        },
        Signer::Key(k) => format!("key:{k}"),
    }
}

/// `REPOSITORY@COMMIT` (or `@REF`), whichever parts the build names.
pub(crate) fn source_text(b: &BuildProvenance) -> Option<String> {
    let at = b.source_commit.as_deref().or(b.source_ref.as_deref());
    match (b.source_repository.as_deref(), at) {
        (Some(r), Some(c)) => Some(format!("{r}@{c}")),
        (Some(r), None) => Some(r.to_string()),
        (None, Some(c)) => Some(format!("@{c}")),
        (None, None) => None,
    }
}
