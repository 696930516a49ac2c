//! The whole store at once: `GET /api/stats`, `GET /api/export` (streamed
//! NDJSON or CSV) and `GET /api/backup` (a consistent copy of the file).

use super::{bad, unavailable};
use crate::app::App;
use crate::clock::now_micros;
use crate::export::{ExportReader, Format};
use crate::http::{ApiError, Reply, Request};
use crate::query::{self, MessageFilter};

/// `GET /api/stats?since=` (time-to-delivered window; default 24 h).
pub fn stats(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let now = now_micros();
    let since = match req.query_param("since") {
        Some(s) => query::parse_time("since", s).map_err(bad)?,
        None => now - 24 * 3600 * 1_000_000,
    };
    let stats = app
        .store
        .stats(now, since, app.stale_after.as_secs())
        .map_err(unavailable)?;
    Ok(Reply::json(200, &stats))
}

/// `GET /api/export?format=ndjson|csv&` + the message filters: streamed.
pub fn export(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
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
pub fn backup(app: &App, _: &Request, _: &[&str]) -> Result<Reply, ApiError> {
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
