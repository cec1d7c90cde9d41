//! Bounded waiting: how long a test may wait for anything, and the
//! panicking form of the one polling loop ([`crate::run::within`]).

use std::time::Duration;

use crate::run::within;

/// How long any single wait in a test may take before the test fails.
/// Generous, because CI machines are small and run tests in parallel; a
/// passing test never waits this long.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `check` every few milliseconds until it returns `Some`, and returns
/// that. Panics, naming `what`, when `timeout` passes first.
pub fn eventually<T>(timeout: Duration, what: &str, check: impl FnMut() -> Option<T>) -> T {
    within(timeout, check)
        .unwrap_or_else(|| panic!("timed out after {timeout:?} waiting for {what}"))
}
