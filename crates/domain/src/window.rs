//! The switchover window: green may be prepared at any time, but the switchover (the only
//! moment applications notice) starts only inside the window the request names, e.g.
//! `"Sun 03:00-05:00 UTC"` (weekly) or `"03:00-05:00 UTC"` (daily). Times are UTC.
//!
//! The window that applies to a run is its *first occurrence that has not ended when the run
//! started*: a run started before the window waits for it; a run started inside it may switch
//! over until it closes; once that occurrence has closed the switchover is skipped and green
//! is left prepared (a later run with action `switchover` finishes the job). A run never waits
//! a week for the next occurrence by surprise.

use crate::error::WorkerError;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTES_PER_DAY: i64 = 24 * 60;
const SECONDS_PER_DAY: i64 = 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwitchoverWindow {
    /// 0 = Monday .. 6 = Sunday; `None` for a daily window.
    day: Option<u8>,
    start_minute: i64,
    /// Length in minutes, 1 to 1440; a window may cross midnight.
    length_minutes: i64,
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

    /// Start (epoch seconds) of the occurrence on the day that begins at `day_start`, if any.
    fn occurrence_on(&self, day_start: i64) -> Option<(i64, i64)> {
        // 1970-01-01 was a Thursday (index 3).
        let weekday = ((day_start.div_euclid(SECONDS_PER_DAY) + 3).rem_euclid(7)) as u8;
        if self.day.is_some_and(|d| d != weekday) {
            return None;
        }
        let start = day_start + self.start_minute * 60;
        Some((start, start + self.length_minutes * 60))
    }

    /// The first occurrence that had not ended at `reference` (the run's start).
    pub fn occurrence(&self, reference: i64) -> (i64, i64) {
        let today = reference.div_euclid(SECONDS_PER_DAY) * SECONDS_PER_DAY;
        // From yesterday (a window crossing midnight may still be open) to a week ahead.
        (-1..=7)
            .filter_map(|d| self.occurrence_on(today + d * SECONDS_PER_DAY))
            .find(|&(_, end)| end > reference)
            .expect("a weekly window occurs within eight days")
    }

    /// Where `now` falls relative to the occurrence that applies to a run started at `run_started`.
    pub fn state(&self, run_started: i64, now: i64) -> WindowState {
        let (opens_at, closes_at) = self.occurrence(run_started);
        if now < opens_at {
            WindowState::Before { opens_at }
        } else if now < closes_at {
            WindowState::Open { closes_at }
        } else {
            WindowState::Closed {
                closed_at: closes_at,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-29 is a Sunday.
    const SUN_0000: i64 = 1_795_910_400;
    const H: i64 = 3600;

    fn w(text: &str) -> SwitchoverWindow {
        SwitchoverWindow::parse(text).unwrap()
    }

    #[test]
    fn the_reference_sunday_is_a_sunday() {
        let sunday = w("Sun 00:00-01:00 UTC");
        assert_eq!(sunday.occurrence(SUN_0000), (SUN_0000, SUN_0000 + H));
    }

    #[test]
    fn a_run_started_before_the_window_waits_for_it() {
        let window = w("Sun 03:00-05:00 UTC");
        let saturday_noon = SUN_0000 - 12 * H;
        assert_eq!(
            window.state(saturday_noon, saturday_noon + 60),
            WindowState::Before {
                opens_at: SUN_0000 + 3 * H
            }
        );
        assert_eq!(
            window.state(saturday_noon, SUN_0000 + 4 * H),
            WindowState::Open {
                closes_at: SUN_0000 + 5 * H
            }
        );
        assert_eq!(
            window.state(saturday_noon, SUN_0000 + 5 * H),
            WindowState::Closed {
                closed_at: SUN_0000 + 5 * H
            }
        );
    }

    #[test]
    fn a_run_started_inside_the_window_may_switch_until_it_closes() {
        let window = w("Sun 03:00-05:00 UTC");
        let started = SUN_0000 + 3 * H + 600;
        assert!(matches!(
            window.state(started, started + 60),
            WindowState::Open { .. }
        ));
        assert!(matches!(
            window.state(started, SUN_0000 + 6 * H),
            WindowState::Closed { .. }
        ));
    }

    #[test]
    fn a_run_started_after_the_window_targets_the_next_one() {
        let window = w("Sun 03:00-05:00 UTC");
        let started = SUN_0000 + 6 * H;
        assert_eq!(
            window.state(started, started),
            WindowState::Before {
                opens_at: SUN_0000 + 7 * 24 * H + 3 * H
            }
        );
    }

    #[test]
    fn daily_and_midnight_crossing_windows() {
        let daily = w("22:00-02:00");
        // Started at 01:00 on Sunday: inside Saturday's occurrence, which closes at 02:00.
        assert_eq!(
            daily.state(SUN_0000 + H, SUN_0000 + H + 60),
            WindowState::Open {
                closes_at: SUN_0000 + 2 * H
            }
        );
        let weekly = w("sat 23:00-01:00 utc");
        assert_eq!(
            weekly.occurrence(SUN_0000 + 1800),
            (SUN_0000 - H, SUN_0000 + H)
        );
    }

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
