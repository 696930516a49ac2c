//! Sending an SMS: validate the request, send the batch through Sinch, and
//! register every recipient under the returned batch id. Used by
//! `POST /api/messages/send` and by `sinch-dlr send` when no daemon runs.
//!
//! A callback can arrive before Sinch's answer does; it creates the message
//! as "discovered" and the registration here takes it over (same id).
//! Nothing is registered for a batch Sinch refused.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

use crate::sinch_client::{BatchRequest, SinchClient, SinchError};
use crate::store::{MessageView, Register, Registration};
use crate::writer::WriterHandle;

pub const DELIVERY_REPORTS: [&str; 5] = [
    "none",
    "summary",
    "full",
    "per_recipient",
    "per_recipient_final",
];
const MAX_RECIPIENTS: usize = 1000;

/// What the application asks to send. An unknown field is an error naming
/// it and the fields that exist (a misspelt one must not be dropped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendInput {
    #[serde(deserialize_with = "one_or_many")]
    pub to: Vec<String>,
    pub body: Option<String>,
    pub from: Option<String>,
    pub client_reference: Option<String>,
    pub delivery_report: Option<String>,
    pub callback_url: Option<String>,
    /// Ask Sinch for delivery feedback (`POST /api/messages/{id}/feedback`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_enabled: Option<bool>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

#[derive(Debug)]
pub enum SendFailure {
    /// The request is wrong; the message names the field.
    Invalid(String),
    /// Sinch refused, failed or did not answer; nothing was registered.
    Sinch(SinchError),
    /// Sinch accepted the batch but it could not be registered here;
    /// callbacks will still create the messages ("discovered").
    NotRegistered { batch_id: String },
}

impl fmt::Display for SendFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendFailure::Invalid(m) => f.write_str(m),
            SendFailure::Sinch(e) => e.fmt(f),
            SendFailure::NotRegistered { batch_id } => write!(
                f,
                "Sinch accepted batch {batch_id} but storing its messages failed; callbacks will still be stored"
            ),
        }
    }
}

/// Parses and checks a send request body.
pub fn parse_send(body: &[u8]) -> Result<SendInput, SendFailure> {
    let input: SendInput = serde_json::from_slice(body).map_err(|e| {
        SendFailure::Invalid(format!("body must be a JSON object with to and body: {e}"))
    })?;
    validate(&input)?;
    Ok(input)
}

pub fn validate(input: &SendInput) -> Result<(), SendFailure> {
    let invalid = |m: String| Err(SendFailure::Invalid(m));
    if input.to.is_empty() || input.to.len() > MAX_RECIPIENTS {
        return invalid(format!(
            "to: 1 to {MAX_RECIPIENTS} recipients, got {}",
            input.to.len()
        ));
    }
    if let Some((i, bad)) = input.to.iter().enumerate().find(|(_, n)| !looks_e164(n)) {
        return invalid(format!(
            "to[{i}]: {bad:?} is not a phone number in E.164 form like +15551230001"
        ));
    }
    if input.body.as_deref().is_none_or(str::is_empty) {
        return invalid("body: required".into());
    }
    if let Some(dr) = &input.delivery_report {
        if !DELIVERY_REPORTS.contains(&dr.as_str()) {
            return invalid(format!(
                "delivery_report: must be one of {}",
                DELIVERY_REPORTS.join(", ")
            ));
        }
    }
    if let Some(url) = &input.callback_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048 {
            return invalid(
                "callback_url: must be an http(s) URL of at most 2048 characters".into(),
            );
        }
    }
    Ok(())
}

/// `+15551230001`, `15551230001`, `+1 555-123-0001`: a recipient by the
/// store's rule (`phone::normalize`), and for sending also at least 6
/// digits, the first not 0.
fn looks_e164(n: &str) -> bool {
    crate::phone::normalize(n).is_ok_and(|d| d.len() >= 6 && !d.starts_with('0'))
}

