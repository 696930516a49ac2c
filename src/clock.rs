//! Time as sinch-dlr stores it: UTC microseconds since the Unix epoch (`i64`).
//!
//! Owns RFC 3339 parsing (what Sinch sends, see docs/sinch.md#times) and the
//! one output format. The calendar, the fraction and the offset are jiff's;
//! this module only fixes which spellings are accepted: `Z` or a
//! `+hh:mm`/`+hhmm` offset, 0-9 fractional digits (truncated to microseconds),
//! and no offset at all means UTC.

use jiff::SignedDuration;
use jiff::civil::DateTime;
use jiff::fmt::temporal::Pieces;
use jiff::tz::Offset;
use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

const MICROS_PER_SEC: i64 = 1_000_000;

const EPOCH: DateTime = DateTime::constant(1970, 1, 1, 0, 0, 0, 0);

/// 400 Gregorian years (146 097 days).
const CYCLE_MICROS: i64 = 146_097 * 86_400 * MICROS_PER_SEC;

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
    if !has_rfc3339_shape(s.as_bytes()) {
        return None;
    }
    let pieces = Pieces::parse(s).ok()?;
    let local = pieces.date().to_datetime(pieces.time()?);
    let offset = pieces.to_numeric_offset().unwrap_or(Offset::UTC);
    // Civil arithmetic rather than jiff's Timestamp, whose range stops a day
    // short of 9999-12-31 (it leaves room for any offset).
    let since_epoch =
        local.duration_since(EPOCH) - SignedDuration::from_secs(i64::from(offset.seconds()));
    // Whole microseconds, rounded down: the fraction's 7th-9th digits are
    // dropped, also before 1970.
    i64::try_from(since_epoch.as_nanos().div_euclid(1000)).ok()
}

/// `2025-01-13T09:22:40.914Z`: milliseconds when exact, else microseconds.
pub fn format_rfc3339(t: Micros) -> String {
    // The Gregorian calendar repeats every 400 years, so any `t` (jiff stops
    // at years -9999 and 9999; a parsed time with an offset can pass them)
    // is printed from its place in one cycle after 1970, plus whole cycles.
    let (cycles, within) = (t.div_euclid(CYCLE_MICROS), t.rem_euclid(CYCLE_MICROS));
    let at = EPOCH
        .checked_add(SignedDuration::from_micros(within))
        .expect("400 years after 1970 are within jiff's range");
    let micros = t.rem_euclid(MICROS_PER_SEC);
    let year = i64::from(at.year()) + 400 * cycles;
    // Written digit by digit: this runs for every time in every answer and
    // event, and `format!` cost more than the rest of a stored callback.
    let Ok(year4 @ 0..=9999) = u32::try_from(year) else {
        return format_wide_year(year, &at, micros);
    };
    let mut s = String::with_capacity(27);
    push_digits(&mut s, year4, 4);
    s.push('-');
    push_digits(&mut s, at.month().unsigned_abs().into(), 2);
    s.push('-');
    push_digits(&mut s, at.day().unsigned_abs().into(), 2);
    s.push('T');
    push_digits(&mut s, at.hour().unsigned_abs().into(), 2);
    s.push(':');
    push_digits(&mut s, at.minute().unsigned_abs().into(), 2);
    s.push(':');
    push_digits(&mut s, at.second().unsigned_abs().into(), 2);
    s.push('.');
    let micros = micros as u32;
    match micros % 1000 {
        0 => push_digits(&mut s, micros / 1000, 3),
        _ => push_digits(&mut s, micros, 6),
    }
    s.push('Z');
    s
}

/// `n` with exactly `width` digits (zero-padded; `n` fits).
fn push_digits(s: &mut String, mut n: u32, width: usize) {
    let mut buf = [b'0'; 6];
    for d in buf[..width].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    s.push_str(std::str::from_utf8(&buf[..width]).expect("ASCII digits"));
}

/// Years outside 0000-9999 (never from Sinch; kept exact all the same).
fn format_wide_year(year: i64, at: &DateTime, micros: i64) -> String {
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        year,
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    if micros % 1000 == 0 {
        format!("{base}.{:03}Z", micros / 1000)
    } else {
        format!("{base}.{micros:06}Z")
    }
}

