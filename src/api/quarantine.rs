//! Authenticated callbacks that could not be used: `GET /api/quarantine`
//! and `POST /api/quarantine/{id}/retry`.

use serde_json::json;

use super::{bad, page_reply, unavailable};
use crate::app::App;
use crate::http::{ApiError, Reply, Request, path_id};
use crate::query;
use crate::store::RetryQuarantined;

/// `GET /api/quarantine?limit=&cursor=`
pub fn list(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let allowed = ["limit", "cursor"];
    if let Some((k, _)) = req
        .query
        .iter()
        .find(|(k, _)| !allowed.contains(&k.as_str()))
    {
        return Err(ApiError::BadRequest(format!(
            "{k}: unknown parameter (known: limit, cursor)"
        )));
    }
    let limit = query::parse_limit(req.query_param("limit")).map_err(bad)?;
    let cursor = req
        .query_param("cursor")
        .map(query::decode_cursor)
        .transpose()
        .map_err(bad)?;
    let page = app
        .store
        .list_quarantine(limit, cursor)
        .map_err(unavailable)?;
    Ok(page_reply("quarantine", page))
}

/// `POST /api/quarantine/{id}/retry`: 200 with the result when it is now
/// stored (and gone from quarantine), 422 with the reason when it still
/// cannot be used.
pub fn retry(app: &App, _: &Request, params: &[&str]) -> Result<Reply, ApiError> {
    let qid = path_id(params[0])?;
    match app.writer.submit(RetryQuarantined(qid)) {
        Ok(Some(Ok(result))) => Ok(Reply::json(200, &json!({"result": result.as_str()}))),
        Ok(Some(Err(reason))) => Ok(Reply::json(422, &json!({"error": reason}))),
        Ok(None) => Err(ApiError::NotFound),
        Err(_) => Err(ApiError::Unavailable),
    }
}
