//! The Sinch REST API (sending, reconciliation): credentials, region,
//! timeouts, and when to reconcile. The client (sinch_client.rs) takes these
//! settings; configuration imports nothing from it.

use std::time::Duration;

use super::reader::Reader;
use crate::auth::Secret;

/// Sinch REST API access.
#[derive(Debug, Clone)]
pub struct SinchApi {
    pub service_plan_id: String,
    pub api_token: Secret,
    pub base_url: String,
}

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

pub(super) fn read(r: &mut Reader, token: Option<String>) -> Sinch {
    let api = api(r, token);
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

fn api(r: &mut Reader, token: Option<String>) -> Option<SinchApi> {
    let plan = r.get("SINCH_SERVICE_PLAN_ID");
    let base_url = match r.get("SINCH_API_BASE_URL") {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let region = r.get_or_default("SINCH_REGION").to_ascii_lowercase();
            if !["us", "eu", "au", "br", "ca"].contains(&region.as_str()) {
                r.problem(format!(
                    "SINCH_REGION: {region:?} is not one of us, eu, au, br, ca"
                ));
            }
            format!("https://{region}.sms.api.sinch.com")
        }
    };
    match (plan, token) {
        (Some(plan), Some(token)) => Some(SinchApi {
            service_plan_id: plan.to_string(),
            api_token: Secret::new(token),
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
