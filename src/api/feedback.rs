//! Delivery feedback: the application tells Sinch which recipients got a
//! message sent with `feedback_enabled` (say, the user typed the one-time
//! code), through `POST .../batches/{batch_id}/delivery_feedback`
//! (docs/sinch.md#the-rest-api). What was told is kept with each message.
//!
//! * `POST /api/messages/{id}/feedback`: that message's recipient;
//! * `POST /api/batches/{batch_id}/feedback` with `{"recipients": [...]}`
//!   (numbers of the batch's messages), or no body / an empty list for
//!   every recipient of the batch.

use serde::Deserialize;
use serde_json::json;

use super::unavailable;
use crate::app::App;
use crate::clock::{format_rfc3339, now_micros};
use crate::http::{ApiError, Reply, Request, path_id};
use crate::phone::digits;
use crate::sinch_client::{SinchClient, SinchError};
use crate::store::RecordFeedback;

fn client(app: &App) -> Result<&SinchClient, ApiError> {
    app.sinch.as_ref().ok_or_else(|| {
        ApiError::NotConfigured("delivery feedback needs Sinch API credentials".into())
    })
}

fn sinch_failed(e: SinchError) -> ApiError {
    match e {
        SinchError::Timeout => ApiError::GatewayTimeout(e.to_string()),
        e => ApiError::BadGateway(e.to_string()),
    }
}

/// Tells Sinch, then keeps it with the messages.
fn tell(
    app: &App,
    batch_id: &str,
    told: &[String],
    messages: Vec<(String, String)>,
) -> Result<i64, ApiError> {
    client(app)?
        .delivery_feedback(batch_id, told)
        .map_err(sinch_failed)?;
    let at = now_micros();
    app.writer
        .submit(RecordFeedback { messages, at })
        .map_err(|e| {
            log::error!("feedback for batch {batch_id} sent but not kept: {e:?}");
            ApiError::Unavailable
        })?;
    Ok(at)
}

/// `POST /api/messages/{id}/feedback`
pub fn message(app: &App, _: &Request, params: &[&str]) -> Result<Reply, ApiError> {
    let id = path_id(params[0])?;
    let m = app
        .store
        .message(id)
        .map_err(unavailable)?
        .ok_or(ApiError::NotFound)?;
    let told = vec![format!("+{}", m.recipient)];
    tell(
        app,
        &m.batch_id,
        &told,
        vec![(m.batch_id.clone(), m.recipient.clone())],
    )?;
    let m = app.store.message(id).map_err(unavailable)?;
    Ok(Reply::json(200, &m))
}

/// `POST /api/batches/{batch_id}/feedback`
pub fn batch(app: &App, req: &Request, params: &[&str]) -> Result<Reply, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default)]
        recipients: Vec<String>,
    }
    let batch_id = params[0];
    let body: Body = match req.body.iter().all(u8::is_ascii_whitespace) {
        true => Body { recipients: vec![] },
        false => {
            req.require_json()?;
            serde_json::from_slice(&req.body).map_err(|e| {
                ApiError::BadRequest(format!("body: {{\"recipients\": [...]}}: {e}"))
            })?
        }
    };
    let batch = app
        .store
        .batch(batch_id)
        .map_err(unavailable)?
        .ok_or(ApiError::NotFound)?;
    let mut known: Vec<String> = batch.messages.iter().map(|m| m.recipient.clone()).collect();
    known.sort();
    let chosen: Vec<String> = match body.recipients.is_empty() {
        true => known,
        false => body.recipients.iter().map(|r| digits(r)).collect(),
    };
    if let Some(stranger) = chosen
        .iter()
        .find(|r| !batch.messages.iter().any(|m| &m.recipient == *r))
    {
        return Err(ApiError::BadRequest(format!(
            "recipients: {stranger} is not a message of batch {batch_id}"
        )));
    }
    // An empty list tells Sinch "every recipient of the batch".
    let told: Vec<String> = match body.recipients.is_empty() {
        true => vec![],
        false => chosen.iter().map(|r| format!("+{r}")).collect(),
    };
    let messages = chosen
        .iter()
        .map(|r| (batch_id.to_string(), r.clone()))
        .collect();
    let at = tell(app, batch_id, &told, messages)?;
    Ok(Reply::json(
        200,
        &json!({"batch_id": batch_id, "recipients": chosen, "feedback_at": format_rfc3339(at)}),
    ))
}
