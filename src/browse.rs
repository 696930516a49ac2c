//! Read-only operator endpoints (bearer token checked by routes.rs):
//! message lists, batches, inbound messages, quarantine, stats, export and
//! backup; plus quarantine retry. Each answers from one read snapshot.

use serde_json::json;
use std::time::Duration;

use crate::clock::now_micros;
use crate::export::{ExportReader, Format};
use crate::http::{ApiError, Reply, Request, path_id};
use crate::query::{self, BadParam, InboundFilter, MessageFilter};
use crate::routes::App;
use crate::store::{Outcome, Page, StoreError, WriteOp};

fn bad(e: BadParam) -> ApiError {
    ApiError::BadRequest(e.0)
}

fn unavailable(e: StoreError) -> ApiError {
    log::error!("reading the store: {e}");
    ApiError::Unavailable
}

fn page_reply(key: &str, page: Page) -> Reply {
    Reply::json(
        200,
        &json!({ key: page.items, "next_cursor": page.next_cursor }),
    )
}

/// `GET /api/messages?batch_id=&to=&client_reference=&status=&since=&until=&limit=&cursor=`
pub fn messages(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let filter = MessageFilter::parse(&req.query).map_err(bad)?;
    let page = app.store.list_messages(&filter).map_err(unavailable)?;
    Ok(page_reply("messages", page))
}

/// `GET /api/batches/{batch_id}`
pub fn batch(app: &App, batch_id: &str) -> Result<Reply, ApiError> {
    match app.store.batch(batch_id).map_err(unavailable)? {
        Some(b) => Ok(Reply::json(200, &b)),
        None => Err(ApiError::NotFound),
    }
}

/// `GET /api/inbound?from=&to=&since=&until=&limit=&cursor=`
pub fn inbound_list(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let filter = InboundFilter::parse(&req.query).map_err(bad)?;
    let page = app.store.list_inbound(&filter).map_err(unavailable)?;
    Ok(page_reply("inbound", page))
}

/// `GET /api/inbound/{id}`
pub fn inbound_one(app: &App, raw_id: &str) -> Result<Reply, ApiError> {
    match app.store.inbound(path_id(raw_id)?).map_err(unavailable)? {
        Some(v) => Ok(Reply::json(200, &v)),
        None => Err(ApiError::NotFound),
    }
}

/// `GET /api/quarantine?limit=&cursor=`
pub fn quarantine(app: &App, req: &Request) -> Result<Reply, ApiError> {
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
pub fn quarantine_retry(app: &App, raw_id: &str) -> Result<Reply, ApiError> {
    let qid = path_id(raw_id)?;
    match app.writer.submit(WriteOp::RetryQuarantined(qid)) {
        Ok(Outcome::Retried(Some(Ok(result)))) => {
            Ok(Reply::json(200, &json!({"result": result.as_str()})))
        }
        Ok(Outcome::Retried(Some(Err(reason)))) => Ok(Reply::json(422, &json!({"error": reason}))),
        Ok(Outcome::Retried(None)) => Err(ApiError::NotFound),
        Ok(other) => {
            log::error!("writer answered a retry with {other:?}");
            Err(ApiError::Internal)
        }
        Err(_) => Err(ApiError::Unavailable),
    }
}

/// `GET /api/stats?since=` (time-to-delivered window; default 24 h).
pub fn stats(app: &App, req: &Request, stale_after: Duration) -> Result<Reply, ApiError> {
    let now = now_micros();
    let since = match req.query_param("since") {
        Some(s) => query::parse_time("since", s).map_err(bad)?,
        None => now - 24 * 3600 * 1_000_000,
    };
    let stats = app
        .store
        .stats(now, since, stale_after.as_secs())
        .map_err(unavailable)?;
    Ok(Reply::json(200, &stats))
}

/// `GET /api/export?format=ndjson|csv&` + the message filters: streamed.
pub fn export(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let format = Format::parse(req.query_param("format")).map_err(bad)?;
    let params: Vec<(String, String)> = req
        .query
        .iter()
        .filter(|(k, _)| k != "format")
        .cloned()
        .collect();
    let filter = MessageFilter::parse(&params).map_err(bad)?;
    let reader = ExportReader::new(app.store.clone(), filter, format);
    Ok(Reply::stream(format.content_type(), reader))
}

/// `GET /api/backup`: a consistent copy of the database file, streamed.
/// The copy is written beside the database first (the only place the
/// service may write), then sent and removed.
pub fn backup(app: &App) -> Result<Reply, ApiError> {
    let dir = app
        .store
        .path()
        .parent()
        .filter(|p| !p.as_os_str().is_empty());
    let dir = dir.unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".sinch-dlr-backup-{}-{}.redb",
        std::process::id(),
        now_micros()
    ));
    app.store.backup(&tmp).map_err(|e| {
        log::error!("backup failed: {e}");
        ApiError::Unavailable
    })?;
    let file = std::fs::File::open(&tmp).map_err(|e| {
        log::error!("backup: {e}");
        ApiError::Internal
    })?;
    // Unlinked now; the open handle keeps the data until it is sent.
    let _ = std::fs::remove_file(&tmp);
    Ok(Reply::stream("application/octet-stream", file))
}
