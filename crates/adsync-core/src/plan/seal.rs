//! Sealed plans: a saved plan carries a SHA-256 digest of its own content and, when
//! `sync.plan_signing_key` is set, an HMAC-SHA256 of the same bytes, so that a file edited
//! after `adsync plan --out` is refused before anything in it is believed.
//!
//! The sealed bytes are the plan's canonical JSON (serde's, field order fixed by the types,
//! every map sorted) with `digest` and `signature` left out: a file is read, parsed, written
//! again and hashed, so layout and key order do not matter but any change of meaning does.
//! The digest alone catches edits by hand and corruption; anyone who can write the file can
//! also recompute a bare digest, which is what the HMAC (and the invariants of
//! [`super::verify`]) are for.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::Plan;

/// How a digest is spelled: `sha256:<64 hex digits>`.
pub const DIGEST_PREFIX: &str = "sha256:";

/// How a signature is spelled: `hmac-sha256:<64 hex digits>`.
pub const SIGNATURE_PREFIX: &str = "hmac-sha256:";

/// Why a saved plan's seal does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The plan has no digest: made by an adsync before sealed plans, or stripped.
    #[error("the plan is not sealed (it has no `digest`)")]
    Unsealed,
    /// The digest is not `sha256:` and 64 hex digits.
    #[error("the plan's `digest` is not `sha256:` followed by 64 hex digits")]
    MalformedDigest,
    /// The content does not hash to the digest: the file was edited or corrupted.
    #[error(
        "the plan's content does not match its `digest`: the file was edited after it was saved"
    )]
    DigestMismatch,
    /// A signing key is configured but the plan carries no signature.
    #[error(
        "sync.plan_signing_key is set but the plan has no `signature`: it was not made with the key"
    )]
    Unsigned,
    /// The plan carries a signature but no signing key is configured to check it.
    #[error(
        "the plan has a `signature` but sync.plan_signing_key is not set, so it cannot be checked"
    )]
    NoKey,
    /// The signature does not hold for the configured key.
    #[error(
        "the plan's `signature` does not match sync.plan_signing_key: the file was edited or signed with another key"
    )]
    BadSignature,
}

/// A saved plan type that carries a seal (Rescue's [`Plan`], GoTo's): its canonical JSON
/// without `digest` and `signature` is what both cover.
pub trait Sealed: serde::Serialize + Clone {
    /// The `digest` and `signature` fields, to set.
    fn seal_mut(&mut self) -> (&mut Option<String>, &mut Option<String>);

    /// The `digest` and `signature` fields.
    fn seal_of(&self) -> (Option<&str>, Option<&str>);

    /// The bytes the digest and signature cover: the canonical JSON without either.
    fn sealed_bytes(&self) -> Vec<u8> {
        let mut unsealed = self.clone();
        let (digest, signature) = unsealed.seal_mut();
        (*digest, *signature) = (None, None);
        // A plan holds strings, numbers, bools, sorted maps and sequences: serde_json cannot
        // fail on it.
        serde_json::to_vec(&unsealed).unwrap_or_default()
    }

    /// Seals the plan: its digest, and its signature when `key` is given.
    fn seal(&mut self, key: Option<&[u8]>) {
        let (digest, signature) = seal_bytes(&self.sealed_bytes(), key);
        let (to_digest, to_signature) = self.seal_mut();
        (*to_digest, *to_signature) = (digest, signature);
    }

    /// Checks the seal: the digest must match the content; with `key`, the signature must be
    /// present and match; without, there must be none (it could not be checked).
    fn check_seal(&self, key: Option<&[u8]>) -> Result<(), SealError> {
        let (digest, signature) = self.seal_of();
        check_bytes(&self.sealed_bytes(), digest, signature, key)
    }
}

impl Sealed for Plan {
    fn seal_mut(&mut self) -> (&mut Option<String>, &mut Option<String>) {
        (&mut self.digest, &mut self.signature)
    }

    fn seal_of(&self) -> (Option<&str>, Option<&str>) {
        (self.digest.as_deref(), self.signature.as_deref())
    }
}

