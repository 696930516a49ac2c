//! Signature verification on arbitrary bodies and header values: no panic;
//! a correct signature always verifies; any other header value never does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sinch_dlr::auth::{Secret, sign, verify_sinch_signature};

fuzz_target!(|input: (Vec<u8>, String, String, String, String)| {
    let (body, secret, nonce, timestamp, signature) = input;
    let secrets = [Secret::new(secret.clone())];
    let good = sign(&secret, &body, &nonce, &timestamp);
    assert_eq!(verify_sinch_signature(&secrets, &body, &nonce, &timestamp, &good), Ok(0));
    let got = verify_sinch_signature(&secrets, &body, &nonce, &timestamp, &signature);
    assert_eq!(got.is_ok(), signature == good);
});
