//! Counting answers and failures, and printing them in a form both a person
//! and `bench` can read: one `key: value` per line.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::response::Failure;

pub struct Tally {
    started: Instant,
    answered: u64,
    failed_by_kind: BTreeMap<String, u64>,
    /// One entry per answer, in microseconds; sorted only when printed.
    latencies_micros: Vec<u64>,
    last_answer: Option<Instant>,
}

impl Tally {
    pub fn start() -> Tally {
        Tally {
            started: Instant::now(),
            answered: 0,
            failed_by_kind: BTreeMap::new(),
            latencies_micros: Vec::new(),
            last_answer: None,
        }
    }

    pub fn answer(&mut self, latency: Duration) {
        self.answered += 1;
        self.latencies_micros.push(latency.as_micros() as u64);
        self.last_answer = Some(Instant::now());
    }

    pub fn fail(&mut self, failure: &Failure) {
        self.fail_many(failure, 1);
    }

    pub fn fail_many(&mut self, failure: &Failure, count: u64) {
        if count > 0 {
            *self.failed_by_kind.entry(failure.to_string()).or_default() += count;
        }
    }

    /// A connection counted as answered was lost while held open: it moves
    /// from the answered to the failed column.
    pub fn unanswer(&mut self, failure: &Failure) {
        self.answered -= 1;
        self.fail(failure);
    }

    pub fn failed(&self) -> u64 {
        self.failed_by_kind.values().sum()
    }

    /// Time from the start of the load to the last answer.
    pub fn answering_time(&self) -> Duration {
        self.last_answer
            .map(|last| last - self.started)
            .unwrap_or_default()
    }

    /// The report, one `key: value` per line.
    pub fn render(&mut self) -> String {
        let seconds = self.answering_time().as_secs_f64();
        let rate = if seconds > 0.0 {
            self.answered as f64 / seconds
        } else {
            0.0
        };
        // Written with `let _ =`: writing to a String cannot fail.
        let mut text = format!("answered: {}\nfailed: {}\n", self.answered, self.failed());
        for (kind, count) in &self.failed_by_kind {
            let _ = writeln!(text, "failed[{kind}]: {count}");
        }
        let _ = writeln!(text, "seconds: {seconds:.3}\nrequests_per_s: {rate:.1}");
        self.latencies_micros.sort_unstable();
        let percentile = |fraction: f64| percentile_millis(&self.latencies_micros, fraction);
        let _ = writeln!(
            text,
            "latency_ms: p50={:.3} p90={:.3} p99={:.3} max={:.3}",
            percentile(0.50),
            percentile(0.90),
            percentile(0.99),
            percentile(1.0)
        );
        text
    }
}

/// The nearest-rank percentile of sorted microseconds, in milliseconds.
fn percentile_millis(sorted_micros: &[u64], fraction: f64) -> f64 {
    if sorted_micros.is_empty() {
        return 0.0;
    }
    let rank = (fraction * sorted_micros.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted_micros.len()) - 1;
    sorted_micros[index] as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let micros: Vec<u64> = (1..=100).map(|n| n * 1000).collect();
        assert_eq!(percentile_millis(&micros, 0.50), 50.0);
        assert_eq!(percentile_millis(&micros, 0.99), 99.0);
        assert_eq!(percentile_millis(&micros, 1.0), 100.0);
        assert_eq!(percentile_millis(&[7000], 0.5), 7.0);
        assert_eq!(percentile_millis(&[], 0.5), 0.0);
    }

    #[test]
    fn a_lost_held_connection_moves_to_failed() {
        let mut tally = Tally::start();
        tally.answer(Duration::from_millis(1));
        tally.answer(Duration::from_millis(2));
        tally.unanswer(&Failure::ClosedWhileHeld);
        let report = tally.render();
        assert!(report.starts_with("answered: 1\nfailed: 1\n"), "{report}");
        assert!(
            report.contains("failed[closed while held]: 1\n"),
            "{report}"
        );
    }
}
