//! The overview's reconciliation card: when the last pass ran (since this
//! daemon started) and what it found.

use super::html::{esc, table};
use crate::app::App;
use crate::clock::format_rfc3339;

pub fn card(app: &App) -> String {
    if app.reconciler.is_none() {
        return r#"<div class="card"><h2>Reconciliation</h2><p class="muted">Off: no Sinch API credentials.</p></div>"#.into();
    }
    let body = match app.metrics.sinch.last_pass() {
        None => r#"<p class="muted">No pass since this daemon started.</p>"#.to_string(),
        Some(p) => table(
            &[
                "Last pass",
                "Kind",
                "Checked",
                "Updated",
                "Discovered",
                "Errors",
            ],
            &[vec![
                esc(&format_rfc3339(p.at)),
                esc(p.kind),
                p.checked.to_string(),
                p.updated.to_string(),
                p.discovered.to_string(),
                p.errors.to_string(),
            ]],
        ),
    };
    format!(r#"<div class="card"><h2>Reconciliation</h2>{body}</div>"#)
}