/// The answer of `POST /api/messages/send`: the batch, its registered
/// messages, and Sinch's own answer as it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentBatch {
    pub batch_id: String,
    pub messages: Vec<MessageView>,
    pub sinch: Value,
}

/// Sends the batch and registers every recipient. `default_callback` is
/// used when the request names no `callback_url`.
pub fn send_and_register(
    client: &SinchClient,
    writer: &WriterHandle,
    input: SendInput,
    default_callback: Option<&str>,
) -> Result<SentBatch, SendFailure> {
    let body = input.body.clone().unwrap_or_default();
    let request = BatchRequest {
        to: input.to.clone(),
        body: body.clone(),
        from: input.from.clone(),
        delivery_report: input
            .delivery_report
            .clone()
            .unwrap_or_else(|| "per_recipient".into()),
        callback_url: input
            .callback_url
            .clone()
            .or_else(|| default_callback.map(|base| format!("{base}/api/sinchCallbacks"))),
        client_reference: input.client_reference.clone(),
        feedback_enabled: input.feedback_enabled.unwrap_or(false),
    };
    let batch = client.send_batch(&request).map_err(SendFailure::Sinch)?;
    log::info!(
        "sent batch {} to {} recipient(s)",
        batch.id,
        request.to.len()
    );
    // Sent now: Sinch's created_at when it says, else this moment.
    let sent_at = batch.raw["created_at"]
        .as_str()
        .and_then(crate::clock::parse_rfc3339)
        .unwrap_or_else(crate::clock::now_micros);
    let registrations = input
        .to
        .iter()
        .map(|to| Registration {
            to: to.clone(),
            batch_id: batch.id.clone(),
            body: Some(body.clone()),
            client_reference: input.client_reference.clone(),
            sent_at: Some(sent_at),
        })
        .collect();
    match writer.submit(Register(registrations)) {
        Ok(list) => Ok(SentBatch {
            batch_id: batch.id,
            messages: list.into_iter().map(|(_, m)| m).collect(),
            sinch: batch.raw,
        }),
        Err(e) => {
            log::error!("batch {} sent but not registered: {e:?}", batch.id);
            Err(SendFailure::NotRegistered { batch_id: batch.id })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(to: &[&str], body: Option<&str>) -> SendInput {
        SendInput {
            to: to.iter().map(|s| s.to_string()).collect(),
            body: body.map(Into::into),
            from: None,
            client_reference: None,
            delivery_report: None,
            callback_url: None,
            feedback_enabled: None,
        }
    }

    #[test]
    fn e164_looking_numbers() {
        for good in [
            "+15551230001",
            "15551230001",
            "+1 555-123-0001",
            "+46 (70) 000.0001",
        ] {
            assert!(looks_e164(good), "{good}");
        }
        for bad in [
            "",
            "+",
            "12345",
            "+0555123",
            "abc",
            "+1555123000123456",
            "group:abc",
        ] {
            assert!(!looks_e164(bad), "{bad}");
        }
    }

    #[test]
    fn validation_names_the_field() {
        let msg = |i: SendInput| validate(&i).unwrap_err().to_string();
        assert!(msg(input(&[], Some("x"))).starts_with("to:"));
        assert!(msg(input(&["+15551230001", "nope"], Some("x"))).starts_with("to[1]:"));
        assert!(msg(input(&["+15551230001"], None)).starts_with("body:"));
        let many: Vec<String> = (0..1001).map(|i| format!("+1555{i:07}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(msg(input(&refs, Some("x"))).starts_with("to:"));
        let mut bad_dr = input(&["+15551230001"], Some("x"));
        bad_dr.delivery_report = Some("always".into());
        assert!(msg(bad_dr).starts_with("delivery_report:"));
        assert!(validate(&input(&["+15551230001"], Some("x"))).is_ok());
    }

    #[test]
    fn to_may_be_a_single_string() {
        let i = parse_send(br#"{"to":"+15551230001","body":"hi"}"#).unwrap();
        assert_eq!(i.to, vec!["+15551230001"]);
    }
}
