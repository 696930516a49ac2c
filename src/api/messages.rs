//! Messages: `POST /api/messages` (register one the application sent),
//! `POST /api/messages/send` (send through Sinch and register),
//! `GET /api/messages/{id}` and `GET /api/messages` (a filtered page).

use serde::Deserialize;

use super::{bad, unavailable};
use crate::app::App;
use crate::clock;
use crate::http::{ApiError, Reply, Request};
use crate::phone;
use crate::query::MessageFilter;
use crate::sending::{self, SendFailure};
use crate::sinch_client::SinchError;
use crate::store::{MessagePage, Register, Registration};

/// `POST /api/messages`: 201 on the first registration of (batch_id, to),
/// 200 with the same message afterwards. Returns after the commit.
pub fn register(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    req.require_json()?;
    let registration = parse_registration(&req.body)?;
    let registered = app.writer.submit(Register(vec![registration]));
    // One registration answers one message.
    let (created, message) = registered
        .map_err(|_| ApiError::Unavailable)?
        .pop()
        .ok_or(ApiError::Internal)?;
    Ok(Reply::json(if created { 201 } else { 200 }, &message))
}

/// `POST /api/messages/send`: sends through Sinch, registers every
/// recipient, answers 201 with the batch id and the stored messages.
pub fn send(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let client = app.sinch.as_ref().ok_or_else(|| {
        ApiError::NotConfigured(
            "sending needs SINCH_SERVICE_PLAN_ID + SINCH_API_TOKEN, or SINCH_PROJECT_ID + \
             SINCH_KEY_ID + SINCH_KEY_SECRET"
                .into(),
        )
    })?;
    req.require_json()?;
    let input = sending::parse_send(&req.body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    match sending::send_and_register(client, &app.writer, input, app.public_url.as_deref()) {
        Ok(result) => Ok(Reply::json(201, &result)),
        Err(e @ SendFailure::Invalid(_)) => Err(ApiError::BadRequest(e.to_string())),
        Err(SendFailure::Sinch(e @ SinchError::Timeout)) => {
            Err(ApiError::GatewayTimeout(e.to_string()))
        }
        Err(e) => Err(ApiError::BadGateway(e.to_string())),
    }
}

/// `GET /api/messages/{id}`.
pub fn one(app: &App, _: &Request, params: &[&str]) -> Result<Reply, ApiError> {
    let id = crate::http::path_id(params[0])?;
    match app.store.message(id) {
        Ok(Some(m)) => Ok(Reply::json(200, &m)),
        Ok(None) => Err(ApiError::NotFound),
        Err(e) => {
            log::error!("reading message {id}: {e}");
            Err(ApiError::Unavailable)
        }
    }
}

/// `GET /api/messages?batch_id=&to=&client_reference=&status=&since=&until=&limit=&cursor=`
pub fn list(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let filter = MessageFilter::parse(&req.query).map_err(bad)?;
    let page = app.store.list_messages(&filter).map_err(unavailable)?;
    Ok(Reply::json(200, &MessagePage::from(page)))
}

fn parse_registration(body: &[u8]) -> Result<Registration, ApiError> {
    #[derive(Deserialize)]
    struct Body {
        to: Option<String>,
        batch_id: Option<String>,
        body: Option<String>,
        client_reference: Option<String>,
        sent_at: Option<String>,
    }
    let b: Body = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("body must be a JSON object: {e}")))?;
    let to = required("to", b.to)?;
    if let Err(why) = phone::normalize(&to) {
        return Err(ApiError::BadRequest(format!(
            "to: {why}; expected a phone number like +15551230001"
        )));
    }
    let batch_id = required("batch_id", b.batch_id)?;
    if batch_id.len() > 128 {
        return Err(ApiError::BadRequest(
            "batch_id: longer than 128 characters".into(),
        ));
    }
    let sent_at = match b.sent_at {
        Some(s) => Some(clock::parse_rfc3339(&s).ok_or_else(|| {
            ApiError::BadRequest(format!("sent_at: {s:?} is not an RFC 3339 time"))
        })?),
        None => None,
    };
    Ok(Registration {
        to,
        batch_id,
        body: b.body,
        client_reference: b.client_reference.filter(|r| !r.is_empty()),
        sent_at,
    })
}

fn required(field: &str, value: Option<String>) -> Result<String, ApiError> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(ApiError::BadRequest(format!("{field}: required"))),
    }
}
