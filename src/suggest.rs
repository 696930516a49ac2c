//! "Did you mean …?": the closest of a list of known words to a mistyped
//! one (commands, flags, statuses), by edit distance, ignoring case.

/// The known word closest to `typed`, when it is close enough to be a typo
/// (at most a third of its letters differ, and at least one).
pub fn closest<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let typed = typed.to_ascii_lowercase();
    let limit = (typed.chars().count() / 3).max(1);
    known
        .into_iter()
        .map(|k| (distance(&typed, &k.to_ascii_lowercase()), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// ` (did you mean X?)` for an error message, or nothing.
pub fn hint<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(typed, known).map_or_else(String::new, |k| format!(" (did you mean {k}?)"))
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_word_and_strangers_find_nothing() {
        let known = ["messages", "show", "stats", "export", "inbound"];
        assert_eq!(closest("mesages", known), Some("messages"));
        assert_eq!(closest("STAT", known), Some("stats"));
        assert_eq!(closest("inbund", known), Some("inbound"));
        assert_eq!(closest("frobnicate", known), None);
        assert_eq!(
            closest("Deliverd", ["Delivered", "Dispatched"]),
            Some("Delivered")
        );
        assert_eq!(hint("x", ["messages"]), "");
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
