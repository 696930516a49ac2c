//! Messages: `POST /api/messages` (register one the application sent),
//! `POST /api/messages/send` (send through Sinch and register),
//! `GET /api/messages/{id}` and `GET /api/messages` (a filtered page).

use serde_json::json;

use super::registration::{self, Body, Registered};
use super::{bad, unavailable};
use crate::app::App;
use crate::http::{ApiError, Reply, Request};
use crate::query::MessageFilter;
use crate::sending::{self, SendFailure};
use crate::sinch_client::SinchError;
use crate::store::{MessagePage, Register};

/// `POST /api/messages`: one message: 201 on the first registration of
/// (batch_id, to), 200 with the same message afterwards. Many
/// (`{"messages":[...]}` or an array): all in one write, 200 with each
/// one's id and whether it was new, in order. Returns after the commit.
pub fn register(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    req.require_json()?;
    let (registrations, bulk) = match registration::parse(&req.body)? {
        Body::One(r) => (vec![r], false),
        Body::Many(list) => (list, true),
    };
    let mut registered = app
        .writer
        .submit(Register(registrations))
        .map_err(|_| ApiError::Unavailable)?;
    if bulk {
        let messages: Vec<Registered> = registered.into_iter().map(Registered::new).collect();
        return Ok(Reply::json(200, &json!({ "messages": messages })));
    }
    // One registration answers one message.
    let (created, message) = registered.pop().ok_or(ApiError::Internal)?;
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
    let mut input =
        sending::parse_send(&req.body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if input.from.is_none() {
        input.from = app.default_from.clone();
    }
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
