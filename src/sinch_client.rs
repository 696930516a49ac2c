//! The Sinch SMS REST client (docs/sinch.md#the-rest-api): send a batch, read one
//! recipient's delivery report. Base URL from configuration (tests point it
//! at a local fake), explicit timeouts, bounded retries. Authorised with the
//! service plan's API token, or with OAuth2 tokens from a project access key
//! (sinch_token.rs): a 401 to such a token fetches a new one and tries once
//! more. Every attempt is counted (metrics/sinch.rs).
//!
//! Retry policy: 429 and 5xx are retried with exponential back-off (and
//! `Retry-After` when given) within a total time budget; other 4xx never.
//! A connection that could not be made is retried (nothing reached Sinch);
//! a request that was sent but got no answer is NOT retried when sending,
//! because Sinch may have created the batch and a retry would send the SMS
//! twice.

use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::auth::Secret;
use crate::config::{Credentials, SinchApi, SinchLimits};
use crate::http::percent_encode;
use crate::http_client::{self, Lookup};
use crate::metrics::SinchStats;
use crate::sinch_token::{TokenError, TokenSource};

pub use crate::sinch_error::SinchError;
use crate::sinch_error::status_error;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BatchRequest {
    pub to: Vec<String>,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub delivery_report: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_reference: Option<String>,
    /// The application will tell Sinch which recipients got the message
    /// (`delivery_feedback`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub feedback_enabled: bool,
}

/// What Sinch said about a created batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub id: String,
    /// Sinch's full answer, kept for the caller.
    pub raw: Value,
}

/// One page of `GET .../delivery_reports`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportsPage {
    /// Reports in the whole window, all pages together.
    pub count: u64,
    /// This page's reports, each its JSON text.
    pub reports: Vec<String>,
}

/// Clones share the connection pool and the OAuth token.
#[derive(Clone)]
pub struct SinchClient {
    agent: ureq::Agent,
    api: SinchApi,
    limits: SinchLimits,
    /// Set with project access keys.
    tokens: Option<Arc<TokenSource>>,
    stats: Arc<SinchStats>,
}

/// A request attempt: agent, URL, `Authorization` value.
type Send<'a> =
    dyn Fn(&ureq::Agent, &str, &str) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> + 'a;

/// One attempt's result.
enum Attempt {
    Answer {
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    NotSent(String),
    Lost(String),
}

impl SinchClient {
    pub fn new(api: SinchApi, limits: SinchLimits, stats: Arc<SinchStats>) -> SinchClient {
        let tokens = match &api.credentials {
            Credentials::ApiToken(_) => None,
            Credentials::ProjectKey {
                key_id,
                key_secret,
                token_url,
            } => Some(Arc::new(TokenSource::new(
                key_id.clone(),
                key_secret.clone(),
                token_url.clone(),
            ))),
        };
        SinchClient {
            agent: http_client::agent(limits.request_timeout, Lookup::Bounded),
            api,
            limits,
            tokens,
            stats,
        }
    }

    fn url(&self, rest: &str) -> String {
        format!("{}/xms/v1/{}/{rest}", self.api.base_url, self.api.path_id)
    }

    /// The bearer token for the next request.
    fn credential(&self) -> Result<Secret, SinchError> {
        match (&self.tokens, &self.api.credentials) {
            (Some(tokens), _) => tokens.token(&self.agent, &self.stats).map_err(token_error),
            (None, Credentials::ApiToken(token)) => Ok(token.clone()),
            (None, Credentials::ProjectKey { .. }) => unreachable!("new() made a token source"),
        }
    }

    /// `POST /xms/v1/{plan}/batches`. Ok only for a created batch.
    pub fn send_batch(&self, request: &BatchRequest) -> Result<Batch, SinchError> {
        let sent = self.create_batch(request);
        self.stats.send(match &sent {
            Ok(_) => "sent",
            Err(SinchError::Status {
                status: 400..=499, ..
            }) => "refused",
            Err(SinchError::Timeout) => "unknown",
            Err(_) => "failed",
        });
        sent
    }

