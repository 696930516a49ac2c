//! Who may post callbacks (HMAC secrets, Basic, a custom header, the
//! tutorial's legacy scheme, or none) and the API token.

use base64::Engine;

use super::reader::Reader;
use crate::auth::{CallbackAuth, CustomHeader, Secret};

/// Below this many characters the API token draws a warning.
pub const MIN_API_TOKEN_CHARS: usize = 16;

/// Every secret, read first and in this order (their problems and
/// warnings come first).
pub(super) struct Secrets {
    pub api_token: Option<String>,
    pub callback: Option<String>,
    pub webhook: Option<String>,
    pub basic: Option<String>,
    pub sinch_token: Option<String>,
    pub header: Option<String>,
    pub key_secret: Option<String>,
}

impl Secrets {
    pub(super) fn read(r: &mut Reader) -> Secrets {
        Secrets {
            api_token: r.secret("SINCH_DLR_API_TOKEN"),
            callback: r.secret("SINCH_DLR_CALLBACK_SECRETS"),
            webhook: r.secret("SINCH_WEBHOOK_SECRET"),
            basic: r.secret("SINCH_DLR_CALLBACK_BASIC"),
            sinch_token: r.secret("SINCH_API_TOKEN"),
            header: r.secret("SINCH_DLR_CALLBACK_HEADER"),
            key_secret: r.secret("SINCH_KEY_SECRET"),
        }
    }
}

pub(super) fn api_token(r: &mut Reader, token: Option<String>) -> Option<Secret> {
    if token
        .as_ref()
        .is_some_and(|t| t.chars().count() < MIN_API_TOKEN_CHARS)
    {
        r.warn(format!(
            "SINCH_DLR_API_TOKEN is shorter than {MIN_API_TOKEN_CHARS} characters and easy \
             to guess; use a long random one (openssl rand -hex 32)"
        ));
    }
    token.map(Secret::new)
}

pub(super) struct Callbacks {
    pub auth: CallbackAuth,
    pub generate_secret: bool,
}

pub(super) fn read(r: &mut Reader, given: &Secrets) -> Callbacks {
    let mut secrets: Vec<Secret> = given
        .callback
        .iter()
        .flat_map(|s| s.split([',', '\n']))
        .chain(given.webhook.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Secret::new)
        .collect();
    secrets.dedup();

    let basic = &given.basic;
    let modes = auth_modes(r, basic.is_some(), given.header.is_some());
    let mut auth = CallbackAuth {
        disabled: modes.contains(&"none"),
        ..CallbackAuth::default()
    };
    let generate_secret = modes.contains(&"hmac") && secrets.is_empty();
    if modes.contains(&"hmac") {
        auth.hmac_secrets = secrets.clone();
    }
    if modes.contains(&"basic") {
        match &basic {
            Some(b) if b.contains(':') => auth.basic = Some(Secret::new(b.clone())),
            Some(_) => r.problem("SINCH_DLR_CALLBACK_BASIC must be user:password"),
            None => r.problem("callback auth basic needs SINCH_DLR_CALLBACK_BASIC=user:password"),
        }
    }
    if modes.contains(&"header") {
        auth.header = custom_header(r, given.header.as_deref());
    }
    if modes.contains(&"legacy") {
        auth.legacy_keys = legacy_keys(r, &secrets);
    }
    auth.max_age_secs = r.number("SINCH_DLR_CALLBACK_MAX_AGE");
    Callbacks {
        auth,
        generate_secret,
    }
}

fn custom_header(r: &mut Reader, line: Option<&str>) -> Option<CustomHeader> {
    let Some(line) = line else {
        r.problem("callback auth header needs SINCH_DLR_CALLBACK_HEADER=\"Name: value\"");
        return None;
    };
    CustomHeader::parse(line)
        .map_err(|e| r.problem(format!("SINCH_DLR_CALLBACK_HEADER: {e}")))
        .ok()
}

fn auth_modes(r: &mut Reader, basic_set: bool, header_set: bool) -> Vec<&'static str> {
    let Some(list) = r.get("SINCH_DLR_CALLBACK_AUTH") else {
        let optional = [("basic", basic_set), ("header", header_set)];
        let set = optional.into_iter().filter(|(_, set)| *set).map(|(m, _)| m);
        return std::iter::once("hmac").chain(set).collect();
    };
    let mut modes = Vec::new();
    for m in list.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        match ["hmac", "basic", "header", "legacy", "none"]
            .into_iter()
            .find(|k| k.eq_ignore_ascii_case(m))
        {
            Some(k) => modes.push(k),
            None => r.problem(format!(
                "SINCH_DLR_CALLBACK_AUTH: unknown method {m:?} (use hmac, basic, header, legacy or none)"
            )),
        }
    }
    if modes.contains(&"none") && modes.len() > 1 {
        r.problem("SINCH_DLR_CALLBACK_AUTH: none cannot be combined with other methods");
    }
    if modes.is_empty() {
        r.problem("SINCH_DLR_CALLBACK_AUTH is empty");
    }
    modes
}

/// The tutorial's scheme keys HMAC with the base64-decoded secret.
fn legacy_keys(r: &mut Reader, secrets: &[Secret]) -> Vec<Vec<u8>> {
    if secrets.is_empty() {
        r.problem("callback auth legacy needs SINCH_WEBHOOK_SECRET (base64)");
    }
    secrets
        .iter()
        .filter_map(|s| {
            let decoded = base64::engine::general_purpose::STANDARD.decode(s.expose());
            if decoded.is_err() {
                r.problem("callback auth legacy: a secret is not valid base64");
            }
            decoded.ok()
        })
        .collect()
}
