//! OAuth2 access tokens for project access keys (docs/sinch.md#the-rest-api):
//! `POST {auth}/oauth2/token` with HTTP Basic `key_id:key_secret` and the
//! form `grant_type=client_credentials`; the answer's `access_token` is
//! valid for `expires_in` seconds (typically an hour).
//!
//! A token is fetched on first use, kept until shortly before it expires
//! (`REFRESH_BEFORE`), and dropped when the API refuses it (the client then
//! fetches one more and tries once again). One fetch at a time: callers
//! wait for the token another is fetching. Tokens and the key secret are
//! `Secret`s: never in a log line or an error.

use base64::Engine;
use serde::Deserialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::Secret;
use crate::metrics::SinchStats;

/// Why no token could be had. Never carries the secret or a token.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenError {
    /// The auth service answered this status (401: the key is wrong).
    Refused(u16),
    /// The auth service could not be reached or did not answer.
    Unreachable(String),
    /// An answer without `access_token` and `expires_in`.
    BadAnswer,
}

/// A token is replaced this long before it expires (or at half its life,
/// if that is sooner), so none is sent just as it lapses.
const REFRESH_BEFORE: Duration = Duration::from_secs(60);

pub struct TokenSource {
    key_id: String,
    key_secret: Secret,
    url: String,
    cached: Mutex<Option<Cached>>,
}

struct Cached {
    token: Secret,
    /// When to fetch a new one.
    renew_at: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

impl TokenSource {
    pub fn new(key_id: String, key_secret: Secret, url: String) -> TokenSource {
        TokenSource {
            key_id,
            key_secret,
            url,
            cached: Mutex::new(None),
        }
    }

    /// A token that is not about to expire: the cached one, or a new one.
    pub fn token(&self, agent: &ureq::Agent, stats: &SinchStats) -> Result<Secret, TokenError> {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.renew_at) {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch(agent, stats);
        stats.token(if fresh.is_ok() { "ok" } else { "failed" });
        let fresh = fresh?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets `refused` (the API answered 401 to it), unless another
    /// caller has replaced it already.
    pub fn refused(&self, refused: &Secret) {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if cached.as_ref().is_some_and(|c| c.token == *refused) {
            *cached = None;
        }
    }

    fn fetch(&self, agent: &ureq::Agent, stats: &SinchStats) -> Result<Cached, TokenError> {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.key_id,
            self.key_secret.expose()
        ));
        let asked = Instant::now();
        let result = agent
            .post(&self.url)
            .header("Authorization", &format!("Basic {basic}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(&b"grant_type=client_credentials"[..]);
        let answered = result.map_err(|e| e.to_string()).and_then(|response| {
            let status = response.status().as_u16();
            let body = response.into_body().read_to_string();
            body.map(|body| (status, body)).map_err(|e| e.to_string())
        });
        let (status, body) = answered.map_err(|e| {
            stats.request("token", None);
            log::warn!("Sinch's auth service did not answer: {e}");
            TokenError::Unreachable(e)
        })?;
        stats.request("token", Some(status));
        if status != 200 {
            log::warn!("Sinch's auth service answered {status} to the project access key");
            return Err(TokenError::Refused(status));
        }
        let answer: TokenAnswer = serde_json::from_str(&body).map_err(|_| TokenError::BadAnswer)?;
        let life = Duration::from_secs(answer.expires_in);
        let renew_in = life.saturating_sub(REFRESH_BEFORE.min(life / 2));
        log::debug!("Sinch access token fetched, valid {}s", answer.expires_in);
        Ok(Cached {
            token: Secret::new(answer.access_token),
            renew_at: asked + renew_in,
        })
    }
}
