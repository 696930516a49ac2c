//! What a list asks the store for: filters on messages and inbound
//! messages, and the cursor that continues a page (query.rs parses them
//! from query parameters).
//!
//! A cursor is the (time, id) of the last row returned, versioned and
//! base64url-encoded. Rows are ordered newest first by (time, id), and new
//! rows always sort before old ones, so a cursor stays valid while writes
//! happen: later pages neither repeat nor skip rows that existed when the
//! first page was read.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clock::Micros;
use crate::sinch::Status;

/// Position after which the next page starts: (time, id).
pub type Cursor = (i64, u64);

/// `GET /api/messages` filters. `since`/`until` are on `created_at`,
/// `status_since`/`status_until` on the latest status's time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageFilter {
    pub batch_id: Option<String>,
    /// Digits only.
    pub to: Option<String>,
    pub client_reference: Option<String>,
    /// Latest status is any of these (None = no report yet); empty = any.
    pub statuses: Vec<Option<Status>>,
    /// Whether the latest status is final (no report yet = not final).
    pub is_final: Option<bool>,
    /// The latest status's code.
    pub code: Option<i64>,
    pub since: Option<Micros>,
    pub until: Option<Micros>,
    pub status_since: Option<Micros>,
    pub status_until: Option<Micros>,
    pub limit: usize,
    pub cursor: Option<Cursor>,
    /// Include each message's status history (exports), not just a summary.
    pub with_history: bool,
}

impl MessageFilter {
    /// Whether a message with this latest (status, code, at) matches the
    /// status filters (`statuses`, `is_final`, `code`, status times).
    pub fn wants_latest(&self, latest: Option<(&Status, i64, Micros)>) -> bool {
        let status = latest.map(|l| l.0);
        let is_final = status.is_some_and(Status::is_final);
        let in_window = |t: Micros| {
            self.status_since.is_none_or(|s| t >= s) && self.status_until.is_none_or(|u| t < u)
        };
        (self.statuses.is_empty() || self.statuses.iter().any(|s| s.as_ref() == status))
            && self.is_final.is_none_or(|f| f == is_final)
            && self.code.is_none_or(|c| latest.is_some_and(|l| l.1 == c))
            && (self.status_since.is_none() && self.status_until.is_none()
                || latest.is_some_and(|l| in_window(l.2)))
    }

    /// The latest statuses a matching message can have, when the filter
    /// narrows them (None inside = no report yet); empty = any. A status
    /// that contradicts `is_final` is left out, so the list may come out
    /// empty while the filter is not: then nothing matches.
    pub fn possible_statuses(&self) -> Option<Vec<Option<Status>>> {
        let asked: Vec<Option<Status>> = match (self.statuses.is_empty(), self.is_final) {
            (false, _) => self.statuses.clone(),
            (true, Some(true)) => Status::FINAL.into_iter().map(Some).collect(),
            (true, _) => return None,
        };
        let fits = |s: &Option<Status>| {
            let is_final = s.as_ref().is_some_and(Status::is_final);
            self.is_final.is_none_or(|f| f == is_final)
        };
        Some(asked.into_iter().filter(fits).collect())
    }
}

/// `GET /api/inbound` filters. Times are on when sinch-dlr stored it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboundFilter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub since: Option<Micros>,
    pub until: Option<Micros>,
    pub limit: usize,
    pub cursor: Option<Cursor>,
}

pub fn encode_cursor((t, id): Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("c1.{t}.{id}"))
}

/// The cursor `encode_cursor` made, or None.
pub fn decode_cursor(s: &str) -> Option<Cursor> {
    let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("c1"), Some(t), Some(id), None) => Some((t.parse().ok()?, id.parse().ok()?)),
        _ => None,
    }
}
