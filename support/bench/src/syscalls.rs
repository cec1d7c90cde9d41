//! System calls per request: a fresh server under `strace -f -c`, which
//! follows every process of it (nginx's master and workers,
//! prefork_server's, a forking server's children), for one more run of a
//! keep-alive workload's load (wrk, 32 connections); the calls counted by
//! name and divided by the requests the load made meanwhile.
//!
//! Under strace every call stops the server twice, so it runs several
//! times slower, and how many requests wait at each wake-up is not what it
//! is untraced: the counts are strace's, comparable between servers
//! counted the same way. They include the server's start and stop, a few
//! hundred calls against the tens of thousands of a run.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::profile::{self, Tracer};
use crate::servers::Server;
use crate::setup::Setup;
use crate::workloads::Workload;

/// The system calls of a server over one traced run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SystemCalls {
    /// Requests the load made while the server was traced.
    pub requests: u64,
    /// Calls by name, over the server's traced life.
    pub calls: BTreeMap<String, u64>,
}

impl SystemCalls {
    /// Every call counted.
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }

    /// Calls per request, `None` when the load made none.
    pub fn per_request(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.total() as f64 / self.requests as f64)
    }

    /// Per request, in one line: the total, then the `top` most frequent
    /// calls, e.g. `2.58: recvfrom 1.53, sendto 1.00, epoll_wait 0.03`.
    pub fn summary(&self, top: usize) -> String {
        let Some(total) = self.per_request() else {
            return "no request".into();
        };
        let mut by_count: Vec<(&String, &u64)> = self.calls.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let requests = self.requests as f64;
        let calls: Vec<String> = by_count
            .into_iter()
            .take(top)
            .map(|(name, count)| format!("{name} {:.2}", *count as f64 / requests))
            .collect();
        format!("{total:.2}: {}", calls.join(", "))
    }
}

/// The calls by name in a report of `strace -c`:
///
/// ```text
/// % time     seconds  usecs/call     calls    errors syscall
/// ------ ----------- ----------- --------- --------- ------------------
///  68.67    0.280820          10     25601           sendto
///  28.73    0.117496           2     39217     13595 recvfrom
/// ------ ----------- ----------- --------- --------- ------------------
/// 100.00    0.408945           6     65963     13615 total
/// ```
///
/// The lines between the two rules; the errors column is empty for a call
/// that never failed, so `calls` is the fourth field and the name the last.
pub fn parse_strace_summary(report: &str) -> Result<BTreeMap<String, u64>> {
    let mut lines = report.lines().map(str::trim);
    if !lines.any(|line| line.starts_with("------")) {
        bail!(
            "no strace -c table in: {}",
            report.chars().take(200).collect::<String>()
        );
    }
    let mut calls = BTreeMap::new();
    for line in lines.take_while(|line| !line.starts_with("------")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (5 | 6) = fields.len() else {
            bail!("strace -c line not understood: {line:?}");
        };
        let count: u64 = fields[3]
            .parse()
            .with_context(|| format!("strace -c line not understood: {line:?}"))?;
        *calls
            .entry(fields[fields.len() - 1].to_owned())
            .or_default() += count;
    }
    Ok(calls)
}

/// Counts `server`'s system calls under one run of `workload`'s load.
pub fn count(server: Server, workload: &Workload, setup: &Setup) -> Result<SystemCalls> {
    let traced = profile::under_load(server, workload, Tracer::Strace, setup)?;
    let requests = traced
        .requests
        .context("the load under strace measured nothing")?;
    Ok(SystemCalls {
        requests,
        calls: parse_strace_summary(&traced.summary)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured on the benchmark machine: epoll_server --trigger edge
    // --quiet under strace -f -c while wrk -t1 -c32 made 25,570 requests
    // for the 200-byte page in 2 s.
    const EPOLL_EDGE: &str = include_str!("../samples/strace-c-epoll-edge.txt");

    #[test]
    fn strace_s_table_by_name() {
        let calls = parse_strace_summary(EPOLL_EDGE).unwrap();
        assert_eq!(calls["sendto"], 25601);
        // A call with errors: the errors column is there.
        assert_eq!(calls["recvfrom"], 39217);
        assert_eq!(calls["epoll_wait"], 738);
        assert_eq!(calls.len(), 40);
        // The total line is not a call.
        assert!(!calls.contains_key("total"));
        let counted = SystemCalls {
            requests: 25570,
            calls,
        };
        assert_eq!(counted.total(), 65963);
        assert!((counted.per_request().unwrap() - 2.58).abs() < 0.005);
        assert_eq!(
            counted.summary(3),
            "2.58: recvfrom 1.53, sendto 1.00, epoll_wait 0.03"
        );
    }

    #[test]
    fn a_report_without_a_table_is_an_error() {
        let message = format!(
            "{:#}",
            parse_strace_summary("strace: exec: No such file").unwrap_err()
        );
        assert!(
            message.starts_with("no strace -c table in: strace: exec"),
            "{message}"
        );
        let garbled = "% time\n------\n  1.0 x\n------\n";
        assert!(parse_strace_summary(garbled).is_err());
    }

    #[test]
    fn no_request_no_ratio() {
        let nothing = SystemCalls {
            requests: 0,
            calls: BTreeMap::from([("epoll_wait".to_owned(), 10)]),
        };
        assert_eq!(nothing.per_request(), None);
        assert_eq!(nothing.summary(3), "no request");
    }
}
