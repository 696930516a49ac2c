//! What can go wrong talking to Sinch's REST API, and how Sinch's error
//! bodies (`{"code","text"}`, or `{"error":{...}}`, docs/sinch.md#the-rest-api)
//! are read into it. `Display` is short and carries no secret.

use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum SinchError {
    /// Sinch answered with an error (after retries, for 429 and 5xx).
    Status {
        status: u16,
        code: Option<String>,
        text: Option<String>,
    },
    /// Sinch could not be reached; nothing was sent.
    Unreachable(String),
    /// Sent, but no answer in time: the outcome is unknown.
    Timeout,
    /// An answer that is not what the API documents.
    BadResponse(String),
}

impl fmt::Display for SinchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinchError::Status { status, code, text } => {
                write!(f, "Sinch answered {status}")?;
                if let Some(c) = code {
                    write!(f, " {c}")?;
                }
                if let Some(t) = text {
                    write!(f, ": {t}")?;
                }
                Ok(())
            }
            SinchError::Unreachable(e) => write!(f, "could not reach Sinch: {e}"),
            SinchError::Timeout => {
                f.write_str("Sinch did not answer in time; the outcome is unknown")
            }
            SinchError::BadResponse(e) => write!(f, "unexpected answer from Sinch: {e}"),
        }
    }
}

impl std::error::Error for SinchError {}

/// Sinch's error bodies: `{"code","text"}`, or `{"error":{"code","message"}}`.
pub fn status_error(status: u16, body: &str) -> SinchError {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let text_of = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let (code, text) = if v["error"].is_object() {
        (
            text_of(&v["error"]["code"]).or_else(|| text_of(&v["error"]["status"])),
            text_of(&v["error"]["message"]),
        )
    } else {
        (text_of(&v["code"]), text_of(&v["text"]))
    };
    let text = text.or_else(|| {
        (!body.trim().is_empty() && v.is_null()).then(|| body.chars().take(200).collect())
    });
    SinchError::Status { status, code, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_shapes_are_understood() {
        let e = status_error(
            400,
            r#"{"code":"syntax_invalid_parameter_format","text":"Invalid to"}"#,
        );
        assert_eq!(
            e,
            SinchError::Status {
                status: 400,
                code: Some("syntax_invalid_parameter_format".into()),
                text: Some("Invalid to".into())
            }
        );
        let e = status_error(
            403,
            r#"{"error":{"code":403,"message":"Forbidden","status":"PERMISSION_DENIED"}}"#,
        );
        assert_eq!(e.to_string(), "Sinch answered 403 403: Forbidden");
        let e = status_error(502, "<html>Bad gateway</html>");
        assert_eq!(
            e.to_string(),
            "Sinch answered 502: <html>Bad gateway</html>"
        );
    }
}
