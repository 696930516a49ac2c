//! Query strings through URL splitting and the list filters, and cursors
//! through their codec: no panic; every cursor the API emits decodes back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sinch_dlr::http::split_url;
use sinch_dlr::query::{InboundFilter, MessageFilter, decode_cursor, encode_cursor};

fuzz_target!(|input: (String, i64, u64)| {
    let (url, t, id) = input;
    let (_, params) = split_url(&url);
    if let Ok(f) = MessageFilter::parse(&params) {
        assert!((1..=1000).contains(&f.limit));
    }
    let _ = InboundFilter::parse(&params);
    let _ = decode_cursor(&url);
    assert_eq!(decode_cursor(&encode_cursor((t, id))), Ok((t, id)));
});