    /// `POST /xms/v1/{id}/batches/{batch}/delivery_feedback`: these
    /// recipients got the message (an empty list: all of the batch's).
    pub fn delivery_feedback(
        &self,
        batch_id: &str,
        recipients: &[String],
    ) -> Result<(), SinchError> {
        let body = serde_json::to_vec(&serde_json::json!({ "recipients": recipients }))
            .expect("plain data serialises");
        let url = self.url(&format!(
            "batches/{}/delivery_feedback",
            percent_encode(batch_id)
        ));
        let (status, text) = self.post_json("delivery_feedback", true, &url, &body)?;
        match status {
            200..=299 => Ok(()),
            _ => Err(status_error(status, &text)),
        }
    }

    fn create_batch(&self, request: &BatchRequest) -> Result<Batch, SinchError> {
        let body = serde_json::to_vec(request).expect("plain data serialises");
        let (status, text) = self.post_json("batches", false, &self.url("batches"), &body)?;
        if !(200..300).contains(&status) {
            return Err(status_error(status, &text));
        }
        let raw: Value =
            serde_json::from_str(&text).map_err(|e| SinchError::BadResponse(e.to_string()))?;
        let id = raw["id"]
            .as_str()
            .ok_or_else(|| SinchError::BadResponse("no batch id in the answer".into()))?
            .to_string();
        Ok(Batch { id, raw })
    }

    /// `GET /xms/v1/{plan}/batches/{batch}/delivery_report/{recipient}`:
    /// the raw body of one recipient's report, or None when Sinch has none.
    pub fn recipient_report(
        &self,
        batch_id: &str,
        recipient: &str,
    ) -> Result<Option<String>, SinchError> {
        let url = self.url(&format!(
            "batches/{}/delivery_report/{}",
            percent_encode(batch_id),
            percent_encode(recipient)
        ));
        let (status, text) = self.call(
            "recipient_report",
            true,
            &|agent, url, auth| agent.get(url).header("Authorization", auth).call(),
            &url,
        )?;
        match status {
            200..=299 => Ok(Some(text)),
            404 => Ok(None),
            _ => Err(status_error(status, &text)),
        }
    }

    /// `GET /xms/v1/{id}/delivery_reports`: one page of the finished
    /// per-recipient reports created in `[start, end)` (ISO-8601 times),
    /// each kept as its raw JSON text.
    pub fn delivery_reports(
        &self,
        start: &str,
        end: &str,
        page: u64,
        page_size: u64,
    ) -> Result<ReportsPage, SinchError> {
        let url = self.url(&format!(
            "delivery_reports?start_date={}&end_date={}&page={page}&page_size={page_size}",
            percent_encode(start),
            percent_encode(end)
        ));
        let (status, text) = self.call(
            "delivery_reports",
            true,
            &|agent, url, auth| agent.get(url).header("Authorization", auth).call(),
            &url,
        )?;
        if !(200..300).contains(&status) {
            return Err(status_error(status, &text));
        }
        let raw: Value =
            serde_json::from_str(&text).map_err(|e| SinchError::BadResponse(e.to_string()))?;
        let reports = raw["delivery_reports"]
            .as_array()
            .ok_or_else(|| SinchError::BadResponse("no delivery_reports list".into()))?;
        Ok(ReportsPage {
            count: raw["count"].as_u64().unwrap_or(0),
            reports: reports.iter().map(Value::to_string).collect(),
        })
    }

    /// A JSON POST through `call`.
    fn post_json(
        &self,
        endpoint: &'static str,
        idempotent: bool,
        url: &str,
        body: &[u8],
    ) -> Result<(u16, String), SinchError> {
        let send = |agent: &ureq::Agent, url: &str, auth: &str| {
            agent
                .post(url)
                .header("Authorization", auth)
                .header("Content-Type", "application/json")
                .send(body)
        };
        self.call(endpoint, idempotent, &send, url)
    }

