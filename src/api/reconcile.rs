//! `POST /api/reconcile[?batch_id=]`: ask Sinch now for what callbacks did
//! not tell (reconcile.rs does the work).

use crate::app::App;
use crate::http::{ApiError, Reply, Request};

/// `POST /api/reconcile[?batch_id=]`: one reconciliation pass, now.
pub fn now(app: &App, req: &Request, _: &[&str]) -> Result<Reply, ApiError> {
    let reconciler = app.reconciler.as_ref().ok_or_else(|| {
        ApiError::NotConfigured(
            "reconciliation needs SINCH_SERVICE_PLAN_ID and SINCH_API_TOKEN".into(),
        )
    })?;
    let batch = req.query_param("batch_id").filter(|b| !b.is_empty());
    let report = reconciler.run_pass(&app.store, &app.writer, batch);
    Ok(Reply::json(200, &report))
}
