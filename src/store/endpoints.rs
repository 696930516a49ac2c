//! Webhook endpoints: where events are pushed, with their signing secret
//! and their position in the log (the last seq delivered). Kept in the
//! redb file, changed only through the writes below. Delivery itself is
//! `webhooks/`; this is what survives a restart.

use redb::{ReadTransaction, ReadableTable};
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::apply::Tx;
use super::record::{RECORD_VERSION, decode, encode};
use super::tables::{ENDPOINTS, NEXT_ENDPOINT_ID, NEXT_EVENT_SEQ};
use super::write::Write;
use crate::clock::{Micros, now_micros};

/// How long a rotated-out secret still signs (both signatures are sent).
pub const ROTATION_OVERLAP_MICROS: Micros = 24 * 3600 * 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointState {
    /// Delivering (or retrying one event).
    Active,
    /// The retry schedule ran out; stopped until re-enabled.
    Failing,
    /// Turned off by an operator, or by the receiver (410 Gone).
    Disabled,
}

impl EndpointState {
    pub const ALL: [EndpointState; 3] = [
        EndpointState::Active,
        EndpointState::Failing,
        EndpointState::Disabled,
    ];
    pub const NAMES: [&'static str; 3] = ["active", "failing", "disabled"];

    /// The wire name (as the API shows it).
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointState::Active => Self::NAMES[0],
            EndpointState::Failing => Self::NAMES[1],
            EndpointState::Disabled => Self::NAMES[2],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub v: u32,
    pub id: u64,
    pub url: String,
    /// Event types sent; empty = all.
    pub types: Vec<String>,
    pub description: Option<String>,
    pub state: EndpointState,
    /// Why it is failing or disabled.
    pub state_reason: Option<String>,
    /// The last seq delivered (or passed over by `types`).
    pub position: u64,
    /// `whsec_` + base64 of the key.
    pub secret: String,
    /// The secret before the last rotation, and until when it still signs.
    pub previous_secret: Option<(String, Micros)>,
    pub created_at: Micros,
    /// Changed by every operator change; a delivery's position is stored
    /// only if no change came in between (a replay is never undone).
    pub generation: u64,
    /// Made from SINCH_DLR_WEBHOOK_URL (kept in step with it at start).
    pub from_config: bool,
}

impl EndpointRecord {
    /// The secrets that sign now: the current one, and the previous one
    /// during its overlap.
    pub fn signing_secrets(&self, now: Micros) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let Some((old, until)) = &self.previous_secret {
            if now < *until {
                secrets.push(old);
            }
        }
        secrets
    }

    pub fn wants(&self, kind: &str) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| t == kind)
    }
}

/// A new endpoint; it starts at the current end of the log.
#[derive(Debug, Clone)]
pub struct CreateEndpoint {
    pub url: String,
    pub types: Vec<String>,
    pub description: Option<String>,
    pub secret: String,
    pub from_config: bool,
}

impl Write for CreateEndpoint {
    type Answer = EndpointRecord;

    fn apply(&self, tx: &mut Tx<'_>) -> Result<EndpointRecord, StoreError> {
        let id = tx.next_id(NEXT_ENDPOINT_ID)?;
        let next_seq = match tx.next_event_seq {
            Some(next) => next,
            None => tx
                .meta
                .open()?
                .get(NEXT_EVENT_SEQ)?
                .map_or(1, |v| v.value()),
        };
        let record = EndpointRecord {
            v: RECORD_VERSION,
            id,
            url: self.url.clone(),
            types: self.types.clone(),
            description: self.description.clone(),
            state: EndpointState::Active,
            state_reason: None,
            position: next_seq - 1,
            secret: self.secret.clone(),
            previous_secret: None,
            created_at: now_micros(),
            generation: 1,
            from_config: self.from_config,
        };
        tx.save_endpoint(&record)?;
        Ok(record)
    }
}