    /// Runs attempts until an answer that is final, or the budget is spent.
    /// `idempotent`: a request lost in flight may be repeated. A 401 to an
    /// OAuth token drops it and tries once more with a new one (Sinch
    /// refused the request, so nothing was done).
    fn call(
        &self,
        endpoint: &'static str,
        idempotent: bool,
        attempt: &Send<'_>,
        url: &str,
    ) -> Answered {
        let started = Instant::now();
        let mut backoff = self.limits.first_backoff;
        let mut refreshed = false;
        loop {
            let token = self.credential()?;
            let outcome = classify(attempt(
                &self.agent,
                url,
                &format!("Bearer {}", token.expose()),
            ));
            let status = match &outcome {
                Attempt::Answer { status, .. } => Some(*status),
                _ => None,
            };
            self.stats.request(endpoint, status);
            if let (Some(tokens), Some(401), false) = (&self.tokens, status, refreshed) {
                log::info!("Sinch refused the access token; fetching a new one");
                tokens.refused(&token);
                refreshed = true;
                continue;
            }
            let (wait, last) = match next_step(outcome, idempotent, backoff) {
                Next::Done(answer) => return answer,
                Next::Retry(wait, last) => (wait, last),
            };
            if started.elapsed() + wait > self.limits.retry_for {
                return last;
            }
            self.stats.retry(endpoint);
            std::thread::sleep(wait);
            backoff = backoff.saturating_mul(2);
        }
    }
}

/// What a call answers: Sinch's status and body, or why there is none.
type Answered = Result<(u16, String), SinchError>;

/// After an attempt: the call's result, or how long to wait before the
/// next attempt and what to report if the budget allows none.
enum Next {
    Done(Answered),
    Retry(Duration, Answered),
}

fn next_step(outcome: Attempt, idempotent: bool, backoff: Duration) -> Next {
    match outcome {
        Attempt::Answer { status, body, .. } if !(status == 429 || status >= 500) => {
            Next::Done(Ok((status, body)))
        }
        Attempt::Answer {
            status,
            retry_after,
            body,
        } => {
            log::warn!("Sinch answered {status}; will retry");
            let wait = retry_after.unwrap_or(backoff);
            Next::Retry(wait, Err(status_error(status, &body)))
        }
        Attempt::NotSent(e) => {
            log::warn!("Sinch unreachable ({e}); will retry");
            Next::Retry(backoff, Err(SinchError::Unreachable(e)))
        }
        Attempt::Lost(e) if idempotent => {
            log::warn!("no answer from Sinch ({e}); will retry");
            Next::Retry(backoff, Err(SinchError::Timeout))
        }
        Attempt::Lost(e) => {
            log::warn!("no answer from Sinch ({e}); not retrying a send");
            Next::Done(Err(SinchError::Timeout))
        }
    }
}

fn token_error(e: TokenError) -> SinchError {
    match e {
        TokenError::Refused(status) => SinchError::Status {
            status,
            code: Some("access_token".into()),
            text: Some("Sinch's auth service did not accept the project access key".into()),
        },
        TokenError::Unreachable(e) => SinchError::Unreachable(format!("auth service: {e}")),
        TokenError::BadAnswer => SinchError::BadResponse("the auth service's token answer".into()),
    }
}

fn classify(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Attempt {
    use ureq::Error as E;
    match result {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = http_client::retry_after(response.headers());
            match response.into_body().read_to_string() {
                Ok(body) => Attempt::Answer {
                    status,
                    retry_after,
                    body,
                },
                Err(e) => Attempt::Lost(e.to_string()),
            }
        }
        Err(e @ (E::ConnectionFailed | E::HostNotFound)) => Attempt::NotSent(e.to_string()),
        Err(E::Timeout(t @ (ureq::Timeout::Connect | ureq::Timeout::Resolve))) => {
            Attempt::NotSent(format!("timeout: {t:?}"))
        }
        Err(E::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Attempt::NotSent(e.to_string())
        }
        Err(e) => Attempt::Lost(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(percent_encode("01JN8Q/../x"), "01JN8Q%2F..%2Fx");
        assert_eq!(percent_encode("15551230001"), "15551230001");
    }

    #[test]
    fn request_json_matches_the_batches_api() {
        let r = BatchRequest {
            to: vec!["+15551230001".into()],
            body: "hi".into(),
            from: None,
            delivery_report: "per_recipient".into(),
            callback_url: Some("https://x/api/sinchCallbacks".into()),
            client_reference: None,
            feedback_enabled: false,
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"to":["+15551230001"],"body":"hi","delivery_report":"per_recipient","callback_url":"https://x/api/sinchCallbacks"})
        );
        let r = BatchRequest {
            feedback_enabled: true,
            ..r
        };
        assert_eq!(serde_json::to_value(&r).unwrap()["feedback_enabled"], true);
    }
}
