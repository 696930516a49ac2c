//! Inbound (MO) messages: `GET /api/inbound` and `GET /api/inbound/{id}`.

use super::{bad, unavailable};
use crate::app::App;
use crate::http::{ApiError, Reply, Request, path_id};
use crate::query::InboundFilter;
use crate::store::InboundPage;

/// `GET /api/inbound?from=&to=&since=&until=&limit=&cursor=`
pub fn list(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let filter = InboundFilter::parse(&req.query).map_err(bad)?;
    let page = app.store.list_inbound(&filter).map_err(unavailable)?;
    Ok(Reply::json(200, &InboundPage::from(page)))
}

/// `GET /api/inbound/{id}`
pub fn one(app: &App, _: &Request, params: &[&str]) -> Result<Reply, ApiError> {
    match app
        .store
        .inbound(path_id(params[0])?)
        .map_err(unavailable)?
    {
        Some(v) => Ok(Reply::json(200, &v)),
        None => Err(ApiError::NotFound),
    }
}
