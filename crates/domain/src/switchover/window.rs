//! The switchover window: green may be prepared at any time, but the switchover (the only
//! moment applications notice) starts only inside the window the request names (see
//! `model::window`).
//!
//! The window that applies to a run is its *first occurrence that has not ended when the run
//! started*: a run started before the window waits for it; a run started inside it may switch
//! over until it closes; once that occurrence has closed the switchover is skipped and green
//! is left prepared (a later run with action `switchover` finishes the job). A run never waits
//! a week for the next occurrence by surprise.

use crate::model::window::{SwitchoverWindow, WindowState, SECONDS_PER_DAY};

impl SwitchoverWindow {
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
}
