//! Time as text: RFC 3339 UTC timestamps from Unix seconds, and the current Unix time.
//!
//! Takes seconds since the Unix epoch; hands on `YYYY-MM-DDTHH:MM:SSZ` text. Used by generated
//! `date-time` values, the sandbox's stamps, webhooks, the journal, HAR and the reports.

/// Seconds since the Unix epoch now (0 if the clock is before it).
pub fn unix_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Milliseconds since the Unix epoch now (0 if the clock is before it).
pub fn unix_millis() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The current time as RFC 3339 UTC text.
pub fn now_rfc3339() -> String {
    format_rfc3339(unix_secs() as i64)
}

/// Format Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
pub fn format_rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    if !(0..=9999).contains(&y) {
        return format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z");
    }
    // Digits by hand: `format!` showed up in generation profiles.
    let mut out = [0u8; 20];
    let two = |buf: &mut [u8], v: i64| {
        buf[0] = b'0' + (v / 10) as u8;
        buf[1] = b'0' + (v % 10) as u8;
    };
    two(&mut out[0..2], y / 100);
    two(&mut out[2..4], y % 100);
    out[4] = b'-';
    two(&mut out[5..7], mo);
    out[7] = b'-';
    two(&mut out[8..10], d);
    out[10] = b'T';
    two(&mut out[11..13], h);
    out[13] = b':';
    two(&mut out[14..16], m);
    out[16] = b':';
    two(&mut out[17..19], s);
    out[19] = b'Z';
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

/// Format Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (HAR's `startedDateTime`).
pub fn format_rfc3339_millis(ms: u64) -> String {
    let secs = format_rfc3339((ms / 1000) as i64);
    let whole = secs.strip_suffix('Z').unwrap_or(&secs);
    format!("{whole}.{:03}Z", ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400 + 86_399), "2000-02-29T23:59:59Z");
        assert_eq!(format_rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
        assert_eq!(format_rfc3339(1_705_309_200), "2024-01-15T09:00:00Z");
        assert_eq!(format_rfc3339_millis(1_705_309_200_007), "2024-01-15T09:00:00.007Z");
    }
}
