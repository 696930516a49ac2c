//! Delivery feedback kept with its messages: when the application told
//! Sinch (`POST .../delivery_feedback`) that a recipient got the message.
//! The message's status is not touched: feedback is the application's word,
//! not a delivery report; Sinch's next report still decides the status.

use super::write::Write;
use super::{StoreError, Tx};
use crate::clock::Micros;

/// Notes feedback given at `at` on each (batch_id, recipient digits).
/// Answers how many of them are messages here.
#[derive(Debug, Clone)]
pub struct RecordFeedback {
    pub messages: Vec<(String, String)>,
    pub at: Micros,
}

impl Write for RecordFeedback {
    type Answer = usize;

    fn apply(&self, tx: &mut Tx<'_>) -> Result<usize, StoreError> {
        let mut found = 0;
        for (batch_id, recipient) in &self.messages {
            if let Some(mut m) = tx.find(batch_id, recipient)? {
                m.feedback.push(self.at);
                tx.save(&m, None)?;
                found += 1;
            }
        }
        Ok(found)
    }
}