impl Plan {
    /// Seals the plan ([`Sealed::seal`]).
    pub fn seal(&mut self, key: Option<&[u8]>) {
        Sealed::seal(self, key);
    }

    /// Checks the seal ([`Sealed::check_seal`]).
    pub fn check_seal(&self, key: Option<&[u8]>) -> Result<(), SealError> {
        Sealed::check_seal(self, key)
    }
}

/// The digest of `bytes` (a plan's canonical JSON without its seal), and their signature when
/// `key` is given.
fn seal_bytes(bytes: &[u8], key: Option<&[u8]>) -> (Option<String>, Option<String>) {
    let digest = format!("{DIGEST_PREFIX}{}", hex(&Sha256::digest(bytes)));
    let signature = key.map(|key| format!("{SIGNATURE_PREFIX}{}", hex(&mac(key, bytes))));
    (Some(digest), signature)
}

/// Checks the seal (`digest`, `signature`) of `bytes`: the digest must match; with `key`, the
/// signature must be present and match; without, there must be none (it could not be checked).
fn check_bytes(
    bytes: &[u8],
    digest: Option<&str>,
    signature: Option<&str>,
    key: Option<&[u8]>,
) -> Result<(), SealError> {
    let digest = digest.ok_or(SealError::Unsealed)?;
    let digest = parse_hex(digest, DIGEST_PREFIX).ok_or(SealError::MalformedDigest)?;
    if Sha256::digest(bytes).as_slice() != digest.as_slice() {
        return Err(SealError::DigestMismatch);
    }
    match (key, signature) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(SealError::NoKey),
        (Some(_), None) => Err(SealError::Unsigned),
        (Some(key), Some(signature)) => {
            let signature =
                parse_hex(signature, SIGNATURE_PREFIX).ok_or(SealError::BadSignature)?;
            let mut check = keyed(key);
            check.update(bytes);
            // Constant-time comparison (the `hmac` crate compares through `subtle`).
            check
                .verify_slice(&signature)
                .map_err(|_| SealError::BadSignature)
        }
    }
}

fn keyed(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

fn mac(key: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut mac = keyed(key);
    mac.update(bytes);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The 32 bytes of `prefix` and 64 lower- or upper-case hex digits.
fn parse_hex(text: &str, prefix: &str) -> Option<Vec<u8>> {
    let digits = text.strip_prefix(prefix)?;
    if digits.len() != 64 || !digits.is_ascii() {
        return None;
    }
    (0..32)
        .map(|at| u8::from_str_radix(&digits[at * 2..at * 2 + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        super::super::fixture::demo().2
    }

    #[test]
    fn a_sealed_plan_checks_and_survives_a_round_trip() {
        let mut plan = plan();
        plan.seal(None);
        assert_eq!(plan.check_seal(None), Ok(()));
        let again: Plan =
            serde_json::from_str(&serde_json::to_string_pretty(&plan).expect("json")).expect("p");
        assert_eq!(again.check_seal(None), Ok(()));
        plan.seal(Some(b"k"));
        assert_eq!(plan.check_seal(Some(b"k")), Ok(()));
    }

    #[test]
    fn every_broken_seal_is_named() {
        let mut plan = plan();
        assert_eq!(plan.check_seal(None), Err(SealError::Unsealed));
        plan.seal(None);
        assert_eq!(plan.check_seal(Some(b"k")), Err(SealError::Unsigned));
        let mut edited = plan.clone();
        edited.config_digest.push('0');
        assert_eq!(edited.check_seal(None), Err(SealError::DigestMismatch));
        edited.digest = Some("sha256:abc".into());
        assert_eq!(edited.check_seal(None), Err(SealError::MalformedDigest));
        plan.seal(Some(b"key one"));
        assert_eq!(plan.check_seal(None), Err(SealError::NoKey));
        assert_eq!(
            plan.check_seal(Some(b"key two")),
            Err(SealError::BadSignature)
        );
        // A recomputed digest does not help without the key.
        let mut forged = plan.clone();
        forged.config_digest.push('0');
        let signature = forged.signature.clone();
        forged.seal(None);
        forged.signature = signature;
        assert_eq!(
            forged.check_seal(Some(b"key one")),
            Err(SealError::BadSignature)
        );
    }
}
