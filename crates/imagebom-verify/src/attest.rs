//! What attestations say: in-toto statements (v0.1 and v1), SLSA provenance (v0.2 and v1) and
//! which SBOM or vulnerability predicates are attested.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::keys::HashAlg;
use crate::x509::CertIdentity;

/// in-toto Statement v0.1.
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// in-toto Statement v1.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";

/// One subject of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Subject {
    /// Its name (a file, an image, a package URL).
    #[serde(default)]
    pub name: String,
    /// Algorithm name (`sha256`, `sha512`, `gitCommit`…) to lowercase hex.
    #[serde(default)]
    pub digest: BTreeMap<String, String>,
}

/// An in-toto statement.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Statement {
    /// `_type`: [`STATEMENT_V01`] or [`STATEMENT_V1`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// What it is about.
    pub subject: Vec<Subject>,
    /// The predicate's type URI.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The predicate, unparsed.
    #[serde(default)]
    pub predicate: Value,
}

impl Statement {
    /// Parses a statement (v0.1 or v1; anything else is an error naming the `_type`).
    pub fn from_json(json: &[u8]) -> Result<Self> {
        let st: Statement =
            serde_json::from_slice(json).map_err(|e| Error::malformed("in-toto statement", e))?;
        if st.statement_type != STATEMENT_V01 && st.statement_type != STATEMENT_V1 {
            return Err(Error::Unsupported(format!(
                "in-toto statement type {}",
                st.statement_type
            )));
        }
        Ok(st)
    }

    /// Whether a subject carries `digest` under `alg`.
    pub fn has_subject(&self, alg: HashAlg, digest: &[u8]) -> bool {
        let name = match alg {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
        };
        let want = hex::encode(digest);
        self.subject.iter().any(|s| {
            s.digest
                .get(name)
                .is_some_and(|d| d.eq_ignore_ascii_case(&want))
        })
    }

    /// What kind of predicate this is.
    pub fn kind(&self) -> PredicateKind {
        PredicateKind::of(&self.predicate_type)
    }

    /// The SLSA provenance it carries, if it is one.
    pub fn provenance(&self) -> Option<Provenance> {
        match self.kind() {
            PredicateKind::SlsaProvenanceV02 => Some(provenance_v02(&self.predicate)),
            PredicateKind::SlsaProvenanceV1 => Some(provenance_v1(&self.predicate)),
            _ => None,
        }
    }
}

/// A predicate type, recognised by its URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PredicateKind {
    /// SLSA provenance v0.1 / v0.2 (`https://slsa.dev/provenance/v0.2`).
    SlsaProvenanceV02,
    /// SLSA provenance v1.
    SlsaProvenanceV1,
    /// A CycloneDX SBOM.
    CycloneDx,
    /// An SPDX SBOM.
    Spdx,
    /// A vulnerability report (cosign's `vuln` or in-toto's `vulns`).
    Vulnerabilities,
    /// Anything else.
    Other,
}

impl PredicateKind {
    /// Classifies a predicate type URI.
    pub fn of(uri: &str) -> Self {
        let u = uri.trim_end_matches('/');
        match u {
            "https://slsa.dev/provenance/v0.1" | "https://slsa.dev/provenance/v0.2" => {
                Self::SlsaProvenanceV02
            }
            "https://slsa.dev/provenance/v1" => Self::SlsaProvenanceV1,
            "https://cyclonedx.org/bom" | "cyclonedx" => Self::CycloneDx,
            "https://spdx.dev/Document" | "spdx" | "spdxjson" => Self::Spdx,
            "https://cosign.sigstore.dev/attestation/vuln/v1"
            | "https://in-toto.io/attestation/vulns/v0.1"
            | "vuln" => Self::Vulnerabilities,
            _ if u.starts_with("https://cyclonedx.org/bom/") => Self::CycloneDx,
            _ if u.starts_with("https://spdx.dev/Document/") => Self::Spdx,
            _ if u.starts_with("https://in-toto.io/attestation/vulns/") => Self::Vulnerabilities,
            _ => Self::Other,
        }
    }
}

/// What SLSA provenance says about a build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// The predicate type it came from.
    pub predicate_type: String,
    /// `builder.id` (v0.2) or `runDetails.builder.id` (v1).
    pub builder_id: Option<String>,
    /// `buildType` (v0.2) or `buildDefinition.buildType` (v1).
    pub build_type: Option<String>,
    /// The source repository (the `git+` scheme and `@ref` removed).
    pub source_repository: Option<String>,
    /// The ref the source was built from (`refs/tags/v1.0`), when the document names one.
    pub source_ref: Option<String>,
    /// The source commit (a `sha1` / `gitCommit` digest).
    pub source_commit: Option<String>,
    /// The build's entry point (v0.2 `invocation.configSource.entryPoint`, v1 workflow path).
    pub entry_point: Option<String>,
}

fn s(v: &Value, path: &[&str]) -> Option<String> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))?
        .as_str()
        .filter(|x| !x.is_empty())
        .map(str::to_string)
}

