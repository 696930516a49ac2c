//! The HTTP API's handlers, one file per resource. Each handler takes the
//! shared state, the request and the path's `{parameters}` in order, and is
//! named in routes.rs's one table (which also applies the token gate).

pub mod batches;
pub mod callbacks;
pub mod endpoints;
pub mod events;
pub mod feedback;
pub mod health;
pub mod inbound;
pub mod messages;
pub mod quarantine;
pub mod reconcile;
pub mod registration;
pub mod whole_store;

use serde::Serialize;
use serde_json::json;

use crate::http::{ApiError, Reply};
use crate::query::BadParam;
use crate::store::{Page, StoreError};

fn bad(e: BadParam) -> ApiError {
    ApiError::BadRequest(e.0)
}

fn unavailable(e: StoreError) -> ApiError {
    log::error!("reading the store: {e}");
    ApiError::Unavailable
}

fn page_reply<T: Serialize>(key: &str, page: Page<T>) -> Reply {
    Reply::json(
        200,
        &json!({ key: page.items, "next_cursor": page.next_cursor }),
    )
}
