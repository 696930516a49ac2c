//! Standard Webhooks signatures (standardwebhooks.com) for what we push:
//! `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with
//! the base64-decoded part of a `whsec_` secret. Several signatures (during
//! a secret rotation) are separated by spaces. A leaf: config checks
//! secrets with it, the webhook delivery signs with it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";
/// Fewer key bytes than this are refused (the specification asks 24-64).
pub const MIN_KEY_BYTES: usize = 24;

/// A new secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> std::io::Result<String> {
    Ok(format!(
        "{PREFIX}{}",
        STANDARD.encode(crate::random::bytes::<32>()?)
    ))
}

/// The key of a `whsec_` secret, or why it is not one.
pub fn key_of(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret
        .strip_prefix(PREFIX)
        .ok_or_else(|| format!("must start with {PREFIX}"))?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| format!("the part after {PREFIX} must be base64"))?;
    if key.len() < MIN_KEY_BYTES {
        return Err(format!(
            "the key must be at least {MIN_KEY_BYTES} bytes (it is {})",
            key.len()
        ));
    }
    Ok(key)
}

/// The `webhook-signature` header value: one `v1,` signature per secret.
/// Secrets were checked with `key_of` when they were stored.
pub fn sign(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|s| key_of(s).ok())
        .map(|key| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference
    /// libraries (their test suites sign this payload with this secret).
    #[test]
    fn signs_the_specification_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn short_or_foreign_secrets_are_refused() {
        assert!(key_of("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(key_of("whsec_c2hvcnQ=").is_err());
        assert!(key_of("whsec_not base64!").is_err());
        assert_eq!(key_of(&generate_secret().unwrap()).unwrap().len(), 32);
    }

    #[test]
    fn a_rotation_sends_one_signature_per_secret() {
        let (a, b) = (generate_secret().unwrap(), generate_secret().unwrap());
        let both = sign(&[&a, &b], "evt_1", 1, b"{}");
        let parts: Vec<&str> = both.split(' ').collect();
        assert_eq!(
            parts,
            vec![
                sign(&[&a], "evt_1", 1, b"{}"),
                sign(&[&b], "evt_1", 1, b"{}")
            ]
        );
    }
}
