//! Time as sinch-dlr stores it: UTC microseconds since the Unix epoch (`i64`).
//!
//! Owns RFC 3339 parsing (what Sinch sends, see FACTS.md section f) and the one
//! output format. Hand-written because the rules are small and fixed: `Z` or a
//! `+hh:mm`/`+hhmm` offset, 0-9 fractional digits (truncated to microseconds),
//! and no offset at all means UTC.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

const MICROS_PER_SEC: i64 = 1_000_000;

/// Now, in UTC microseconds.
pub fn now_micros() -> Micros {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    since.as_micros() as i64
}

/// Now, in whole Unix seconds.
pub fn now_secs() -> i64 {
    now_micros().div_euclid(MICROS_PER_SEC)
}

/// Parses `YYYY-MM-DDThh:mm:ss[.f{0,9}][Z|z|±hh:mm|±hhmm]`; a space may stand
/// for the `T`. Returns `None` for anything else.
pub fn parse_rfc3339(s: &str) -> Option<Micros> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let (hour, min, sec) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let (frac_micros, rest) = parse_fraction(&b[19..])?;
    let offset_secs = parse_offset(rest)?;
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec.min(59) - offset_secs;
    Some(secs * MICROS_PER_SEC + frac_micros)
}

/// `2025-01-13T09:22:40.914Z`: milliseconds when exact, else microseconds.
pub fn format_rfc3339(t: Micros) -> String {
    let secs = t.div_euclid(MICROS_PER_SEC);
    let micros = t.rem_euclid(MICROS_PER_SEC);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    if micros % 1000 == 0 {
        format!("{base}.{:03}Z", micros / 1000)
    } else {
        format!("{base}.{micros:06}Z")
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

/// Reads `.fffffffff` (optional) and returns microseconds plus what follows.
fn parse_fraction(b: &[u8]) -> Option<(i64, &[u8])> {
    let Some(rest) = b.strip_prefix(b".") else {
        return Some((0, b));
    };
    let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 9 {
        return None;
    }
    let mut micros = 0i64;
    for i in 0..6 {
        let d = rest
            .get(i)
            .filter(|_| i < n)
            .map_or(0, |c| i64::from(c - b'0'));
        micros = micros * 10 + d;
    }
    Some((micros, &rest[n..]))
}

/// Offset in seconds east of UTC; empty means UTC.
fn parse_offset(b: &[u8]) -> Option<i64> {
    match b {
        [] | [b'Z'] | [b'z'] => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let secs = h * 3600 + m * 60;
            Some(if *sign == b'-' { -secs } else { secs })
        }
        _ => None,
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil calendar algorithms (public domain).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_sinch_sends() {
        let t = parse_rfc3339("2025-01-13T09:22:40.914Z").unwrap();
        assert_eq!(format_rfc3339(t), "2025-01-13T09:22:40.914Z");
        assert_eq!(t, 1_736_760_160_914_000);
        let whole = parse_rfc3339("2025-01-13T09:22:00Z").unwrap();
        assert_eq!(format_rfc3339(whole), "2025-01-13T09:22:00.000Z");
    }

    #[test]
    fn offsets_and_missing_offset() {
        let utc = parse_rfc3339("2024-06-06T06:17:19Z").unwrap();
        assert_eq!(parse_rfc3339("2024-06-06T08:17:19+02:00"), Some(utc));
        assert_eq!(parse_rfc3339("2024-06-06T07:17:19+0100"), Some(utc));
        assert_eq!(parse_rfc3339("2024-06-06T05:17:19-01:00"), Some(utc));
        assert_eq!(parse_rfc3339("2024-06-06T06:17:19"), Some(utc));
        assert_eq!(parse_rfc3339("2024-06-06 06:17:19z"), Some(utc));
    }

    #[test]
    fn fraction_is_truncated_to_micros() {
        let t = parse_rfc3339("2024-06-06T08:17:19.123456789Z").unwrap();
        assert_eq!(t.rem_euclid(1_000_000), 123_456);
        assert_eq!(format_rfc3339(t), "2024-06-06T08:17:19.123456Z");
        let t = parse_rfc3339("2025-03-02T11:00:00.5Z").unwrap();
        assert_eq!(format_rfc3339(t), "2025-03-02T11:00:00.500Z");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "2024-06-06",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-06-06T24:00:00Z",
            "2024-06-06T08:17:19.Z",
            "2024-06-06T08:17:19.1234567890Z",
            "2024-06-06T08:17:19+2:00",
            "2024-06-06T08:17:19Zjunk",
            "1717661836",
            "２０２４-06-06T08:17:19Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn calendar_round_trips() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999999Z");
    }
}
