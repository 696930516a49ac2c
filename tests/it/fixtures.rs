//! The Sinch data under tests/fixtures (docs/sinch.md#test-data) was checked
//! with Sinch's official SDKs; the tests replay it byte for byte. Each file's
//! SHA-256 is pinned here, so a missing, altered or unlisted file fails
//! instead of quietly testing something else.

use crate::support::fixtures;
use sha2::{Digest, Sha256};

const PINNED: [(&str, &str); 12] = [
    (
        "signature-vectors.json",
        "cebde3a70de829517e319a21e0891ff957d4daff1e95236cbae50df42e784c68",
    ),
    (
        "payloads/delivery_report_mms.summary.json",
        "cae49c02efe256e7163e75c91982247eb6e9107a777a997d434cfc537e1ba923",
    ),
    (
        "payloads/delivery_report_sms.full.json",
        "7036ec73da1005c0d94592ebc2058bc130419dd7fe10fbee21d2690aa2ee444f",
    ),
    (
        "payloads/delivery_report_sms.summary.json",
        "1af671aaf2c8a3195881bc02ab2eb63787290abfcd762977e6cd4bd2fd15c892",
    ),
    (
        "payloads/mo_binary.json",
        "13ef67abdd3f56a8ff166399e9cebb2875c4f84d0267f686b40080fabd2d73f3",
    ),
    (
        "payloads/mo_media.json",
        "c5881b86a3e076944e98c422907689e9bbc725eea19298a039809a01f8dfd4b8",
    ),
    (
        "payloads/mo_text.json",
        "a6b2ccaa6d5e204f3d62ee4d10d86501e3cc58b1d74d1bbb0a9c4d0dc93ccf6f",
    ),
    (
        "payloads/recipient_delivery_report_mms.delivered.json",
        "33cfc49f42408e949d3dd7694b5c28c5ca8bd632b43a682f797f61f7c9176f5d",
    ),
    (
        "payloads/recipient_delivery_report_sms.aborted.json",
        "835e30801bcfc88f70b4ad7b5767a59e6080ad5b0cc43e947a9ba6bef2907e42",
    ),
    (
        "payloads/recipient_delivery_report_sms.delivered.json",
        "0499aaae3bbbb180e7f091d0a13559f316fca2fbc7b529edd87442a2f089ea19",
    ),
    (
        "payloads/recipient_delivery_report_sms.delivered_all_fields.json",
        "69628241dfc341e4f5c9c0dccd361262508a6e99fc1284f91daf8ba83f638363",
    ),
    (
        "payloads/recipient_delivery_report_sms.dispatched.json",
        "280301f868b5c56b8de8567c45a3dfc4ed993831719ab900791119c9df98b985",
    ),
];

#[test]
fn fixtures_are_the_checked_sinch_data() {
    for (rel, want) in PINNED {
        let bytes = std::fs::read(fixtures().join(rel))
            .unwrap_or_else(|e| panic!("tests/fixtures/{rel}: {e}"));
        let got: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, want, "tests/fixtures/{rel} is not the checked copy");
    }
    // A payload added without a pin here would be replayed unchecked.
    let mut present: Vec<String> = std::fs::read_dir(fixtures().join("payloads"))
        .expect("tests/fixtures/payloads")
        .map(|e| format!("payloads/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    present.sort();
    let pinned: Vec<&str> = PINNED
        .iter()
        .map(|(rel, _)| *rel)
        .filter(|rel| rel.starts_with("payloads/"))
        .collect();
    assert_eq!(present, pinned, "tests/fixtures/payloads and PINNED differ");
}
