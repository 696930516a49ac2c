//! Who may talk to us: callback authentication and the API bearer token.
//!
//! Callbacks: Sinch's SMS HMAC scheme (the default; docs/sinch.md#signatures),
//! HTTP Basic, a fixed custom header Sinch adds to every callback, and the
//! tutorial's scheme (opt-in only; Sinch never sends it).
//! Several secrets may be configured at once so a secret can be rotated
//! without losing callbacks; the index of the secret that matched is
//! reported so operators can see when an old one is no longer used.
//! Every comparison of secret material is constant-time; no error carries a
//! secret or an expected signature.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;

use crate::http::Headers;

pub const SIGNATURE: &str = "x-sinch-webhook-signature";
pub const NONCE: &str = "x-sinch-webhook-signature-nonce";
pub const TIMESTAMP: &str = "x-sinch-webhook-signature-timestamp";
pub const ALGORITHM: &str = "x-sinch-webhook-signature-algorithm";
const LEGACY_SIGNATURE: &str = "x-sinch-signature";
const LEGACY_TIMESTAMP: &str = "x-sinch-timestamp";

/// A secret string. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the few places that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How callbacks are authenticated. A request passes if any enabled method
/// accepts it. Its `Debug` shows no key material.
#[derive(Clone, Default)]
pub struct CallbackAuth {
    /// Sinch HMAC secrets, newest first. Empty = HMAC off.
    pub hmac_secrets: Vec<Secret>,
    /// `user:password` for HTTP Basic. None = Basic off.
    pub basic: Option<Secret>,
    /// Base64-decoded keys for the tutorial's scheme. Empty = off.
    pub legacy_keys: Vec<Vec<u8>>,
    /// A header Sinch adds to every callback (name, value). None = off.
    pub header: Option<CustomHeader>,
    /// Opt-in freshness window for the HMAC timestamp, in seconds.
    pub max_age_secs: Option<u64>,
    /// Development only: accept everything.
    pub disabled: bool,
}

impl fmt::Debug for CallbackAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackAuth")
            .field("hmac_secrets", &self.hmac_secrets.len())
            .field("basic", &self.basic.is_some())
            .field("legacy_keys", &self.legacy_keys.len())
            .field("header", &self.header.is_some())
            .field("max_age_secs", &self.max_age_secs)
            .field("disabled", &self.disabled)
            .finish()
    }
}

/// A fixed `Name: value` header Sinch can be asked to add to every
/// callback. The value is a secret; the name is not, but is not logged
/// either.
#[derive(Clone, PartialEq, Eq)]
pub struct CustomHeader {
    pub name: String,
    pub value: Secret,
}

impl CustomHeader {
    /// `Name: value`, as SINCH_DLR_CALLBACK_HEADER holds it. The error
    /// names what is wrong, never the value.
    pub fn parse(line: &str) -> Result<CustomHeader, &'static str> {
        let (name, value) = line.split_once(':').ok_or("must be \"Name: value\"")?;
        let (name, value) = (name.trim(), value.trim());
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token) {
            return Err("the header name must be a plain HTTP header name");
        }
        if value.is_empty() || value.chars().any(|c| c.is_control() || !c.is_ascii()) {
            return Err("the header value must be non-empty printable ASCII");
        }
        Ok(CustomHeader {
            name: name.to_string(),
            value: Secret::new(value),
        })
    }
}

/// Which method (and which secret) let a callback in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    Hmac { secret_index: usize },
    Basic,
    Header,
    Legacy { secret_index: usize },
    Unauthenticated,
}

/// Why a callback was refused. For logs only; the client sees a fixed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    MissingHeader(&'static str),
    UnsupportedAlgorithm,
    BadNonce,
    BadTimestamp,
    Stale,
    BadSignature,
    BadBasic,
    BadHeader,
    NoCredentials,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::MissingHeader(h) => write!(f, "missing header {h}"),
            AuthError::UnsupportedAlgorithm => f.write_str("signature algorithm is not HmacSHA256"),
            AuthError::BadNonce => f.write_str("signature nonce is empty or contains '.'"),
            AuthError::BadTimestamp => f.write_str("signature timestamp is not a number"),
            AuthError::Stale => f.write_str("signature timestamp outside the allowed window"),
            AuthError::BadSignature => {
                f.write_str("signature does not match any configured secret")
            }
            AuthError::BadBasic => f.write_str("basic credentials do not match"),
            AuthError::BadHeader => f.write_str("the custom callback header does not match"),
            AuthError::NoCredentials => f.write_str("no credentials in request"),
        }
    }
}

