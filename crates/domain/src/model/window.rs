//! The switchover window a request names, e.g. `"Sun 03:00-05:00 UTC"` (weekly) or
//! `"03:00-05:00 UTC"` (daily), in UTC: its text and where a moment falls in it. When the
//! window applies to a run (its first occurrence that has not ended when the run started):
//! `switchover::window`.

use crate::model::error::WorkerError;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTES_PER_DAY: i64 = 24 * 60;
pub(crate) const SECONDS_PER_DAY: i64 = 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwitchoverWindow {
    /// 0 = Monday .. 6 = Sunday; `None` for a daily window.
    pub(crate) day: Option<u8>,
    pub(crate) start_minute: i64,
    /// Length in minutes, 1 to 1440; a window may cross midnight.
    pub(crate) length_minutes: i64,
}

/// Where a moment falls relative to the run's window occurrence (epoch seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowState {
    /// The occurrence has not opened yet: wait until `opens_at`.
    Before { opens_at: i64 },
    /// Inside the occurrence: a switchover may start until `closes_at`.
    Open { closes_at: i64 },
    /// The occurrence has ended: skip the switchover, leave green prepared.
    Closed { closed_at: i64 },
}

fn refuse(text: &str, why: &str) -> WorkerError {
    let shown: String = text
        .chars()
        .take(60)
        .collect::<String>()
        .escape_debug()
        .to_string();
    WorkerError::invalid(format!(
        "switchover_window `{shown}` is not a window: {why}. Accepted: `Sun 03:00-05:00 UTC` \
         (weekly: Mon..Sun) or `03:00-05:00 UTC` (daily), 24-hour UTC times; a window may cross \
         midnight (`Sat 23:00-01:00 UTC`)"
    ))
}

fn parse_hhmm(text: &str, part: &str) -> Result<i64, WorkerError> {
    let (h, m) = part
        .split_once(':')
        .ok_or_else(|| refuse(text, "times are HH:MM"))?;
    let ok = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !ok(h) || !ok(m) {
        return Err(refuse(text, "times are HH:MM"));
    }
    let (h, m): (i64, i64) = (h.parse().unwrap_or(99), m.parse().unwrap_or(99));
    if h > 23 || m > 59 {
        return Err(refuse(text, "hours are 00-23 and minutes 00-59"));
    }
    Ok(h * 60 + m)
}

impl SwitchoverWindow {
    /// The longest a run can wait for this window's occurrence to close: until it opens (up
    /// to a week, or a day for a daily window) plus its length.
    pub fn longest_wait_seconds(&self) -> u64 {
        let period = if self.day.is_some() { 7 } else { 1 } * SECONDS_PER_DAY;
        (period + self.length_minutes * 60) as u64
    }

    pub fn parse(text: &str) -> Result<Self, WorkerError> {
        let mut words: Vec<&str> = text.split_whitespace().collect();
        match words.last() {
            Some(zone) if zone.eq_ignore_ascii_case("utc") || zone.eq_ignore_ascii_case("z") => {
                words.pop();
            }
            Some(zone) if zone.chars().all(|c| c.is_ascii_alphabetic()) && words.len() > 1 => {
                return Err(refuse(
                    text,
                    "the window is in UTC; convert local times to UTC",
                ))
            }
            _ => {}
        }
        let (day, range) = match words.as_slice() {
            [range] => (None, *range),
            [day, range] => {
                let lower = day.to_ascii_lowercase();
                let index = DAYS
                    .iter()
                    .position(|d| lower.get(..3) == Some(*d) && lower.len() >= 3)
                    .ok_or_else(|| {
                        refuse(text, "the day is one of Mon, Tue, Wed, Thu, Fri, Sat, Sun")
                    })?;
                (Some(index as u8), *range)
            }
            _ => return Err(refuse(text, "expected an optional day and a time range")),
        };
        let (from, to) = range
            .split_once('-')
            .ok_or_else(|| refuse(text, "the time range is HH:MM-HH:MM"))?;
        let start_minute = parse_hhmm(text, from)?;
        let end_minute = parse_hhmm(text, to)?;
        let length_minutes = (end_minute - start_minute).rem_euclid(MINUTES_PER_DAY);
        if length_minutes == 0 {
            return Err(refuse(text, "the window starts and ends at the same time"));
        }
        Ok(Self {
            day,
            start_minute,
            length_minutes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_windows_say_what_is_accepted() {
        for bad in [
            "",
            "Sunday",
            "Sun 3:00-05:00 UTC",
            "Sun 03:00-05:00 CET",
            "Funday 03:00-05:00",
            "Sun 03:00-03:00 UTC",
            "Sun 24:00-01:00",
            "Sun 03:00 05:00",
            "Sun 03:00-05:60",
        ] {
            let err = SwitchoverWindow::parse(bad).unwrap_err().to_string();
            assert!(err.contains("switchover_window"), "{bad}: {err}");
            assert!(err.contains("Sun 03:00-05:00 UTC"), "{bad}: {err}");
        }
        assert!(SwitchoverWindow::parse("Sunday 03:00-05:00 UTC").is_ok());
    }
}
