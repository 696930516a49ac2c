//! The one rule for matching phone numbers: by their digits.
//!
//! Sinch strips the `+` (FACTS.md section a: callbacks carry `15551230001`),
//! applications usually send `+15551230001`, people type `+1 555-123-0001`.
//! All three are one recipient. The form the application sent is kept for
//! display; the digits are the key.

/// The digits of a phone number, in order; everything else is dropped.
pub fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

/// `15551230001` -> `1555***0001` for logs at info level.
pub fn mask(number: &str) -> String {
    let d = digits(number);
    if d.len() <= 6 {
        return "*".repeat(d.len());
    }
    format!("{}***{}", &d[..4], &d[d.len() - 4..])
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
    fn masking_hides_the_middle() {
        assert_eq!(mask("+15551230001"), "1555***0001");
        assert_eq!(mask("12345"), "*****");
    }
}