impl std::error::Error for AuthError {}

impl CallbackAuth {
    /// Checks one callback over its exact received bytes. `now_secs` is the
    /// clock for the optional freshness window (injected for tests).
    pub fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        now_secs: i64,
    ) -> Result<Verified, AuthError> {
        if self.disabled {
            return Ok(Verified::Unauthenticated);
        }
        let mut first_error = None;
        let mut attempt = |result: Result<Verified, AuthError>| match result {
            Ok(v) => Some(v),
            Err(e) => {
                first_error.get_or_insert(e);
                None
            }
        };
        if !self.hmac_secrets.is_empty() && headers.get(SIGNATURE).is_some() {
            if let Some(v) = attempt(self.verify_hmac(headers, body, now_secs)) {
                return Ok(v);
            }
        }
        if self.basic.is_some() && headers.get("authorization").is_some() {
            if let Some(v) = attempt(self.verify_basic(headers)) {
                return Ok(v);
            }
        }
        if let Some(expected) = &self.header {
            if let Some(given) = headers.get(&expected.name) {
                if let Some(v) = attempt(verify_header(expected, given)) {
                    return Ok(v);
                }
            }
        }
        if !self.legacy_keys.is_empty() && headers.get(LEGACY_SIGNATURE).is_some() {
            if let Some(v) = attempt(self.verify_legacy(headers, body)) {
                return Ok(v);
            }
        }
        if !self.hmac_secrets.is_empty() && first_error.is_none() {
            // Name what is missing for the operator's log.
            return Err(AuthError::MissingHeader(SIGNATURE));
        }
        Err(first_error.unwrap_or(AuthError::NoCredentials))
    }

    fn verify_hmac(
        &self,
        headers: &Headers,
        body: &[u8],
        now_secs: i64,
    ) -> Result<Verified, AuthError> {
        let signature = headers
            .get(SIGNATURE)
            .ok_or(AuthError::MissingHeader(SIGNATURE))?;
        let nonce = headers.get(NONCE).ok_or(AuthError::MissingHeader(NONCE))?;
        let timestamp = headers
            .get(TIMESTAMP)
            .ok_or(AuthError::MissingHeader(TIMESTAMP))?;
        // Absent algorithm header: accepted (Python/Node SDKs ignore it; the
        // HMAC alone proves the sender). Present: it must name SHA-256 and is
        // never allowed to choose the algorithm (the Java SDK's downgrade).
        if let Some(alg) = headers.get(ALGORITHM) {
            if !alg.eq_ignore_ascii_case("HmacSHA256") {
                return Err(AuthError::UnsupportedAlgorithm);
            }
        }
        check_shape(nonce, timestamp)?;
        if let Some(max_age) = self.max_age_secs {
            let ts: i64 = timestamp.parse().map_err(|_| AuthError::BadTimestamp)?;
            if now_secs.abs_diff(ts) > max_age {
                return Err(AuthError::Stale);
            }
        }
        verify_sinch_signature(&self.hmac_secrets, body, nonce, timestamp, signature)
            .map(|secret_index| Verified::Hmac { secret_index })
    }

    fn verify_basic(&self, headers: &Headers) -> Result<Verified, AuthError> {
        let expected = self.basic.as_ref().ok_or(AuthError::NoCredentials)?;
        let header = headers
            .get("authorization")
            .ok_or(AuthError::NoCredentials)?;
        let given = basic_credentials(header).ok_or(AuthError::BadBasic)?;
        if ct_eq(given.as_bytes(), expected.expose().as_bytes()) {
            Ok(Verified::Basic)
        } else {
            Err(AuthError::BadBasic)
        }
    }

    fn verify_legacy(&self, headers: &Headers, body: &[u8]) -> Result<Verified, AuthError> {
        let signature = headers
            .get(LEGACY_SIGNATURE)
            .ok_or(AuthError::MissingHeader(LEGACY_SIGNATURE))?;
        let timestamp = headers
            .get(LEGACY_TIMESTAMP)
            .ok_or(AuthError::MissingHeader(LEGACY_TIMESTAMP))?;
        let mut found = None;
        for (i, key) in self.legacy_keys.iter().enumerate() {
            let expected = hmac_b64(key, &[body, timestamp.as_bytes()]);
            if ct_eq(expected.as_bytes(), signature.as_bytes()) && found.is_none() {
                found = Some(i);
            }
        }
        found
            .map(|secret_index| Verified::Legacy { secret_index })
            .ok_or(AuthError::BadSignature)
    }
}

