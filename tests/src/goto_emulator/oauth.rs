//! The authorization server: the consent redirect, codes bound to a PKCE challenge and a
//! redirect URI, refresh tokens (rotated when asked), access tokens that expire, revocation.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::account::Answer;

/// The OAuth client id the emulator accepts.
pub const CLIENT_ID: &str = "emulator-goto-client";
/// Its secret.
pub const CLIENT_SECRET: &str = "emulator-goto-client-secret";

#[derive(Debug)]
struct Code {
    redirect_uri: String,
    challenge: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Tokens {
    codes: BTreeMap<String, Code>,
    refresh: BTreeSet<String>,
    access: BTreeMap<String, Instant>,
    pub(crate) rotate: bool,
    pub(crate) lifetime: Option<Duration>,
    pub(crate) refreshes: usize,
    pub(crate) issued: usize,
}

fn oauth_error(status: u16, error: &str, description: &str) -> Answer {
    (
        status,
        serde_json::json!({ "error": error, "error_description": description }).to_string(),
    )
}

impl Tokens {
    fn mint(&mut self, prefix: &str) -> String {
        self.issued += 1;
        format!(
            "emulator-{prefix}-{}-{:016x}",
            self.issued,
            fastrand::u64(..)
        )
    }

    /// A refresh token the emulator accepts, as `adsync goto login` would have stored.
    pub(crate) fn grant_refresh(&mut self) -> String {
        let token = self.mint("refresh");
        self.refresh.insert(token.clone());
        token
    }

    pub(crate) fn revoke_refresh(&mut self) {
        self.refresh.clear();
    }

    pub(crate) fn expire_access(&mut self) {
        self.access.clear();
    }

    pub(crate) fn access_valid(&self, bearer: &str) -> bool {
        self.access
            .get(bearer)
            .is_some_and(|expires| Instant::now() < *expires)
    }

    /// The consent screen, already approved: a redirect carrying a code and the state.
    pub(crate) fn authorize(&mut self, query: &BTreeMap<String, String>) -> Result<String, Answer> {
        if query.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            return Err(oauth_error(400, "invalid_client", "unknown client_id"));
        }
        if query.get("response_type").map(String::as_str) != Some("code") {
            return Err(oauth_error(400, "unsupported_response_type", "only code"));
        }
        let Some(redirect_uri) = query.get("redirect_uri") else {
            return Err(oauth_error(
                400,
                "invalid_request",
                "redirect_uri is required",
            ));
        };
        let challenge = match query.get("code_challenge_method").map(String::as_str) {
            Some("S256") => query.get("code_challenge").cloned(),
            None => None,
            Some(_) => return Err(oauth_error(400, "invalid_request", "only S256")),
        };
        let code = self.mint("code");
        self.codes.insert(
            code.clone(),
            Code {
                redirect_uri: redirect_uri.clone(),
                challenge,
            },
        );
        let mut location = url::Url::parse(redirect_uri)
            .map_err(|_| oauth_error(400, "invalid_request", "redirect_uri is not a url"))?;
        location
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", query.get("state").map_or("", String::as_str));
        Ok(location.to_string())
    }

    fn client_ok(authorization: Option<&str>) -> bool {
        let expected = STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
        authorization
            .and_then(|value| value.strip_prefix("Basic "))
            .is_some_and(|given| given.trim() == expected)
    }

    /// `POST /oauth/token`.
    pub(crate) fn token(
        &mut self,
        authorization: Option<&str>,
        form: &BTreeMap<String, String>,
    ) -> Answer {
        if !Tokens::client_ok(authorization) {
            return oauth_error(401, "invalid_client", "Bad client credentials");
        }
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.exchange(form),
            Some("refresh_token") => self.refresh(form),
            _ => oauth_error(400, "unsupported_grant_type", "unsupported grant type"),
        }
    }

    fn exchange(&mut self, form: &BTreeMap<String, String>) -> Answer {
        let Some(code) = form.get("code").and_then(|c| self.codes.remove(c)) else {
            return oauth_error(400, "invalid_grant", "Invalid authorization code");
        };
        if form.get("redirect_uri") != Some(&code.redirect_uri) {
            return oauth_error(400, "invalid_grant", "redirect_uri mismatch");
        }
        if let Some(challenge) = code.challenge {
            let verifier = form.get("code_verifier").map_or("", String::as_str);
            if adsync_goto::pkce::challenge_of(verifier) != challenge {
                return oauth_error(400, "invalid_grant", "PKCE verification failed");
            }
        }
        let refresh = self.grant_refresh();
        self.answer(Some(refresh))
    }

    fn refresh(&mut self, form: &BTreeMap<String, String>) -> Answer {
        let given = form.get("refresh_token").map_or("", String::as_str);
        if !self.refresh.contains(given) {
            return oauth_error(400, "invalid_grant", "Invalid refresh token");
        }
        self.refreshes += 1;
        let rotated = if self.rotate {
            self.refresh.remove(given);
            Some(self.grant_refresh())
        } else {
            None
        };
        self.answer(rotated)
    }

    fn answer(&mut self, refresh: Option<String>) -> Answer {
        let access = self.mint("access");
        let lifetime = self.lifetime.unwrap_or(Duration::from_secs(3600));
        self.access
            .insert(access.clone(), Instant::now() + lifetime);
        let mut body = serde_json::json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "scope": "identity:",
            "principal": "admin@contoso.com",
        });
        if let Some(refresh) = refresh {
            body["refresh_token"] = serde_json::Value::String(refresh);
        }
        (200, body.to_string())
    }
}