/// What an operator (or the delivery) changes on an endpoint.
#[derive(Debug, Clone)]
pub enum EndpointChange {
    /// PATCH: only the fields given. `enabled: true` makes a failing or
    /// disabled endpoint active again, from its position.
    Edit {
        url: Option<String>,
        types: Option<Vec<String>>,
        description: Option<Option<String>>,
        enabled: Option<bool>,
    },
    /// Deliver again from after `after` (active again).
    Replay { after: u64 },
    /// A new secret; the old one signs too for 24 h.
    Rotate { secret: String },
    /// The delivery's progress, stored only if `generation` still holds.
    Position { to: u64, generation: u64 },
    /// The delivery stops: failing (schedule ran out) or disabled (410).
    Stop {
        state: EndpointState,
        reason: String,
        generation: u64,
    },
}

#[derive(Debug, Clone)]
pub struct ChangeEndpoint {
    pub id: u64,
    pub change: EndpointChange,
}

impl Write for ChangeEndpoint {
    /// The endpoint after the change; None if there is no such endpoint.
    type Answer = Option<EndpointRecord>;

    fn apply(&self, tx: &mut Tx<'_>) -> Result<Option<EndpointRecord>, StoreError> {
        let Some(mut e) = tx.endpoint(self.id)? else {
            return Ok(None);
        };
        if !apply_change(&mut e, &self.change) {
            return Ok(Some(e));
        }
        tx.save_endpoint(&e)?;
        Ok(Some(e))
    }
}

/// Applies `change`; false if it is a delivery's and an operator's change
/// came first (nothing to store).
fn apply_change(e: &mut EndpointRecord, change: &EndpointChange) -> bool {
    let operator = |e: &mut EndpointRecord| e.generation += 1;
    match change.clone() {
        EndpointChange::Edit {
            url,
            types,
            description,
            enabled,
        } => {
            e.url = url.unwrap_or(e.url.clone());
            e.types = types.unwrap_or(e.types.clone());
            e.description = description.unwrap_or(e.description.clone());
            match enabled {
                Some(true) => set_state(e, EndpointState::Active, None),
                Some(false) => {
                    set_state(e, EndpointState::Disabled, Some("disabled by an operator"))
                }
                None => {}
            }
            operator(e);
        }
        EndpointChange::Replay { after } => {
            e.position = after;
            set_state(e, EndpointState::Active, None);
            operator(e);
        }
        EndpointChange::Rotate { secret } => {
            let old = std::mem::replace(&mut e.secret, secret);
            e.previous_secret = Some((old, now_micros() + ROTATION_OVERLAP_MICROS));
            operator(e);
        }
        EndpointChange::Position { to, generation } => {
            if generation != e.generation || to <= e.position {
                return false;
            }
            e.position = to;
        }
        EndpointChange::Stop {
            state,
            reason,
            generation,
        } => {
            if generation != e.generation {
                return false;
            }
            set_state(e, state, Some(&reason));
        }
    }
    true
}

fn set_state(e: &mut EndpointRecord, state: EndpointState, reason: Option<&str>) {
    e.state = state;
    e.state_reason = reason.map(str::to_string);
}

#[derive(Debug, Clone)]
pub struct DeleteEndpoint {
    pub id: u64,
}

impl Write for DeleteEndpoint {
    /// Whether it existed.
    type Answer = bool;

    fn apply(&self, tx: &mut Tx<'_>) -> Result<bool, StoreError> {
        Ok(tx.endpoints.open()?.remove(self.id)?.is_some())
    }
}

/// The endpoint from SINCH_DLR_WEBHOOK_URL / _SECRET: created at the first
/// start, its URL and secret kept in step at later ones; removed when the
/// variable is unset.
#[derive(Debug, Clone)]
pub struct ConfigEndpoint {
    pub wanted: Option<(String, String)>,
}

impl Write for ConfigEndpoint {
    type Answer = Option<EndpointRecord>;

