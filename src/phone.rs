//! The one rule for matching phone numbers: by their digits.
//!
//! Sinch strips the `+` (docs/sinch.md#phone-numbers: callbacks carry
//! `15551230001`), applications usually send `+15551230001`, people type
//! `+1 555-123-0001`.
//! All three are one recipient. The form the application sent is kept for
//! display; the digits are the key.
//!
//! `normalize` is the rule for a message's recipient, the same for a
//! registration and for a callback: after the usual formatting (one leading
//! `+`, spaces, `-`, `(`, `)`, `.`) only ASCII digits may remain, 1 to 15
//! of them (E.164). Anything else (`abc`, `+`, Arabic-Indic or full-width
//! digits, 400 digits) is not a recipient: dropping the odd characters
//! would make `abc` the recipient `""` and cut `1555123000１` to another
//! number.

/// Most digits an E.164 number has.
pub const MAX_DIGITS: usize = 15;

/// The recipient key of `number` under the one rule above, or why it is
/// not a phone number.
pub fn normalize(number: &str) -> Result<String, String> {
    let trimmed = number.trim();
    let rest = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let mut out = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => out.push(c),
            ' ' | '-' | '(' | ')' | '.' => {}
            other => return Err(format!("{number:?} contains {other:?}, not a phone number")),
        }
    }
    match out.len() {
        0 => Err(format!("{number:?} has no digits")),
        n if n > MAX_DIGITS => Err(format!(
            "{number:?} has {n} digits, more than the {MAX_DIGITS} of an E.164 number"
        )),
        _ => Ok(out),
    }
}

/// The ASCII digits of a number, in order; everything else is dropped. For
/// lookups and inbound numbers (which may be short codes); a message's
/// recipient passes `normalize` first, which gives the same digits.
pub fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_recipient_in_three_spellings() {
        for n in [
            "+15551230001",
            "15551230001",
            "+1 555-123-0001",
            "+1 (555) 123 0001",
        ] {
            assert_eq!(digits(n), "15551230001", "{n}");
        }
    }

    #[test]
    fn digits_is_idempotent_and_ignores_non_ascii_digits() {
        for n in ["+46 70-000 0001", "", "abc", "٣٣٣123"] {
            assert_eq!(digits(&digits(n)), digits(n));
        }
        assert_eq!(digits("٣٣٣123"), "123");
    }

    #[test]
    fn normalize_is_one_rule_for_recipients() {
        for n in [
            "+15551230001",
            "15551230001",
            "+1 555-123-0001",
            "+1 (555) 123.0001",
            "1",
        ] {
            let d = normalize(n).unwrap();
            assert_eq!(d, digits(n), "{n}");
        }
        assert_eq!(normalize("123456789012345").unwrap().len(), 15);
        for bad in [
            "",
            "abc",
            "+",
            "++1555",
            "1+555",
            "١٥٥٥١٢٣٠٠٠١",
            "１５５５１２３０００１",
            "1555123000１",
            "1234567890123456",
            "+1 555 CALL NOW",
        ] {
            assert!(normalize(bad).is_err(), "{bad:?}");
        }
        assert!(
            normalize(&"1".repeat(400))
                .unwrap_err()
                .contains("400 digits")
        );
    }
}