/// The one shape accepted. jiff's parser also reads other ISO 8601 forms
/// (`,` fractions, `+hh` or seconds in offsets, six-digit years, `[zone]`
/// annotations, a date alone); this keeps them out, and jiff checks the
/// rest (real dates, hours, minutes, a leap second 60 read as 59).
fn has_rfc3339_shape(s: &[u8]) -> bool {
    let Some((stem, rest)) = s.split_first_chunk::<19>() else {
        return false;
    };
    let stem_ok = stem
        .iter()
        .zip(b"0000-00-00T00:00:00")
        .all(|(&c, &want)| match want {
            b'0' => c.is_ascii_digit(),
            b'T' => matches!(c, b'T' | b't' | b' '),
            _ => c == want,
        });
    let rest = match rest {
        [b'.', fraction @ ..] => {
            let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
            if !(1..=9).contains(&n) {
                return false;
            }
            &fraction[n..]
        }
        _ => rest,
    };
    let offset_ok = match rest {
        [] | [b'Z' | b'z'] => true,
        // jiff reads offset hours up to 25; RFC 3339 stops at 23.
        [b'+' | b'-', h1, h2, b':', m1, m2] | [b'+' | b'-', h1, h2, m1, m2] => {
            matches!((h1, h2), (b'0' | b'1', b'0'..=b'9') | (b'2', b'0'..=b'3'))
                && m1.is_ascii_digit()
                && m2.is_ascii_digit()
        }
        _ => false,
    };
    stem_ok && offset_ok
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

    /// Edges where jiff alone would answer differently: each input and the
    /// exact string that comes back out (None: refused).
    #[test]
    fn edges_read_and_print_as_before() {
        for (input, want) in [
            (
                "2024-06-06t08:17:19.5+01:30",
                Some("2024-06-06T06:47:19.500Z"),
            ),
            ("2016-12-31T23:59:60.25Z", Some("2016-12-31T23:59:59.250Z")),
            (
                "2024-06-06T08:17:19-00:00",
                Some("2024-06-06T08:17:19.000Z"),
            ),
            (
                "2024-06-06T08:17:19+23:59",
                Some("2024-06-05T08:18:19.000Z"),
            ),
            (
                "9999-12-31T23:59:59.999999Z",
                Some("9999-12-31T23:59:59.999999Z"),
            ),
            (
                "9999-12-31T23:59:59-23:59",
                Some("10000-01-01T23:58:59.000Z"),
            ),
            (
                "0000-01-01T00:00:00+01:00",
                Some("-001-12-31T23:00:00.000Z"),
            ),
            (
                "1969-12-31T23:59:59.9999999Z",
                Some("1969-12-31T23:59:59.999999Z"),
            ),
            (
                "2024-06-06T08:17:19.000001Z",
                Some("2024-06-06T08:17:19.000001Z"),
            ),
            ("2024-06-06T08:17:19+24:00", None),
            ("2024-06-06T08:17:19+01:60", None),
            ("2024-06-06T08:17:19+02", None),
            ("2024-06-06T08:17:19+02:00:00", None),
            ("2024-06-06T08:17:19,5Z", None),
            ("2024-06-06T08:17:19Z[UTC]", None),
            ("2024-06-06T08:17Z", None),
            ("+002024-06-06T08:17:19Z", None),
            ("20240606T081719Z", None),
            ("2024-06-06T08:17:61Z", None),
        ] {
            let got = parse_rfc3339(input).map(format_rfc3339);
            assert_eq!(got.as_deref(), want, "{input:?}");
        }
    }

    #[test]
    fn calendar_round_trips() {
        // Every 997th day from year 0000 to 9999, at a time with micros.
        for days in (-719_528..2_932_896).step_by(997) {
            let t = days * 86_400 * MICROS_PER_SEC + 45_296_789_012;
            let text = format_rfc3339(t);
            assert_eq!(parse_rfc3339(&text), Some(t), "{text}");
        }
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999999Z");
        assert_eq!(format_rfc3339(i64::MAX), "294247-01-10T04:00:54.775807Z");
        assert_eq!(format_rfc3339(i64::MIN), "-290308-12-21T19:59:05.224192Z");
    }
}