fn commit_of(digest: &Value) -> Option<String> {
    ["gitCommit", "sha1", "sha256"]
        .iter()
        .find_map(|k| s(digest, &[k]))
}

/// Splits `git+https://host/repo@refs/x` into the repository URL and the ref.
fn split_source(uri: &str) -> (String, Option<String>) {
    let uri = uri.strip_prefix("git+").unwrap_or(uri);
    let scheme_end = uri.find("://").map_or(0, |i| i + 3);
    match uri[scheme_end..].rfind('@') {
        Some(at) => {
            let at = scheme_end + at;
            (uri[..at].to_string(), Some(uri[at + 1..].to_string()))
        }
        None => (uri.to_string(), None),
    }
}

fn provenance_v02(p: &Value) -> Provenance {
    let config = p.get("invocation").and_then(|i| i.get("configSource"));
    let source = config.filter(|c| s(c, &["uri"]).is_some()).or_else(|| {
        p.get("materials")
            .and_then(|m| m.as_array())
            .and_then(|m| m.first())
    });
    let (repo, reference) = source
        .and_then(|c| s(c, &["uri"]))
        .map(|u| split_source(&u))
        .map_or((None, None), |(r, f)| (Some(r), f));
    Provenance {
        predicate_type: "https://slsa.dev/provenance/v0.2".into(),
        builder_id: s(p, &["builder", "id"]),
        build_type: s(p, &["buildType"]),
        source_repository: repo,
        source_ref: reference,
        source_commit: source.and_then(|c| c.get("digest")).and_then(commit_of),
        entry_point: config.and_then(|c| s(c, &["entryPoint"])),
    }
}

fn provenance_v1(p: &Value) -> Provenance {
    let def = p.get("buildDefinition").cloned().unwrap_or_default();
    let deps = def
        .get("resolvedDependencies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let source = deps
        .iter()
        .find(|d| s(d, &["uri"]).is_some_and(|u| u.starts_with("git+")))
        .or_else(|| deps.first());
    let (mut repo, mut reference) = source
        .and_then(|d| s(d, &["uri"]))
        .map(|u| split_source(&u))
        .map_or((None, None), |(r, f)| (Some(r), f));
    let workflow = def
        .get("externalParameters")
        .and_then(|e| e.get("workflow"));
    if repo.is_none() {
        repo = workflow.and_then(|w| s(w, &["repository"]));
    }
    if reference.is_none() {
        reference = workflow.and_then(|w| s(w, &["ref"]));
    }
    Provenance {
        predicate_type: "https://slsa.dev/provenance/v1".into(),
        builder_id: s(p, &["runDetails", "builder", "id"]),
        build_type: s(&def, &["buildType"]),
        source_repository: repo,
        source_ref: reference,
        source_commit: source.and_then(|d| d.get("digest")).and_then(commit_of),
        entry_point: workflow.and_then(|w| s(w, &["path"])),
    }
}

/// Per image: who signed it, how it was built, what is attested — the shape the lock records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImageAttestations {
    /// Verified keyless signers (SAN, issuer) or key IDs, sorted.
    pub signers: BTreeSet<String>,
    /// The OIDC issuers of the verified keyless signers.
    pub issuers: BTreeSet<String>,
    /// Builders named by verified provenance.
    pub builders: BTreeSet<String>,
    /// Source repositories with the commit, `repo@commit` (or the repository alone).
    pub sources: BTreeSet<String>,
    /// Every predicate type seen in a verified attestation.
    pub predicate_types: BTreeSet<String>,
    /// Whether a verified attestation carries an SBOM (CycloneDX or SPDX).
    pub sbom: bool,
    /// Whether a verified attestation carries a vulnerability report.
    pub vulnerabilities: bool,
}

impl ImageAttestations {
    /// Records a verified signature's signer.
    pub fn add_signer(&mut self, signer: &crate::Signer) {
        match signer {
            crate::Signer::Keyless(id) => self.add_identity(id),
            crate::Signer::Key { key_id } => {
                self.signers.insert(format!("key:{key_id}"));
            }
        }
    }

    fn add_identity(&mut self, id: &CertIdentity) {
        self.signers.extend(id.sans.iter().cloned());
        self.issuers.extend(id.issuer.iter().cloned());
    }

    /// Records a verified statement.
    pub fn add_statement(&mut self, st: &Statement) {
        self.predicate_types.insert(st.predicate_type.clone());
        match st.kind() {
            PredicateKind::CycloneDx | PredicateKind::Spdx => self.sbom = true,
            PredicateKind::Vulnerabilities => self.vulnerabilities = true,
            _ => {}
        }
        if let Some(p) = st.provenance() {
            self.builders.extend(p.builder_id.clone());
            if let Some(repo) = p.source_repository {
                self.sources.insert(match p.source_commit {
                    Some(c) => format!("{repo}@{c}"),
                    None => repo,
                });
            }
        }
    }
}
