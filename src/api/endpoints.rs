//! Webhook endpoints over the API: create (the answer carries the signing
//! secret, the only time it is shown besides a rotation), list, show (with
//! the delivery's state and lag), change, delete, replay, rotate-secret.
//! Every change is stored first, then the endpoint's delivery thread is
//! told.

use serde::{Deserialize, Serialize};

use crate::api::events::parse_types;
use crate::app::App;
use crate::clock::format_rfc3339;
use crate::config::check_url;
use crate::http::{ApiError, Reply, Request, path_id};
use crate::signing;
use crate::store::endpoints::{
    ChangeEndpoint, CreateEndpoint, DeleteEndpoint, EndpointChange, EndpointRecord, EndpointState,
};
use crate::webhooks::Progress;

/// An endpoint as the API shows it (never its secret).
#[derive(Serialize)]
pub struct EndpointView {
    pub id: u64,
    pub url: String,
    /// Empty: every type.
    pub types: Vec<String>,
    pub description: Option<String>,
    pub state: EndpointState,
    pub state_reason: Option<String>,
    pub from_config: bool,
    pub created_at: String,
    /// The last seq delivered.
    pub position: u64,
    pub lag_events: u64,
    pub lag_seconds: f64,
    #[serde(flatten)]
    pub progress: Progress,
}

