//! List queries as the API and CLI state them: the filters of
//! store/filter.rs parsed from query parameters (a bad one is an error
//! naming it), limits, and the opaque cursor read back. No storage here;
//! store/list.rs runs the filters on the indexes.

use crate::clock::{self, Micros};
use crate::phone;
use crate::sinch::Status;
pub use crate::store::filter::{Cursor, InboundFilter, MessageFilter, encode_cursor};

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 1000;

/// A query parameter that could not be used.
#[derive(Debug, Clone, PartialEq)]
pub struct BadParam(pub String);

impl std::fmt::Display for BadParam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type Params<'a> = &'a [(String, String)];

fn param<'a>(params: Params<'a>, name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn reject_unknown(params: Params<'_>, known: &[&str]) -> Result<(), BadParam> {
    match params.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        Some((k, _)) => Err(BadParam(format!(
            "{k}: unknown parameter (known: {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

/// RFC 3339, or a date `YYYY-MM-DD` (midnight UTC).
pub fn parse_time(name: &str, value: &str) -> Result<Micros, BadParam> {
    let full;
    let text = if value.len() == 10 {
        full = format!("{value}T00:00:00Z");
        &full
    } else {
        value
    };
    clock::parse_rfc3339(text).ok_or_else(|| {
        BadParam(format!(
            "{name}: {value:?} is not an RFC 3339 time or a YYYY-MM-DD date"
        ))
    })
}

fn time(params: Params<'_>, name: &str) -> Result<Option<Micros>, BadParam> {
    param(params, name).map(|v| parse_time(name, v)).transpose()
}

pub fn parse_limit(value: Option<&str>) -> Result<usize, BadParam> {
    let Some(v) = value else {
        return Ok(DEFAULT_LIMIT);
    };
    match v.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(BadParam(format!(
            "limit: {v:?} is not a number from 1 to {MAX_LIMIT}"
        ))),
    }
}

fn short(name: &str, value: Option<&str>) -> Result<Option<String>, BadParam> {
    match value {
        Some(v) if v.len() > 2048 => Err(BadParam(format!("{name}: longer than 2048 characters"))),
        other => Ok(other.map(str::to_string)),
    }
}

fn digits_param(name: &str, value: Option<&str>) -> Result<Option<String>, BadParam> {
    let Some(v) = value else { return Ok(None) };
    let d = phone::digits(v);
    if d.is_empty() || d.len() > 20 {
        return Err(BadParam(format!("{name}: {v:?} is not a phone number")));
    }
    Ok(Some(d))
}

fn window(
    (since_name, since): (&str, Option<Micros>),
    until: Option<Micros>,
) -> Result<(), BadParam> {
    match (since, until) {
        (Some(s), Some(u)) if s >= u => Err(BadParam(format!(
            "{since_name}: must be before {}",
            since_name.replace("since", "until")
        ))),
        _ => Ok(()),
    }
}

/// What `status=` accepts: `none` (no report yet) and Sinch's statuses.
pub fn status_names() -> Vec<String> {
    let known = Status::INTERMEDIATE.into_iter().chain(Status::FINAL);
    std::iter::once("none".to_string())
        .chain(known.map(|s| s.as_str().to_string()))
        .collect()
}

/// One status as asked for: `none` is None (no report yet); a status
/// Sinch does not document is an error naming the valid ones.
pub fn parse_status(value: &str) -> Result<Option<Status>, BadParam> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    match Status::parse(value) {
        Status::Other(_) => {
            let names = status_names();
            Err(BadParam(format!(
                "status: {value:?} is not a status{}; valid: {}",
                crate::suggest::hint(value, names.iter().map(String::as_str)),
                names.join(", ")
            )))
        }
        s => Ok(Some(s)),
    }
}

/// Every `status` parameter, each a comma-separated list.
fn statuses(params: Params<'_>) -> Result<Vec<Option<Status>>, BadParam> {
    let mut out = Vec::new();
    for (_, v) in params.iter().filter(|(k, _)| k == "status") {
        for one in v.split(',').filter(|s| !s.trim().is_empty()) {
            let s = parse_status(one)?;
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    Ok(out)
}

fn boolean(name: &str, value: Option<&str>) -> Result<Option<bool>, BadParam> {
    match value {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(BadParam(format!("{name}: {v:?} is not true or false"))),
    }
}

fn code(value: Option<&str>) -> Result<Option<i64>, BadParam> {
    value
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| BadParam(format!("code: {v:?} is not a delivery code (a number)")))
        })
        .transpose()
}

impl MessageFilter {
    pub fn parse(params: Params<'_>) -> Result<MessageFilter, BadParam> {
        reject_unknown(
            params,
            &[
                "batch_id",
                "to",
                "client_reference",
                "status",
                "final",
                "code",
                "since",
                "until",
                "status_since",
                "status_until",
                "limit",
                "cursor",
            ],
        )?;
        let f = MessageFilter {
            batch_id: short("batch_id", param(params, "batch_id"))?,
            to: digits_param("to", param(params, "to"))?,
            client_reference: short("client_reference", param(params, "client_reference"))?,
            statuses: statuses(params)?,
            is_final: boolean("final", param(params, "final"))?,
            code: code(param(params, "code"))?,
            since: time(params, "since")?,
            until: time(params, "until")?,
            status_since: time(params, "status_since")?,
            status_until: time(params, "status_until")?,
            limit: parse_limit(param(params, "limit"))?,
            cursor: param(params, "cursor").map(decode_cursor).transpose()?,
            with_history: false,
        };
        window(("since", f.since), f.until)?;
        window(("status_since", f.status_since), f.status_until)?;
        Ok(f)
    }
}

impl InboundFilter {
    pub fn parse(params: Params<'_>) -> Result<InboundFilter, BadParam> {
        reject_unknown(params, &["from", "to", "since", "until", "limit", "cursor"])?;
        let f = InboundFilter {
            from: digits_param("from", param(params, "from"))?,
            to: digits_param("to", param(params, "to"))?,
            since: time(params, "since")?,
            until: time(params, "until")?,
            limit: parse_limit(param(params, "limit"))?,
            cursor: param(params, "cursor").map(decode_cursor).transpose()?,
        };
        window(("since", f.since), f.until)?;
        Ok(f)
    }
}

/// A cursor as returned by this API, or an error naming the parameter.
pub fn decode_cursor(s: &str) -> Result<Cursor, BadParam> {
    crate::store::filter::decode_cursor(s)
        .ok_or_else(|| BadParam("cursor: not a cursor returned by this API".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn cursor_round_trips() {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        for c in [
            (0, 0),
            (1_736_760_160_914_000, 42),
            (i64::MIN, u64::MAX),
            (-5, 7),
        ] {
            assert_eq!(decode_cursor(&encode_cursor(c)), Ok(c));
        }
        for bad in [
            "",
            "!!",
            "YWJj",
            &URL_SAFE_NO_PAD.encode("c1.x.1"),
            &URL_SAFE_NO_PAD.encode("c1.1.2.3"),
        ] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn message_filter_parses_and_normalises() {
        let f = MessageFilter::parse(&p(&[
            ("to", "+1 555-123-0001"),
            ("status", "delivered"),
            ("since", "2025-01-01"),
            ("limit", "10"),
        ]))
        .unwrap();
        assert_eq!(f.to.as_deref(), Some("15551230001"));
        assert_eq!(f.statuses, vec![Some(Status::Delivered)]);
        assert_eq!(f.since, clock::parse_rfc3339("2025-01-01T00:00:00Z"));
        assert_eq!(f.limit, 10);
        assert_eq!(MessageFilter::parse(&[]).unwrap().limit, DEFAULT_LIMIT);
    }

    #[test]
    fn status_filters_parse_none_several_final_and_code() {
        let f = MessageFilter::parse(&p(&[
            ("status", "none,failed"),
            ("status", "Expired,Failed"),
            ("final", "false"),
            ("code", "402"),
            ("status_since", "2025-01-01"),
        ]))
        .unwrap();
        assert_eq!(
            f.statuses,
            vec![None, Some(Status::Failed), Some(Status::Expired)]
        );
        assert_eq!(f.is_final, Some(false));
        assert_eq!(f.code, Some(402));
        assert!(f.status_since.is_some());
        // final=false leaves only the statuses that are not final.
        assert_eq!(f.possible_statuses(), Some(vec![None]));
        let finals = MessageFilter {
            is_final: Some(true),
            ..MessageFilter::default()
        };
        assert_eq!(
            finals.possible_statuses().unwrap().len(),
            Status::FINAL.len()
        );
        assert_eq!(MessageFilter::default().possible_statuses(), None);
        let err = parse_status("Deliverd").unwrap_err().0;
        assert!(err.contains("did you mean Delivered?"), "{err}");
        assert!(err.contains("none, Queued, Dispatched, Delivered"), "{err}");
    }

    #[test]
    fn bad_parameters_are_named() {
        let err = |pairs: &[(&str, &str)]| MessageFilter::parse(&p(pairs)).unwrap_err().0;
        assert!(err(&[("limit", "0")]).starts_with("limit:"));
        assert!(err(&[("limit", "1001")]).starts_with("limit:"));
        assert!(err(&[("limit", "ten")]).starts_with("limit:"));
        assert!(err(&[("since", "yesterday")]).starts_with("since:"));
        assert!(err(&[("to", "nobody")]).starts_with("to:"));
        assert!(err(&[("cursor", "garbage")]).starts_with("cursor:"));
        assert!(err(&[("colour", "red")]).starts_with("colour:"));
        assert!(err(&[("since", "2025-01-02"), ("until", "2025-01-01")]).starts_with("since:"));
        assert!(err(&[("batch_id", &"x".repeat(3000))]).starts_with("batch_id:"));
        assert!(err(&[("status", "Sent")]).starts_with("status:"));
        assert!(err(&[("final", "yes")]).starts_with("final:"));
        assert!(err(&[("code", "4o2")]).starts_with("code:"));
        assert!(err(&[("status_since", "x")]).starts_with("status_since:"));
    }
}
