//! `GET /api/batches/{batch_id}`: a batch's messages and counts by status.

use super::unavailable;
use crate::app::App;
use crate::http::{ApiError, Reply, Request};

/// `GET /api/batches/{batch_id}`
pub fn one(app: &App, _: &Request, params: &[&str]) -> Result<Reply, ApiError> {
    match app.store.batch(params[0]).map_err(unavailable)? {
        Some(b) => Ok(Reply::json(200, &b)),
        None => Err(ApiError::NotFound),
    }
}
