//! The recipe's trust policy: whom it trusts to sign a component's images (`verify`), and who
//! answers for what cannot be verified (`owner`, `admissionPolicy`), per component and per image
//! (`imagePolicies`).
//!
//! ```yaml
//! components:
//!   - name: web
//!     helm: { repository: oci://ghcr.io/acme/charts, chart: web, version: 1.2.3 }
//!     verify:
//!       identities:
//!         - { issuer: https://token.actions.githubusercontent.com, subjectRegExp: '^https://github\.com/acme/' }
//!       keys: [keys/acme.pub]
//!       provenance: { builderId: https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0 }
//!     imagePolicies:
//!       - match: docker.io/library/busybox
//!         owner: platform-team
//!         admissionPolicy: { kind: ClusterPolicy, name: busybox-allowlist }
//! ```
//!
//! Keys are PEM `PUBLIC KEY` blocks, inline or in a file relative to the recipe; identities
//! match as cosign's `--certificate-identity[-regexp]` / `--certificate-oidc-issuer[-regexp]`
//! (regular expressions unanchored). Validation reads every key and compiles every expression.

use crate::{Component, Recipe, RecipeError};
use base64::Engine;
use imagebom_model::{
    AdmissionPolicyRef, ComponentTrust, ImageRef, ImageTrust, ProvenanceRequirement, TrustPolicy,
    TrustedIdentity, TrustedKey,
};
use serde::{Deserialize, Serialize};

/// Largest key file read, in bytes.
const MAX_KEY_BYTES: u64 = 64 << 10;
/// SLSA provenance v1 predicate type (the default).
pub const SLSA_V1: &str = "https://slsa.dev/provenance/v1";
/// SLSA provenance v0.2 predicate type.
pub const SLSA_V02: &str = "https://slsa.dev/provenance/v0.2";

/// `verify:` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifySpec {
    /// Trusted keyless signers.
    #[serde(default)]
    pub identities: Vec<TrustedIdentity>,
    /// Trusted keys: PEM text, or a file path relative to the recipe.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Require an SLSA provenance attestation at admission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<ProvenanceSpec>,
}

/// `verify.provenance:` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvenanceSpec {
    /// `https://slsa.dev/provenance/v1` (default) or `https://slsa.dev/provenance/v0.2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// The builder ID the provenance must name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder_id: Option<String>,
}

/// `admissionPolicy:` as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdmissionPolicySpec {
    /// Policy kind (`ClusterPolicy`, `ClusterImagePolicy`, …).
    pub kind: String,
    /// Policy name.
    pub name: String,
}

/// One `imagePolicies[]` entry: an override for the images `match` covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImagePolicySpec {
    /// Repository glob, or reference glob when it has a tag or digest.
    #[serde(rename = "match")]
    pub pattern: String,
    /// Whom to trust (replaces the component's `verify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifySpec>,
    /// Who answers for the images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The deploy-time policy covering them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission_policy: Option<AdmissionPolicySpec>,
}

/// Validates the trust fields of component `i` and resolves them (keys read) for the BOM;
/// `None` when the component has none.
pub(crate) fn resolve(
    recipe: &Recipe,
    i: usize,
    line: usize,
) -> Result<Option<ComponentTrust>, RecipeError> {
    let c: &Component = &recipe.components[i];
    if c.verify.is_none()
        && c.owner.is_none()
        && c.admission_policy.is_none()
        && c.image_policies.is_empty()
    {
        return Ok(None);
    }
    let at = Site { recipe, i, line };
    let policy = at.policy(
        "",
        c.verify.as_ref(),
        c.owner.as_ref(),
        c.admission_policy.as_ref(),
    )?;
    let mut images = Vec::new();
    for (j, o) in c.image_policies.iter().enumerate() {
        let prefix = format!("imagePolicies[{j}].");
        at.pattern(&prefix, &o.pattern)?;
        let policy = at.policy(
            &prefix,
            o.verify.as_ref(),
            o.owner.as_ref(),
            o.admission_policy.as_ref(),
        )?;
        images.push(ImageTrust {
            pattern: o.pattern.clone(),
            policy,
        });
    }
    Ok(Some(ComponentTrust { policy, images }))
}

/// Where errors point: the recipe, component `i`, its line.
struct Site<'a> {
    recipe: &'a Recipe,
    i: usize,
    line: usize,
}

