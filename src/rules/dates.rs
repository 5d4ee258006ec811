//! Date cells: ISO 8601 dates and times, or Unix timestamps. A date without an offset is read
//! in the machine's local time zone, as an administrator writing `2026-09-01 08:00` means it.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};

pub const ACCEPTED: &str =
    "use 2026-09-01, 20260901, 2026-09-01 08:00, 2026-09-01T08:00:00+02:00 or a Unix timestamp";

/// The Unix timestamp of a date cell, or a message saying what is accepted.
pub fn parse_date(raw: &str) -> Result<i64, String> {
    let s = raw.trim();
    // Eight digits are ISO 8601's basic date (a timestamp that small is 1970).
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return match NaiveDate::parse_from_str(s, "%Y%m%d") {
            Ok(d) => local(d.and_hms_opt(0, 0, 0).expect("midnight exists"), raw),
            Err(_) => Err(format!("'{raw}' is not a date: {ACCEPTED}")),
        };
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .map_err(|_| format!("'{raw}' is too large for a timestamp"));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(d.timestamp());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return local(t, raw);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return local(d.and_hms_opt(0, 0, 0).expect("midnight exists"), raw);
    }
    Err(format!("'{raw}' is not a date: {ACCEPTED}"))
}

fn local(t: NaiveDateTime, raw: &str) -> Result<i64, String> {
    // A time skipped by a daylight-saving change has no local reading; an ambiguous one takes
    // the earlier.
    Local
        .from_local_datetime(&t)
        .earliest()
        .map(|d| d.timestamp())
        .ok_or_else(|| format!("'{raw}' does not exist in the local time zone (a clock change)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        assert_eq!(parse_date("1788220800"), Ok(1_788_220_800));
        assert_eq!(parse_date("2026-09-01T08:00:00Z"), Ok(1_788_249_600));
        assert_eq!(parse_date("2026-09-01T08:00:00+02:00"), Ok(1_788_242_400));
        let midnight = Local
            .from_local_datetime(
                &NaiveDate::from_ymd_opt(2026, 9, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
            )
            .unwrap()
            .timestamp();
        assert_eq!(parse_date("2026-09-01"), Ok(midnight));
        assert_eq!(parse_date("20260901"), Ok(midnight));
        assert_eq!(parse_date(" 2026-09-01 08:00 "), Ok(midnight + 8 * 3600));
        assert_eq!(parse_date("2026-09-01T08:00"), Ok(midnight + 8 * 3600));
    }

    #[test]
    fn refused_forms_say_what_is_accepted() {
        for bad in [
            "01/09/2026",
            "next monday",
            "2026-13-01",
            "2026-09-01 25:00",
            "-5",
        ] {
            let e = parse_date(bad).unwrap_err();
            assert!(e.contains("2026-09-01 08:00"), "{bad}: {e}");
        }
    }
}
