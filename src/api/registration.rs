//! The body of `POST /api/messages`: one registration (an object), or many
//! at once (`{"messages":[...]}` or an array), checked field by field
//! before anything is written. An unknown field is an error naming it and
//! the fields that exist: a camelCase `clientReference` must not silently
//! become null.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock;
use crate::http::ApiError;
use crate::phone;
use crate::store::{MessageView, Registration};
use crate::suggest;

/// A registration's fields.
pub const FIELDS: [&str; 5] = ["to", "batch_id", "body", "client_reference", "sent_at"];
/// Most registrations one request may carry.
pub const MAX_MESSAGES: usize = 1000;

/// What the body asked for.
pub enum Body {
    One(Registration),
    /// Answered as a list, in the order given.
    Many(Vec<Registration>),
}

/// One answer line of a bulk registration.
#[derive(Debug, Serialize)]
pub struct Registered {
    pub id: u64,
    /// First registration of this (batch_id, to); false = already known.
    pub created: bool,
    pub batch_id: String,
    pub to: String,
}

impl Registered {
    pub fn new((created, m): (bool, MessageView)) -> Registered {
        Registered {
            id: m.id,
            created,
            batch_id: m.batch_id,
            to: m.to,
        }
    }
}

fn bad(message: String) -> ApiError {
    ApiError::BadRequest(message)
}

pub fn parse(body: &[u8]) -> Result<Body, ApiError> {
    let Strict(value) =
        serde_json::from_slice(body).map_err(|e| bad(format!("body must be JSON: {e}")))?;
    match value {
        Value::Array(items) => many(items, ""),
        Value::Object(mut o) if o.contains_key("messages") => {
            unknown_fields(&o, &["messages"], "")?;
            match o.remove("messages") {
                Some(Value::Array(items)) => many(items, "messages"),
                _ => Err(bad("messages: must be an array of messages".into())),
            }
        }
        Value::Object(o) => one(&o, "").map(Body::One),
        _ => Err(bad(
            "body must be a JSON object (one message) or an array (several)".into(),
        )),
    }
}

fn many(items: Vec<Value>, name: &str) -> Result<Body, ApiError> {
    if items.is_empty() || items.len() > MAX_MESSAGES {
        return Err(bad(format!(
            "{}: 1 to {MAX_MESSAGES} messages, got {}",
            if name.is_empty() { "body" } else { name },
            items.len()
        )));
    }
    let each = items.iter().enumerate().map(|(i, item)| {
        let at = format!("{name}[{i}].");
        match item {
            Value::Object(o) => one(o, &at),
            _ => Err(bad(format!("{name}[{i}]: must be a JSON object"))),
        }
    });
    each.collect::<Result<_, _>>().map(Body::Many)
}

/// One registration; `at` prefixes a field's name in errors (`[3].`).
fn one(o: &Map<String, Value>, at: &str) -> Result<Registration, ApiError> {
    unknown_fields(o, &FIELDS, at)?;
    let text = |name: &str| match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("{at}{name}: must be a string"))),
    };
    let required = |name: &str| match text(name)? {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(bad(format!("{at}{name}: required"))),
    };
    let to = required("to")?;
    if let Err(why) = phone::normalize(&to) {
        return Err(bad(format!(
            "{at}to: {why}; expected a phone number like +15551230001"
        )));
    }
    let batch_id = required("batch_id")?;
    if batch_id.len() > 128 {
        return Err(bad(format!("{at}batch_id: longer than 128 characters")));
    }
    let sent_at = match text("sent_at")? {
        Some(s) => Some(
            clock::parse_rfc3339(&s)
                .ok_or_else(|| bad(format!("{at}sent_at: {s:?} is not an RFC 3339 time")))?,
        ),
        None => None,
    };
    Ok(Registration {
        to,
        batch_id,
        body: text("body")?,
        client_reference: text("client_reference")?.filter(|r| !r.is_empty()),
        sent_at,
    })
}

/// JSON in which no object names a key twice: `{"to":"+1555","to":"+1666"}`
/// is ambiguous (which one did the sender mean?), so it is refused rather
/// than resolved by taking the last.
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if out.insert(key.clone(), value).is_some() {
                return Err(serde::de::Error::custom(format!("{key} given twice")));
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

fn unknown_fields(o: &Map<String, Value>, known: &[&str], at: &str) -> Result<(), ApiError> {
    let unknown: Vec<String> = o
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| format!("{k}{}", suggest::hint(k, known.iter().copied())))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(bad(format!(
        "{at}unknown field{} {}; the fields are {}",
        if unknown.len() == 1 { "" } else { "s" },
        unknown.join(", "),
        known.join(", ")
    )))
}
