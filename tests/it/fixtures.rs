//! The fixtures under tests/fixtures are copies of ../shared/sinch; they must
//! stay byte-identical (checked whenever ../shared is beside the checkout).

use crate::support::fixtures;
use std::path::Path;

#[test]
fn fixtures_match_shared_sinch_data() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sinch");
    if !shared.exists() {
        eprintln!("../shared/sinch not present; nothing to compare");
        return;
    }
    let mut compared = 0;
    for rel in std::fs::read_dir(shared.join("payloads"))
        .unwrap()
        .map(|e| format!("payloads/{}", e.unwrap().file_name().to_string_lossy()))
        .chain(["signature-vectors.json".to_string()])
    {
        let ours = std::fs::read(fixtures().join(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let theirs = std::fs::read(shared.join(&rel)).unwrap();
        assert!(
            ours == theirs,
            "tests/fixtures/{rel} differs from ../shared/sinch/{rel}"
        );
        compared += 1;
    }
    assert_eq!(compared, 12);
}
