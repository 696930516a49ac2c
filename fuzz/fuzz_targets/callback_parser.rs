//! Any bytes through the callback parser and, when they parse, through the
//! store's digits rule: no panic, and the classification is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sinch_dlr::sinch::{Callback, ParseError, Status, parse_callback};

fuzz_target!(|data: &[u8]| {
    match parse_callback(data) {
        Ok(Callback::Recipient(r)) => {
            assert!(!r.batch_id.trim().is_empty());
            assert_eq!(Status::parse(r.status.as_str()), r.status);
            let _ = r.status.is_final();
            let _ = sinch_dlr::phone::digits(&r.recipient);
        }
        Ok(_) => {}
        Err(ParseError::NotObject) => assert!(serde_json::from_slice::<serde_json::Value>(data).is_ok()),
        Err(_) => {}
    }
});