/// Compares digests, so neither the value nor its length shows in the time
/// taken.
fn verify_header(expected: &CustomHeader, given: &str) -> Result<Verified, AuthError> {
    use sha2::Digest;
    let digest = |s: &str| Sha256::digest(s.as_bytes());
    match ct_eq(&digest(given), &digest(expected.value.expose())) {
        true => Ok(Verified::Header),
        false => Err(AuthError::BadHeader),
    }
}

/// The signed string is `body.nonce.timestamp`, so without these rules the
/// same signature verifies other splits of it: a genuine body cut at its
/// last `.` with the rest moved into the nonce would be stored as bytes
/// Sinch never sent. Sinch's nonces never contain `.` and its timestamps are
/// Unix seconds, so a nonce must be non-empty without `.` and a timestamp
/// ASCII digits only (no sign, no spaces). Anything else is a malformed
/// signature: an authentication failure like a wrong one.
pub fn check_shape(nonce: &str, timestamp: &str) -> Result<(), AuthError> {
    if nonce.is_empty() || nonce.contains('.') {
        return Err(AuthError::BadNonce);
    }
    if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::BadTimestamp);
    }
    Ok(())
}

/// Verifies Sinch's SMS signature against every secret (all are tried, so
/// timing does not tell which one matched). Returns the matching index.
/// `signature` is compared verbatim: no trimming, no alternative alphabets.
pub fn verify_sinch_signature(
    secrets: &[Secret],
    body: &[u8],
    nonce: &str,
    timestamp: &str,
    signature: &str,
) -> Result<usize, AuthError> {
    let mut found = None;
    for (i, secret) in secrets.iter().enumerate() {
        let expected = sign(secret.expose(), body, nonce, timestamp);
        if ct_eq(expected.as_bytes(), signature.as_bytes()) && found.is_none() {
            found = Some(i);
        }
    }
    found.ok_or(AuthError::BadSignature)
}

/// Sinch's SMS callback signature: base64(HMAC-SHA256(key = secret's UTF-8
/// bytes, body || "." || nonce || "." || timestamp)).
pub fn sign(secret: &str, body: &[u8], nonce: &str, timestamp: &str) -> String {
    hmac_b64(
        secret.as_bytes(),
        &[body, b".", nonce.as_bytes(), b".", timestamp.as_bytes()],
    )
}

fn hmac_b64(key: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// `Basic dXNlcjpwYXNz` -> `user:pass`.
fn basic_credentials(header: &str) -> Option<String> {
    let (scheme, value) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(value.trim()).ok()?;
    String::from_utf8(decoded).ok()
}

/// Checks `Authorization: Bearer <token>` against the API token.
pub fn verify_bearer(headers: &Headers, token: &Secret) -> bool {
    let Some(header) = headers.get("authorization") else {
        return false;
    };
    let Some((scheme, given)) = header.split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && ct_eq(given.trim().as_bytes(), token.expose().as_bytes())
}

/// Constant-time equality for equal lengths; lengths are not secret
/// (a Sinch signature is always 44 characters).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// A new random secret: 32 bytes from the OS, base64url without padding.
pub fn generate_secret() -> std::io::Result<Secret> {
    Ok(Secret(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::random::bytes::<32>()?),
    ))
}

#[cfg(test)]
mod tests;
