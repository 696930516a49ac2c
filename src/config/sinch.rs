//! The Sinch REST API (sending, reconciliation): credentials, region,
//! timeouts, and when to reconcile. Two kinds of credentials: a service
//! plan id + API token (every region), or project access keys exchanged
//! for OAuth2 tokens (US and EU only; docs/sinch.md#the-rest-api). The client (sinch_client.rs) takes these
//! settings; configuration imports nothing from it.

use std::time::Duration;

use super::reader::Reader;
use crate::auth::Secret;

/// Sinch REST API access.
#[derive(Debug, Clone)]
pub struct SinchApi {
    /// The `{id}` of `/xms/v1/{id}/...`: the service plan id, or the
    /// project id with project access keys.
    pub path_id: String,
    pub credentials: Credentials,
    pub base_url: String,
}

/// How requests to the SMS API are authorised (docs/sinch.md#the-rest-api).
#[derive(Debug, Clone)]
pub enum Credentials {
    /// The service plan's API token, sent as it is.
    ApiToken(Secret),
    /// A project access key, exchanged at `token_url` for short-lived
    /// OAuth2 tokens (client credentials).
    ProjectKey {
        key_id: String,
        key_secret: Secret,
        token_url: String,
    },
}

/// Sinch's OAuth2 token service (SINCH_AUTH_BASE_URL overrides it).
const AUTH_BASE_URL: &str = "https://auth.sinch.com";
/// The regions whose SMS API takes project access keys (OAuth2).
const OAUTH_REGIONS: [&str; 2] = ["us", "eu"];

/// The client's timeouts and retry budget.
#[derive(Debug, Clone, Copy)]
pub struct SinchLimits {
    /// One attempt: connect, send, and read the answer.
    pub request_timeout: Duration,
    /// All attempts together, back-off included.
    pub retry_for: Duration,
    /// First back-off; doubles each time.
    pub first_backoff: Duration,
}

/// The first back-off between retries.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

pub(super) struct Sinch {
    pub api: Option<SinchApi>,
    pub limits: SinchLimits,
    pub public_url: Option<String>,
    pub reconcile_after: Duration,
    pub reconcile_interval: Duration,
}

pub(super) fn read(r: &mut Reader, token: Option<String>, key_secret: Option<String>) -> Sinch {
    let project = project_key(r, key_secret);
    let api = match project {
        Some(project) => {
            if plan_given(r, token.is_some()) {
                r.problem(
                    "set either SINCH_SERVICE_PLAN_ID + SINCH_API_TOKEN or SINCH_PROJECT_ID + \
                     SINCH_KEY_ID + SINCH_KEY_SECRET, not both",
                );
            }
            Some(project)
        }
        None => api(r, token),
    };
    let public_url = r
        .get("SINCH_DLR_PUBLIC_URL")
        .map(|u| u.trim_end_matches('/').to_string());
    let reconcile_after = r.seconds("SINCH_DLR_RECONCILE_AFTER");
    let reconcile_interval = r.seconds("SINCH_DLR_RECONCILE_INTERVAL");
    let limits = SinchLimits {
        request_timeout: r.seconds("SINCH_API_TIMEOUT"),
        retry_for: r.seconds("SINCH_API_RETRY_FOR"),
        first_backoff: FIRST_BACKOFF,
    };
    Sinch {
        api,
        limits,
        public_url,
        reconcile_after,
        reconcile_interval,
    }
}

fn plan_given(r: &Reader, token_set: bool) -> bool {
    token_set || r.get("SINCH_SERVICE_PLAN_ID").is_some()
}

/// `https://{region}.sms.api.sinch.com` (with `prefix` `zt.` for project
/// keys), or SINCH_API_BASE_URL.
fn base_url(r: &mut Reader, prefix: &str) -> String {
    if let Some(url) = r.get("SINCH_API_BASE_URL") {
        return url.trim_end_matches('/').to_string();
    }
    let region = region(r);
    format!("https://{prefix}{region}.sms.api.sinch.com")
}

fn region(r: &mut Reader) -> String {
    let region = r.get_or_default("SINCH_REGION").to_ascii_lowercase();
    if !["us", "eu", "au", "br", "ca"].contains(&region.as_str()) {
        r.problem(format!(
            "SINCH_REGION: {region:?} is not one of us, eu, au, br, ca"
        ));
    }
    region
}

/// Project access keys: all three of SINCH_PROJECT_ID, SINCH_KEY_ID and
/// SINCH_KEY_SECRET, in a region whose SMS API takes them.
fn project_key(r: &mut Reader, key_secret: Option<String>) -> Option<SinchApi> {
    let project = r.get("SINCH_PROJECT_ID");
    let key_id = r.get("SINCH_KEY_ID");
    let auth = r.get("SINCH_AUTH_BASE_URL").unwrap_or(AUTH_BASE_URL);
    let token_url = format!("{}/oauth2/token", auth.trim_end_matches('/'));
    let (project, key_id, key_secret) = match (project, key_id, key_secret) {
        (Some(p), Some(k), Some(s)) => (p, k, s),
        (None, None, None) => return None,
        (p, k, s) => {
            let missing: Vec<&str> = [
                ("SINCH_PROJECT_ID", p.is_none()),
                ("SINCH_KEY_ID", k.is_none()),
                ("SINCH_KEY_SECRET", s.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, missing)| missing.then_some(name))
            .collect();
            r.problem(format!(
                "project access keys need SINCH_PROJECT_ID, SINCH_KEY_ID and SINCH_KEY_SECRET; {} missing",
                missing.join(" and ")
            ));
            return None;
        }
    };
    let region = r.get_or_default("SINCH_REGION").to_ascii_lowercase();
    if !OAUTH_REGIONS.contains(&region.as_str()) {
        r.problem(format!(
            "SINCH_REGION: {region:?} does not take project access keys for SMS (only us and eu do); \
             use SINCH_SERVICE_PLAN_ID + SINCH_API_TOKEN there"
        ));
    }
    Some(SinchApi {
        path_id: project.to_string(),
        credentials: Credentials::ProjectKey {
            key_id: key_id.to_string(),
            key_secret: Secret::new(key_secret),
            token_url,
        },
        base_url: base_url(r, "zt."),
    })
}

fn api(r: &mut Reader, token: Option<String>) -> Option<SinchApi> {
    let plan = r.get("SINCH_SERVICE_PLAN_ID");
    let base_url = base_url(r, "");
    match (plan, token) {
        (Some(plan), Some(token)) => Some(SinchApi {
            path_id: plan.to_string(),
            credentials: Credentials::ApiToken(Secret::new(token)),
            base_url,
        }),
        (None, None) => None,
        (Some(_), None) => {
            r.problem("SINCH_SERVICE_PLAN_ID is set but SINCH_API_TOKEN is not");
            None
        }
        (None, Some(_)) => {
            r.problem("SINCH_API_TOKEN is set but SINCH_SERVICE_PLAN_ID is not");
            None
        }
    }
}
