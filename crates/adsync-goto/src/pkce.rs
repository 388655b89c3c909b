//! PKCE (RFC 7636, S256) and the `state` value of the authorization-code flow.

use adsync_core::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::Error;

/// A code verifier and its S256 challenge.
#[derive(Debug)]
pub struct Pkce {
    /// The verifier: 43 characters of base64url from 32 random bytes. Sent only to the token
    /// endpoint.
    pub verifier: Secret,
    /// `BASE64URL(SHA256(verifier))`, sent in the authorization URL.
    pub challenge: String,
}

impl Pkce {
    /// A fresh verifier from the operating system's random source.
    pub fn generate() -> Result<Pkce, Error> {
        Ok(Pkce::from_verifier(Secret::new(random_token()?)))
    }

    /// The pair for a given verifier.
    pub fn from_verifier(verifier: Secret) -> Pkce {
        let challenge = challenge_of(verifier.expose());
        Pkce {
            verifier,
            challenge,
        }
    }
}

/// The S256 challenge of `verifier`.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// 32 random bytes from the operating system, as 43 characters of base64url: a PKCE verifier
/// or a `state` value.
pub fn random_token() -> Result<String, Error> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| Error::Random(error.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_gives_its_challenge() {
        // RFC 7636, Appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_fresh_and_well_formed() {
        let a = Pkce::generate().unwrap();
        let b = Pkce::generate().unwrap();
        assert_ne!(a.verifier.expose(), b.verifier.expose());
        for pkce in [&a, &b] {
            let verifier = pkce.verifier.expose();
            assert_eq!(verifier.len(), 43);
            assert!(
                verifier
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            );
            assert_eq!(pkce.challenge, challenge_of(verifier));
        }
        assert_eq!(format!("{:?}", a.verifier), "[REDACTED]");
    }
}