pub fn view(app: &App, e: EndpointRecord) -> EndpointView {
    let progress = app
        .deliveries
        .get()
        .and_then(|d| d.progress(e.id))
        .unwrap_or(Progress {
            position: e.position,
            ..Progress::default()
        });
    let (lag_events, lag_seconds) = match app.deliveries.get() {
        Some(d) => d.lag(&progress),
        None => (app.store.last_event_seq().saturating_sub(e.position), 0.0),
    };
    EndpointView {
        id: e.id,
        url: e.url,
        types: e.types,
        description: e.description,
        state: e.state,
        state_reason: e.state_reason,
        from_config: e.from_config,
        created_at: format_rfc3339(e.created_at),
        position: progress.position.max(e.position),
        lag_events,
        lag_seconds,
        progress,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewEndpoint {
    url: String,
    #[serde(default)]
    types: Option<Vec<String>>,
    #[serde(default)]
    description: Option<String>,
}

/// `POST /api/endpoints {"url", "types"?, "description"?}` → 201 with the
/// secret.
pub fn create(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    req.require_json()?;
    let new: NewEndpoint = json_body(&req.body)?;
    check_url(&new.url).map_err(|e| ApiError::BadRequest(format!("url {e}")))?;
    let secret = signing::generate_secret().map_err(|e| {
        log::error!("no randomness for a secret: {e}");
        ApiError::Internal
    })?;
    let record = app
        .writer
        .submit(CreateEndpoint {
            url: new.url,
            types: checked_types(new.types)?,
            description: new.description,
            secret: secret.clone(),
            from_config: false,
        })
        .map_err(|_| ApiError::Unavailable)?;
    notify(app, record.id, false);
    Ok(Reply::json(201, &with_secret(view(app, record), &secret)))
}

/// `GET /api/endpoints`
pub fn list(app: &App, _: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let all = app.store.endpoints().map_err(super::unavailable)?;
    let views: Vec<EndpointView> = all.into_iter().map(|e| view(app, e)).collect();
    Ok(Reply::json(200, &serde_json::json!({ "endpoints": views })))
}

/// `GET /api/endpoints/{id}`
pub fn one(app: &App, _: &Request, params: &[&str]) -> Result<Reply, ApiError> {
    let e = find(app, path_id(params[0])?)?;
    Ok(Reply::json(200, &view(app, e)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    url: Option<String>,
    types: Option<Vec<String>>,
    #[serde(default, with = "double_option")]
    description: Option<Option<String>>,
    enabled: Option<bool>,
}

/// `PATCH /api/endpoints/{id}` (`url`, `types`, `description`, `enabled`)
pub fn edit(app: &App, req: &Request, params: &[&str]) -> Result<Reply, ApiError> {
    let id = path_id(params[0])?;
    req.require_json()?;
    let edit: Edit = json_body(&req.body)?;
    if let Some(url) = &edit.url {
        check_url(url).map_err(|e| ApiError::BadRequest(format!("url {e}")))?;
        refuse_config(&find(app, id)?, "its URL comes from SINCH_DLR_WEBHOOK_URL")?;
    }
    let change = EndpointChange::Edit {
        url: edit.url,
        types: edit.types.map(|t| checked_types(Some(t))).transpose()?,
        description: edit.description,
        enabled: edit.enabled,
    };
    change_and_show(app, id, change, false, 200)
}

/// `DELETE /api/endpoints/{id}`
pub fn delete(app: &App, _: &Request, params: &[&str]) -> Result<Reply, ApiError> {
    let id = path_id(params[0])?;
    refuse_config(
        &find(app, id)?,
        "it comes from SINCH_DLR_WEBHOOK_URL; unset that instead",
    )?;
    let existed = app
        .writer
        .submit(DeleteEndpoint { id })
        .map_err(|_| ApiError::Unavailable)?;
    if !existed {
        return Err(ApiError::NotFound);
    }
    notify(app, id, false);
    Ok(Reply::json(200, &serde_json::json!({ "deleted": id })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Replay {
    after: u64,
}

/// `POST /api/endpoints/{id}/replay {"after": SEQ}`: deliver again from
/// the event after `after` (also how to skip forward past an event).
pub fn replay(app: &App, req: &Request, params: &[&str]) -> Result<Reply, ApiError> {
    let id = path_id(params[0])?;
    find(app, id)?;
    req.require_json()?;
    let Replay { after } = json_body(&req.body)?;
    change_and_show(app, id, EndpointChange::Replay { after }, true, 200)
}

/// `POST /api/endpoints/{id}/rotate-secret`: a new secret (shown once);
/// for 24 h deliveries carry signatures with both.
pub fn rotate(app: &App, _: &Request, params: &[&str]) -> Result<Reply, ApiError> {
    let id = path_id(params[0])?;
    refuse_config(
        &find(app, id)?,
        "its secret comes from SINCH_DLR_WEBHOOK_SECRET",
    )?;
    let secret = signing::generate_secret().map_err(|_| ApiError::Internal)?;
    let change = EndpointChange::Rotate {
        secret: secret.clone(),
    };
    let record = submit_change(app, id, change)?;
    notify(app, id, false);
    let until = record
        .previous_secret
        .as_ref()
        .map(|(_, t)| format_rfc3339(*t));
    let mut answer = with_secret(view(app, record), &secret);
    answer["previous_secret_signs_until"] = serde_json::json!(until);
    Ok(Reply::json(200, &answer))
}

fn change_and_show(
    app: &App,
    id: u64,
    change: EndpointChange,
    replay: bool,
    status: u16,
) -> Result<Reply, ApiError> {
    let record = submit_change(app, id, change)?;
    notify(app, id, replay);
    Ok(Reply::json(status, &view(app, record)))
}

fn submit_change(app: &App, id: u64, change: EndpointChange) -> Result<EndpointRecord, ApiError> {
    app.writer
        .submit(ChangeEndpoint { id, change })
        .map_err(|_| ApiError::Unavailable)?
        .ok_or(ApiError::NotFound)
}

fn find(app: &App, id: u64) -> Result<EndpointRecord, ApiError> {
    let all = app.store.endpoints().map_err(super::unavailable)?;
    all.into_iter()
        .find(|e| e.id == id)
        .ok_or(ApiError::NotFound)
}

fn refuse_config(e: &EndpointRecord, why: &str) -> Result<(), ApiError> {
    if e.from_config {
        return Err(ApiError::Conflict(format!(
            "endpoint {} cannot be changed so: {why}",
            e.id
        )));
    }
    Ok(())
}

fn notify(app: &App, id: u64, replay: bool) {
    if let Some(d) = app.deliveries.get() {
        d.changed(id, replay);
    }
}

fn with_secret(view: EndpointView, secret: &str) -> serde_json::Value {
    let mut v = serde_json::to_value(view).expect("views serialise");
    v["secret"] = serde_json::json!(secret);
    v
}

fn checked_types(types: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    let joined = types.unwrap_or_default().join(",");
    let parsed = parse_types(Some(&joined))?.unwrap_or_default();
    Ok(parsed.into_iter().map(|t| t.as_str().to_string()).collect())
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))
}

/// `"description": null` clears it; leaving it out keeps it.
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}
