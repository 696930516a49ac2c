//! One delivery attempt: POST the event, signed (Standard Webhooks), and
//! what the receiver's answer means for the next step.

use std::io::Read;
use std::time::Duration;

use crate::clock::now_micros;
use crate::http_client;
use crate::signing;
use crate::store::endpoints::EndpointRecord;
use crate::store::events::EventView;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A 2xx.
    Delivered(u16),
    /// 410 Gone: the receiver wants no more.
    Gone,
    /// Anything else: retried on the schedule. `retry_after` from a 429 or
    /// 503 comes first.
    Failed {
        status: Option<u16>,
        error: String,
        retry_after: Option<Duration>,
    },
}

/// The longest answer body read (and dropped) to keep the connection.
const MAX_ANSWER: u64 = 64 * 1024;

pub fn post(agent: &ureq::Agent, endpoint: &EndpointRecord, event: &EventView) -> Outcome {
    let body = event.webhook_body();
    let now = now_micros();
    let timestamp = now / 1_000_000;
    let signature = signing::sign(&endpoint.signing_secrets(now), &event.id, timestamp, &body);
    let sent = agent
        .post(&endpoint.url)
        .header("Content-Type", "application/json")
        .header("webhook-id", &event.id)
        .header("webhook-timestamp", &timestamp.to_string())
        .header("webhook-signature", &signature)
        .send(&body[..]);
    match sent {
        Ok(mut answer) => {
            let status = answer.status().as_u16();
            let retry_after = http_client::retry_after(answer.headers());
            let _ = answer
                .body_mut()
                .as_reader()
                .take(MAX_ANSWER)
                .read_to_end(&mut Vec::new());
            judge(status, retry_after)
        }
        Err(e) => Outcome::Failed {
            status: None,
            error: e.to_string(),
            retry_after: None,
        },
    }
}

fn judge(status: u16, retry_after: Option<Duration>) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered(status),
        410 => Outcome::Gone,
        _ => Outcome::Failed {
            status: Some(status),
            error: format!("answered {status}"),
            retry_after: retry_after.filter(|_| status == 429 || status == 503),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_2xx_delivers_410_ends_and_retry_after_counts_on_429_and_503() {
        assert_eq!(judge(204, None), Outcome::Delivered(204));
        assert_eq!(judge(410, None), Outcome::Gone);
        let later = Some(Duration::from_secs(7));
        for status in [429, 503] {
            assert!(matches!(
                judge(status, later),
                Outcome::Failed {
                    retry_after: Some(_),
                    ..
                }
            ));
        }
        for status in [301, 400, 404, 500] {
            assert!(matches!(
                judge(status, later),
                Outcome::Failed {
                    retry_after: None,
                    ..
                }
            ));
        }
    }
}
