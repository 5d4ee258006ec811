//! Rows done so far, told to whoever watches the run (a progress bar, the web console).

use super::{FileEnd, Sink};
use crate::codes::Failure;
use crate::outcome::{Counts, RowReport};
use crate::run::Observer;
use std::path::PathBuf;

pub struct ProgressSink<'a> {
    observer: &'a dyn Observer,
    done: u64,
}

impl<'a> ProgressSink<'a> {
    /// `rows` is about how many rows the file has (its physical line count).
    pub fn new(observer: &'a dyn Observer, tool: &str, name: &str, rows: u64) -> Self {
        observer.file_started(tool, name, rows);
        ProgressSink { observer, done: 0 }
    }
}

impl Sink for ProgressSink<'_> {
    fn row(&mut self, _r: &RowReport) -> Result<(), Failure> {
        self.done += 1;
        self.observer.rows_done(self.done);
        Ok(())
    }

    fn finish(
        self: Box<Self>,
        _counts: &Counts,
        _end: &FileEnd,
    ) -> Result<Option<PathBuf>, Failure> {
        Ok(None)
    }
}

/// Rows per second and the time left, as the progress bar and the console show them. Rows
/// reach the sinks in bursts (a batch is applied, then its rows are told at once), so a rate
/// taken from one update to the next swings between millions and zero: this one is the rows
/// done over the last few seconds, and says nothing until it has a second of them.
#[derive(Debug, Clone)]
pub struct Rate {
    /// About how many rows the file has.
    total: u64,
    /// (when, rows done then), oldest first, at least `STEP` apart, over `WINDOW`.
    samples: std::collections::VecDeque<(std::time::Instant, u64)>,
}

impl Rate {
    const STEP: std::time::Duration = std::time::Duration::from_millis(100);
    const WINDOW: std::time::Duration = std::time::Duration::from_secs(10);
    const LEAST: std::time::Duration = std::time::Duration::from_secs(1);

    pub fn new(total: u64, now: std::time::Instant) -> Rate {
        let mut samples = std::collections::VecDeque::new();
        samples.push_back((now, 0));
        Rate { total, samples }
    }

    /// Rows done so far, at `now`.
    pub fn record(&mut self, done: u64, now: std::time::Instant) {
        // The first sample is the base the rate is measured from: it is never moved.
        let len = self.samples.len();
        match self.samples.back_mut() {
            Some(last) if len > 1 && now.saturating_duration_since(last.0) < Self::STEP => {
                last.1 = done
            }
            _ => self.samples.push_back((now, done)),
        }
        while self.samples.len() > 2
            && now.saturating_duration_since(self.samples[1].0) >= Self::WINDOW
        {
            self.samples.pop_front();
        }
    }

    /// Rows per second over the window, once it spans a second.
    pub fn per_second(&self, now: std::time::Instant) -> Option<f64> {
        let (t0, d0) = *self.samples.front()?;
        let (_, d1) = *self.samples.back()?;
        // Up to now, not to the last burst: a stall lowers the rate as it goes on.
        let span = now.saturating_duration_since(t0);
        (span >= Self::LEAST).then(|| d1.saturating_sub(d0) as f64 / span.as_secs_f64())
    }

    /// The time left at the current rate; `None` while the rate is unknown or zero.
    pub fn left(&self, now: std::time::Instant) -> Option<std::time::Duration> {
        let done = self.samples.back()?.1;
        let rate = self.per_second(now).filter(|r| *r > 0.0)?;
        let secs = self.total.saturating_sub(done) as f64 / rate;
        Some(std::time::Duration::from_secs_f64(secs.min(360_000.0)))
    }

    /// "1,234 rows/s, 0:42 left", or "measuring" in the first second.
    pub fn describe(&self, now: std::time::Instant) -> String {
        match (self.per_second(now), self.left(now)) {
            (Some(r), Some(left)) => format!(
                "{} rows/s, {} left",
                thousands(r.round() as u64),
                clock(left)
            ),
            (Some(_), None) => "stalled".to_string(),
            (None, _) => "measuring".to_string(),
        }
    }
}

/// 1234567 as "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration as "0:42", "12:05" or "1:02:03".
pub fn clock(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..3600 => format!("{}:{:02}", s / 60, s % 60),
        _ => format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn bursts_give_the_rate_over_the_window_not_the_burst() {
        let t0 = Instant::now();
        let mut r = Rate::new(10_000, t0);
        // 1,000 rows told at once every half second: 2,000 rows/s.
        for i in 1..=4u64 {
            let at = t0 + Duration::from_millis(500 * i);
            for k in 1..=1000 {
                r.record((i - 1) * 1000 + k, at);
            }
        }
        let now = t0 + Duration::from_millis(2000);
        let rate = r.per_second(now).unwrap();
        assert!((rate - 2000.0).abs() < 1.0, "{rate}");
        // 6,000 rows left at 2,000 rows/s.
        assert_eq!(r.left(now).unwrap().as_secs(), 3);
        assert_eq!(r.describe(now), "2,000 rows/s, 0:03 left");
    }

    #[test]
    fn nothing_is_claimed_in_the_first_second_and_a_stall_slows_the_rate() {
        let t0 = Instant::now();
        let mut r = Rate::new(100, t0);
        r.record(50, t0 + Duration::from_millis(10));
        assert_eq!(r.describe(t0 + Duration::from_millis(500)), "measuring");
        let later = r.per_second(t0 + Duration::from_secs(5)).unwrap();
        assert!((later - 10.0).abs() < 0.01, "{later}");
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(clock(Duration::from_secs(42)), "0:42");
        assert_eq!(clock(Duration::from_secs(3723)), "1:02:03");
    }
}
