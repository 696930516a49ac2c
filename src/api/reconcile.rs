//! `POST /api/reconcile`: ask Sinch now for what callbacks did not tell
//! (reconcile.rs and reconcile_window.rs do the work).
//!
//! * no parameter: one per-recipient pass over the oldest pending messages;
//! * `batch_id=B`: every pending message of batch B, per recipient;
//! * `since=T[&until=T]`: Sinch's list of reports finished in that window;
//! * `all=true`: that list from the oldest pending message until now.

use crate::app::App;
use crate::clock::now_micros;
use crate::http::{ApiError, Reply, Request};
use crate::query::parse_time;
use crate::reconcile::PassReport;
use crate::reconcile_window::Window;

pub fn now(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let reconciler = app.reconciler.as_ref().ok_or_else(|| {
        ApiError::NotConfigured(
            "reconciliation needs Sinch API credentials (a service plan or a project key)".into(),
        )
    })?;
    let param = |name| req.query_param(name).filter(|v| !v.is_empty());
    let bad = |e: crate::query::BadParam| ApiError::BadRequest(e.0);
    let report = match (param("batch_id"), param("since"), param("all")) {
        (Some(batch), None, None) if param("until").is_none() => {
            reconciler.run_pass(&app.store, &app.writer, Some(batch))
        }
        (None, Some(since), None) => {
            let since = parse_time("since", since).map_err(bad)?;
            let until = match param("until") {
                Some(u) => parse_time("until", u).map_err(bad)?,
                None => now_micros(),
            };
            if until <= since {
                return Err(ApiError::BadRequest("until must be after since".into()));
            }
            reconciler.run_window(&app.store, &app.writer, Window { since, until })
        }
        (None, None, Some("true")) => match reconciler.pending_window(&app.store) {
            Ok(Some(window)) => reconciler.run_window(&app.store, &app.writer, window),
            Ok(None) => PassReport::new("window"),
            Err(e) => {
                log::error!("reading pending messages: {e}");
                return Err(ApiError::Unavailable);
            }
        },
        (None, None, Some(other)) => {
            return Err(ApiError::BadRequest(format!("all: {other:?} is not true")));
        }
        (None, None, None) if param("until").is_some() => {
            return Err(ApiError::BadRequest("until needs since".into()));
        }
        (None, None, None) => reconciler.run_pass(&app.store, &app.writer, None),
        _ => {
            return Err(ApiError::BadRequest(
                "use one of batch_id, since (with until) or all".into(),
            ));
        }
    };
    Ok(Reply::json(200, &report))
}