    fn apply(&self, tx: &mut Tx<'_>) -> Result<Option<EndpointRecord>, StoreError> {
        let found = tx.all_endpoints()?.into_iter().find(|e| e.from_config);
        match (found, &self.wanted) {
            (None, None) => Ok(None),
            (Some(e), None) => {
                tx.endpoints.open()?.remove(e.id)?;
                Ok(None)
            }
            (Some(mut e), Some((url, secret))) => {
                if (&e.url, &e.secret) != (url, secret) {
                    e.url = url.clone();
                    e.secret = secret.clone();
                    e.previous_secret = None;
                    e.generation += 1;
                    tx.save_endpoint(&e)?;
                }
                Ok(Some(e))
            }
            (None, Some((url, secret))) => CreateEndpoint {
                url: url.clone(),
                types: Vec::new(),
                description: Some("from SINCH_DLR_WEBHOOK_URL".into()),
                secret: secret.clone(),
                from_config: true,
            }
            .apply(tx)
            .map(Some),
        }
    }
}

impl Tx<'_> {
    fn endpoint(&mut self, id: u64) -> Result<Option<EndpointRecord>, StoreError> {
        match self.endpoints.open()?.get(id)? {
            Some(row) => decode("endpoints", row.value()).map(Some),
            None => Ok(None),
        }
    }

    fn all_endpoints(&mut self) -> Result<Vec<EndpointRecord>, StoreError> {
        let mut all = Vec::new();
        for row in self.endpoints.open()?.iter()? {
            all.push(decode("endpoints", row?.1.value())?);
        }
        Ok(all)
    }

    fn save_endpoint(&mut self, e: &EndpointRecord) -> Result<(), StoreError> {
        self.endpoints.open()?.insert(e.id, encode(e).as_slice())?;
        Ok(())
    }
}

/// Every endpoint, by id.
pub(super) fn all(txn: &ReadTransaction) -> Result<Vec<EndpointRecord>, StoreError> {
    let table = txn.open_table(ENDPOINTS)?;
    let mut all = Vec::new();
    for row in table.iter()? {
        all.push(decode("endpoints", row?.1.value())?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> EndpointRecord {
        EndpointRecord {
            v: 1,
            id: 1,
            url: "http://x".into(),
            types: Vec::new(),
            description: None,
            state: EndpointState::Active,
            state_reason: None,
            position: 10,
            secret: "whsec_a".into(),
            previous_secret: None,
            created_at: 0,
            generation: 1,
            from_config: false,
        }
    }

    #[test]
    fn state_names_are_the_wire_names() {
        for state in EndpointState::ALL {
            let wire = serde_json::to_value(state).unwrap();
            assert_eq!(wire, state.as_str());
        }
    }

    #[test]
    fn a_delivery_position_never_undoes_a_replay_made_meanwhile() {
        let mut e = endpoint();
        assert!(apply_change(&mut e, &EndpointChange::Replay { after: 3 }));
        let stale = EndpointChange::Position {
            to: 12,
            generation: 1,
        };
        assert!(!apply_change(&mut e, &stale));
        assert_eq!(e.position, 3);
        let current = EndpointChange::Position {
            to: 4,
            generation: e.generation,
        };
        assert!(apply_change(&mut e, &current));
        assert_eq!(e.position, 4);
    }

    #[test]
    fn a_rotated_out_secret_signs_only_during_its_overlap() {
        let mut e = endpoint();
        apply_change(
            &mut e,
            &EndpointChange::Rotate {
                secret: "whsec_b".into(),
            },
        );
        let now = now_micros();
        assert_eq!(e.signing_secrets(now), vec!["whsec_b", "whsec_a"]);
        assert_eq!(
            e.signing_secrets(now + ROTATION_OVERLAP_MICROS + 1),
            vec!["whsec_b"]
        );
    }

    #[test]
    fn enabling_a_failing_endpoint_makes_it_active_from_its_position() {
        let mut e = endpoint();
        let stop = EndpointChange::Stop {
            state: EndpointState::Failing,
            reason: "schedule ran out".into(),
            generation: 1,
        };
        assert!(apply_change(&mut e, &stop));
        assert_eq!(e.state, EndpointState::Failing);
        let enable = EndpointChange::Edit {
            url: None,
            types: None,
            description: None,
            enabled: Some(true),
        };
        apply_change(&mut e, &enable);
        assert_eq!(
            (e.state, e.position, e.state_reason.clone()),
            (EndpointState::Active, 10, None)
        );
    }
}