impl Site<'_> {
    fn err(&self, needle: &str, field: &str, message: impl Into<String>) -> RecipeError {
        RecipeError::Invalid {
            path: self.recipe.path.display().to_string(),
            line: if needle.is_empty() {
                self.line
            } else {
                self.recipe.line_of(needle, self.line)
            },
            field: format!(
                "components[{}].{field} (component {:?})",
                self.i, self.recipe.components[self.i].name
            ),
            message: message.into(),
        }
    }

    fn pattern(&self, prefix: &str, pattern: &str) -> Result<(), RecipeError> {
        let plain = pattern.replace('*', "x");
        if pattern.trim().is_empty() || ImageRef::parse(&plain).is_err() {
            return Err(self.err(
                pattern,
                &format!("{prefix}match"),
                format!("{pattern:?} is not a repository or reference glob"),
            ));
        }
        Ok(())
    }

    fn policy(
        &self,
        prefix: &str,
        verify: Option<&VerifySpec>,
        owner: Option<&String>,
        admission: Option<&AdmissionPolicySpec>,
    ) -> Result<TrustPolicy, RecipeError> {
        let mut p = TrustPolicy::default();
        if let Some(v) = verify {
            for (k, id) in v.identities.iter().enumerate() {
                self.identity(&format!("{prefix}verify.identities[{k}]"), id)?;
            }
            p.identities = v.identities.clone();
            for (k, key) in v.keys.iter().enumerate() {
                p.keys
                    .push(self.key(&format!("{prefix}verify.keys[{k}]"), key)?);
            }
            if let Some(pr) = &v.provenance {
                p.provenance = Some(self.provenance(&format!("{prefix}verify.provenance"), pr)?);
            }
            if !p.verifies() {
                return Err(self.err(
                    "verify",
                    &format!("{prefix}verify"),
                    "names no identity and no key",
                ));
            }
        }
        if let Some(o) = owner {
            if o.trim().is_empty() {
                return Err(self.err("owner", &format!("{prefix}owner"), "must not be empty"));
            }
            p.owner = Some(o.clone());
        }
        if let Some(a) = admission {
            if a.kind.trim().is_empty() || a.name.trim().is_empty() {
                return Err(self.err(
                    "admissionPolicy",
                    &format!("{prefix}admissionPolicy"),
                    "needs a kind and a name",
                ));
            }
            p.admission_policy = Some(AdmissionPolicyRef {
                kind: a.kind.clone(),
                name: a.name.clone(),
            });
        }
        Ok(p)
    }

    fn identity(&self, field: &str, id: &TrustedIdentity) -> Result<(), RecipeError> {
        let pairs = [
            ("subject", &id.subject, &id.subject_reg_exp),
            ("issuer", &id.issuer, &id.issuer_reg_exp),
        ];
        for (name, exact, re) in pairs {
            match (exact, re) {
                (Some(_), Some(_)) => {
                    return Err(self.err(
                        "RegExp",
                        field,
                        format!("give `{name}` or `{name}RegExp`, not both"),
                    ))
                }
                (None, None) => {
                    return Err(self.err(
                        "identities",
                        field,
                        format!("needs `{name}` or `{name}RegExp`"),
                    ))
                }
                (Some(s), None) if s.trim().is_empty() => {
                    return Err(self.err(s, field, format!("`{name}` must not be empty")))
                }
                (None, Some(r)) => {
                    if let Err(e) = imagebom_verify::Matcher::regex(r) {
                        return Err(self.err(r, &format!("{field}.{name}RegExp"), e.to_string()));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn key(&self, field: &str, key: &str) -> Result<TrustedKey, RecipeError> {
        let (source, text) = if key.contains("-----BEGIN") {
            ("inline".to_string(), key.to_string())
        } else {
            let path = self.recipe.base_dir().join(key);
            let bytes = imagebom_model::fsutil::read_limited(&path, MAX_KEY_BYTES)
                .map_err(|e| {
                    self.err(
                        key,
                        field,
                        format!("cannot read key {}: {e}", path.display()),
                    )
                })?
                .ok_or_else(|| {
                    self.err(
                        key,
                        field,
                        format!("{} is larger than {MAX_KEY_BYTES} bytes", path.display()),
                    )
                })?;
            (
                key.to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        };
        let needle = if source == "inline" { "keys" } else { key };
        if text.contains("PRIVATE KEY-----") {
            return Err(self.err(
                needle,
                field,
                format!("{source}: holds a private key; give the public key only"),
            ));
        }
        let public = imagebom_verify::PublicKey::from_pem(&text).map_err(|e| {
            self.err(
                needle,
                field,
                format!("{source}: not a usable public key: {e}"),
            )
        })?;
        Ok(TrustedKey {
            source,
            pem: pem_of(public.spki_der()),
            key_id: hex::encode(public.key_id()),
        })
    }

    fn provenance(
        &self,
        field: &str,
        p: &ProvenanceSpec,
    ) -> Result<ProvenanceRequirement, RecipeError> {
        let predicate_type = p.predicate_type.as_deref().unwrap_or(SLSA_V1);
        if predicate_type != SLSA_V1 && predicate_type != SLSA_V02 {
            return Err(self.err(
                predicate_type,
                &format!("{field}.predicateType"),
                format!(
                    "{predicate_type:?} is not an SLSA provenance type ({SLSA_V1} or {SLSA_V02})"
                ),
            ));
        }
        Ok(ProvenanceRequirement {
            predicate_type: predicate_type.to_string(),
            builder_id: p.builder_id.clone(),
        })
    }
}

/// A canonical PEM `PUBLIC KEY` block (64-column base64) for `spki` DER.
fn pem_of(spki: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(spki);
    let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END PUBLIC KEY-----\n");
    out
}
