//! Sinch's delivery statuses and codes (docs/sinch.md#statuses-and-codes).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A delivery status (docs/sinch.md#statuses-and-codes), in Sinch's
/// spelling on the wire and on disk. Read case-insensitively (the Python SDK
/// upper-cases them); a status Sinch does not document is kept as sent
/// (`Other`) and counts as intermediate, so it can never hide a real final
/// status.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    Queued,
    Dispatched,
    Delivered,
    Failed,
    Aborted,
    Rejected,
    Expired,
    Deleted,
    Cancelled,
    Unknown,
    Other(String),
}

impl Status {
    /// The final statuses: a message's end state. (The dashboard lists the
    /// failures among them in this order.)
    pub const FINAL: [Status; 8] = [
        Status::Delivered,
        Status::Failed,
        Status::Aborted,
        Status::Rejected,
        Status::Expired,
        Status::Deleted,
        Status::Cancelled,
        Status::Unknown,
    ];
    /// The statuses on the way there.
    pub const INTERMEDIATE: [Status; 2] = [Status::Queued, Status::Dispatched];

    /// A status as Sinch (or anyone) spelled it.
    pub fn parse(s: &str) -> Status {
        Status::FINAL
            .into_iter()
            .chain(Status::INTERMEDIATE)
            .find(|known| known.as_str().eq_ignore_ascii_case(s))
            .unwrap_or_else(|| Status::Other(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Status::Queued => "Queued",
            Status::Dispatched => "Dispatched",
            Status::Delivered => "Delivered",
            Status::Failed => "Failed",
            Status::Aborted => "Aborted",
            Status::Rejected => "Rejected",
            Status::Expired => "Expired",
            Status::Deleted => "Deleted",
            Status::Cancelled => "Cancelled",
            Status::Unknown => "Unknown",
            Status::Other(s) => s,
        }
    }

    /// Whether this is an end state. `Other` counts as intermediate.
    pub fn is_final(&self) -> bool {
        !matches!(self, Status::Queued | Status::Dispatched | Status::Other(_))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Status, D::Error> {
        Ok(Status::parse(&String::deserialize(d)?))
    }
}

/// What a Sinch-specific delivery code means
/// (docs/sinch.md#statuses-and-codes); other codes are SMPP or MMS codes
/// from the operator.
pub fn code_meaning(code: i64) -> &'static str {
    match code {
        0 => "OK",
        400 => "Queued",
        401 => "Dispatched",
        402 => "Message unroutable (retry will not help)",
        403 => "Internal error",
        404 => "Temporary delivery failure",
        405 => "Unmatched parameter",
        406 => "Internal expiry (expired before the SMSC)",
        407 => "Cancelled",
        408 => "Internal reject",
        410 => "Unmatched default originator",
        411 => "Exceeded parts limit",
        412 => "Unprovisioned region",
        413 => "Blocked (account blocked or out of credit)",
        414 => "Bad media (MMS)",
        415 => "Delivery report Rejected (MMS)",
        416 => "Delivery report Not Supported (MMS)",
        417 => "Delivery report Unreachable (MMS)",
        418 => "Delivery report Unrecognized (MMS)",
        _ => "operator (SMPP/MMS) code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_statuses_follow_the_docs() {
        for s in [
            "Delivered",
            "Failed",
            "Expired",
            "Rejected",
            "Aborted",
            "Cancelled",
            "Deleted",
            "Unknown",
        ] {
            assert!(Status::parse(s).is_final(), "{s}");
            assert_eq!(Status::parse(s).as_str(), s);
        }
        assert!(!Status::parse("Queued").is_final());
        assert!(!Status::parse("Dispatched").is_final());
        assert_eq!(Status::parse("dispatched").as_str(), "Dispatched");
        assert_eq!(
            serde_json::to_string(&Status::Delivered).unwrap(),
            "\"Delivered\""
        );
        assert_eq!(
            serde_json::from_str::<Status>("\"DELIVERED\"").unwrap(),
            Status::Delivered
        );
    }
}
