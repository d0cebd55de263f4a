//! UTC timestamps in the formats the provider and S3 use, without a calendar dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// A moment in UTC, broken into calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
}

impl Utc {
    pub fn now() -> Self {
        Self::from_unix_millis(unix_millis(SystemTime::now()))
    }

    pub fn from_unix_millis(millis: i64) -> Self {
        let secs = millis.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let in_day = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Self {
            year,
            month,
            day,
            hour: (in_day / 3600) as u32,
            minute: (in_day % 3600 / 60) as u32,
            second: (in_day % 60) as u32,
            millis: millis.rem_euclid(1000) as u32,
        }
    }

    /// `2025_12_04_18_10_29_882`, as in the provider's asset paths.
    pub fn asset_stamp(&self) -> String {
        format!(
            "{:04}_{:02}_{:02}_{:02}_{:02}_{:02}_{:03}",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millis
        )
    }

    /// `2025-12-04T18:10:29.882Z`.
    pub fn iso(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.millis
        )
    }

    /// `20251204T181029Z`, as S3's `X-Amz-Date`.
    pub fn amz(&self) -> String {
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

pub fn unix_millis(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_millis() as i64,
        Err(before) => -(before.duration().as_millis() as i64),
    }
}

pub fn unix_seconds_now() -> i64 {
    unix_millis(SystemTime::now()).div_euclid(1000)
}

/// Reads `20251204T181029Z` back into unix seconds.
pub fn parse_amz(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let (hour, minute, second) = (number(9..11)?, number(11..13)?, number(13..15)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    Some(
        days_from_civil(year, month as u32, day as u32) * 86_400
            + hour * 3600
            + minute * 60
            + second,
    )
}

// Howard Hinnant's days-from-civil algorithms: exact for the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_the_provider_and_s3() {
        // 2025-12-04T18:10:29.882Z
        let at = Utc::from_unix_millis(1_764_871_829_882);
        assert_eq!(at.asset_stamp(), "2025_12_04_18_10_29_882");
        assert_eq!(at.iso(), "2025-12-04T18:10:29.882Z");
        assert_eq!(at.amz(), "20251204T181029Z");
        assert_eq!(parse_amz("20251204T181029Z"), Some(1_764_871_829));
    }

    #[test]
    fn leap_days_and_the_epoch_round_trip() {
        for secs in [0_i64, 951_782_400, 1_709_164_800, 4_102_444_799] {
            let at = Utc::from_unix_millis(secs * 1000);
            assert_eq!(parse_amz(&at.amz()), Some(secs), "{}", at.iso());
        }
        assert_eq!(
            Utc::from_unix_millis(1_709_164_800_000).iso(),
            "2024-02-29T00:00:00.000Z"
        );
        assert_eq!(parse_amz("2025-12-04T18:10"), None);
        assert_eq!(parse_amz("20251304T181029Z"), None);
    }
}
