//! The benchmark's targets, checked against a run's rows. A missed target
//! names the server to profile; whether a miss is the server's fault or
//! the spread between runs is for the book to discuss, not for this code.

use serde::{Deserialize, Serialize};

use crate::measure::Row;
use crate::servers::{Server, EPOLL_EDGE, EPOLL_LEVEL, NGINX, PYTHON, WEBSERVER3G};
use crate::workloads::{C10K_PREFIX, CLOSE_HELLO, KEEP_ALIVE_BIG, KEEP_ALIVE_SMALL};

/// epoll_server this many times as fast as nginx on small keep-alive
/// requests (a cached page sent with one system call).
const EPOLL_VS_NGINX_SMALL: f64 = 1.25;
/// epoll_server at least as fast as nginx on 1 MiB keep-alive requests,
/// with no more CPU per request.
const EPOLL_VS_NGINX_BIG: f64 = 1.0;
/// webserver3g at least this many times as fast as the Python original.
const RUST_VS_PYTHON: f64 = 5.0;
/// epoll_server's peak memory holding the most C10K connections, KiB.
const C10K_RSS_KIB: u64 = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Met,
    Missed,
    /// The rows it needs were not in this run.
    NotMeasured,
}

/// One target and how the run did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// What is asked, e.g. "epoll_server (edge) >= nginx, keep-alive 200 B".
    pub target: String,
    /// Met, missed, or not measured.
    pub outcome: Outcome,
    /// How far below a ratio target the run was, in percent.
    pub missed_by_percent: Option<f64>,
    /// What was measured, e.g. "0.99x nginx".
    pub measured: String,
    /// The server to profile when the target is missed.
    pub profile: Option<String>,
    /// The workload to profile it on: the one whose target it missed.
    /// (Results written before this field existed have none.)
    #[serde(default)]
    pub profile_on: Option<String>,
}

impl Target {
    /// A target met (`Some(true)`), missed, or not measured (`None`), with
    /// nothing to profile.
    fn new(target: String, met: Option<bool>, measured: String) -> Target {
        Target {
            target,
            outcome: match met {
                Some(true) => Outcome::Met,
                Some(false) => Outcome::Missed,
                None => Outcome::NotMeasured,
            },
            missed_by_percent: None,
            measured: if met.is_some() { measured } else { "-".into() },
            profile: None,
            profile_on: None,
        }
    }
}

fn find<'a>(rows: &'a [Row], workload: &str, server: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|row| row.workload == workload && row.server == server)
}

/// A target of the form "`server` / `reference` >= `wanted`" in
/// requests/s on `workload`; a miss profiles `server` on `workload`.
fn ratio_target(
    rows: &[Row],
    target: String,
    workload: &str,
    (server, reference): (&str, &str),
    wanted: f64,
    unit: &str,
) -> Target {
    let (Some(measured), Some(reference)) = (
        find(rows, workload, server),
        find(rows, workload, reference),
    ) else {
        return Target::new(target, None, String::new());
    };
    let ratio = if reference.requests_per_s > 0.0 {
        measured.requests_per_s / reference.requests_per_s
    } else {
        0.0
    };
    let met = ratio >= wanted;
    Target {
        target,
        outcome: if met { Outcome::Met } else { Outcome::Missed },
        missed_by_percent: (!met).then(|| (1.0 - ratio / wanted) * 100.0),
        measured: format!("{ratio:.2}x{unit}"),
        profile: (!met).then(|| server.to_owned()),
        profile_on: (!met).then(|| workload.to_owned()),
    }
}

pub fn evaluate(rows: &[Row]) -> Vec<Target> {
    const EPOLL: [(&str, &str); 2] = [("edge", EPOLL_EDGE), ("level", EPOLL_LEVEL)];
    let mut targets = Vec::new();
    for (mode, server) in EPOLL {
        targets.push(ratio_target(
            rows,
            format!("epoll_server ({mode}) >= 1.25x nginx, keep-alive 200 B"),
            KEEP_ALIVE_SMALL,
            (server, NGINX),
            EPOLL_VS_NGINX_SMALL,
            " nginx",
        ));
    }

    // The most connections this run held.
    let largest = rows
        .iter()
        .filter_map(|row| row.workload.strip_prefix(C10K_PREFIX)?.parse::<u64>().ok())
        .max();
    let held = largest.and_then(|connections| {
        let label = format!("{C10K_PREFIX}{connections}");
        Some((connections, find(rows, &label, EPOLL_EDGE)?))
    });
    let connections = held.map_or("C10K".into(), |(connections, _)| connections.to_string());
    targets.push(Target::new(
        format!("{connections} connections all answered, epoll_server RSS <= 16 MiB"),
        held.map(|(_, row)| row.errors == 0 && row.peak_rss_kib <= C10K_RSS_KIB),
        held.map_or(String::new(), |(_, row)| {
            let mib = row.peak_rss_kib as f64 / 1024.0;
            format!("{} errors, {mib:.1} MiB", row.errors)
        }),
    ));

    targets.push(ratio_target(
        rows,
        "webserver3g >= 5x webserver3g.py, connection per request".into(),
        CLOSE_HELLO,
        (WEBSERVER3G, PYTHON),
        RUST_VS_PYTHON,
        "",
    ));

    let with_errors: Vec<String> = rows
        .iter()
        .filter(|row| row.errors > 0)
        .map(|row| format!("{} on {}: {}", row.server, row.workload, row.errors))
        .collect();
    targets.push(Target::new(
        "zero errors on every workload".into(),
        Some(with_errors.is_empty()),
        if with_errors.is_empty() {
            "0".into()
        } else {
            with_errors.join("; ")
        },
    ));
    for (mode, server) in EPOLL {
        targets.push(big_file_target(rows, mode, server));
    }
    targets
}

/// epoll_server at least as fast as nginx on 1 MiB files, using no more
/// CPU per request. CPU per request is the server's CPU seconds per run
/// over its requests per second: every keep-alive run lasts the same
/// `--seconds`, so the ratio of the two servers' figures is the ratio of
/// their CPU per request.
fn big_file_target(rows: &[Row], mode: &str, server: &str) -> Target {
    let mut target = ratio_target(
        rows,
        format!("epoll_server ({mode}) >= nginx, keep-alive 1 MiB, CPU per request <= nginx's"),
        KEEP_ALIVE_BIG,
        (server, NGINX),
        EPOLL_VS_NGINX_BIG,
        " nginx",
    );
    let (Some(measured), Some(reference)) = (
        find(rows, KEEP_ALIVE_BIG, server),
        find(rows, KEEP_ALIVE_BIG, NGINX),
    ) else {
        return target;
    };
    let per_request = |row: &Row| row.cpu.total() / row.requests_per_s.max(f64::MIN_POSITIVE);
    let cpu_ratio = per_request(measured) / per_request(reference).max(f64::MIN_POSITIVE);
    target.measured = format!(
        "{}, CPU per request {cpu_ratio:.2}x nginx's",
        target.measured
    );
    if cpu_ratio > 1.0 && target.outcome == Outcome::Met {
        target.outcome = Outcome::Missed;
        target.missed_by_percent = Some((cpu_ratio - 1.0) * 100.0);
        target.profile = Some(server.to_owned());
        target.profile_on = Some(KEEP_ALIVE_BIG.to_owned());
    }
    target
}

/// The servers to profile, each with the workload whose target it
/// missed, each pair once, in the targets' order.
pub fn servers_to_profile(targets: &[Target]) -> Vec<(Server, String)> {
    let mut wanted = Vec::new();
    for target in targets {
        let (Some(name), Some(workload)) = (&target.profile, &target.profile_on) else {
            continue;
        };
        if let Some(server) = Server::from_name(name) {
            let pair = (server, workload.clone());
            if !wanted.contains(&pair) {
                wanted.push(pair);
            }
        }
    }
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::CpuSeconds;
    use crate::workloads::{LoadResult, Tool};

    fn row(workload: &str, server: &str, requests_per_s: f64, errors: u64, kib: u64) -> Row {
        Row {
            workload: workload.into(),
            server: server.into(),
            tool: Tool::Loadgen,
            rate_is_meaningful: true,
            requests_per_s,
            vs_nginx: None,
            errors,
            peak_rss_kib: kib,
            cpu: CpuSeconds::default(),
            median_run: LoadResult::failed(String::new()),
            runs: Vec::new(),
            server_died: false,
        }
    }

    fn profiled(targets: &[Target]) -> Vec<(&'static str, String)> {
        let wanted = servers_to_profile(targets);
        wanted
            .into_iter()
            .map(|(server, on)| (server.name(), on))
            .collect()
    }

    /// The rows of the run of 2026-11-23 the targets were set against.
    fn measured_rows() -> Vec<Row> {
        vec![
            row(CLOSE_HELLO, WEBSERVER3G, 4114.0, 0, 2048),
            row(CLOSE_HELLO, PYTHON, 684.0, 0, 14336),
            row(KEEP_ALIVE_SMALL, EPOLL_EDGE, 65408.0, 0, 2662),
            row(KEEP_ALIVE_SMALL, EPOLL_LEVEL, 67196.0, 0, 2560),
            row(KEEP_ALIVE_SMALL, NGINX, 66178.0, 0, 10956),
            row("C10K, 1000", EPOLL_EDGE, 25680.0, 3, 40000),
            row("C10K, 10000", EPOLL_EDGE, 32043.0, 0, 6144),
        ]
    }

    #[test]
    fn the_targets_of_the_measured_run() {
        let targets = evaluate(&measured_rows());
        let outcomes: Vec<(Outcome, &str)> = targets
            .iter()
            .map(|target| (target.outcome, target.measured.as_str()))
            .collect();
        assert_eq!(
            outcomes,
            [
                (Outcome::Missed, "0.99x nginx"),
                (Outcome::Missed, "1.02x nginx"),
                // The largest C10K row decides, not the 1000 one.
                (Outcome::Met, "0 errors, 6.0 MiB"),
                (Outcome::Met, "6.01x"),
                (Outcome::Missed, "epoll_server-edge on C10K, 1000: 3"),
                (Outcome::NotMeasured, "-"),
                (Outcome::NotMeasured, "-"),
            ]
        );
        assert_eq!(targets[0].missed_by_percent.unwrap().round(), 21.0);
        assert_eq!(
            targets[2].target,
            "10000 connections all answered, epoll_server RSS <= 16 MiB"
        );
        assert_eq!(
            profiled(&targets),
            [
                (EPOLL_EDGE, KEEP_ALIVE_SMALL.to_owned()),
                (EPOLL_LEVEL, KEEP_ALIVE_SMALL.to_owned())
            ]
        );
    }

    #[test]
    fn a_big_file_target_wants_the_rate_and_no_more_cpu_per_request() {
        let with_cpu = |server, requests_per_s, cpu| Row {
            cpu: CpuSeconds {
                user: 0.0,
                system: cpu,
            },
            ..row(KEEP_ALIVE_BIG, server, requests_per_s, 0, 1)
        };
        // The run of 2026-11-23: faster, but a whole core against nginx's fifth.
        let rows = [
            with_cpu(EPOLL_EDGE, 2724.0, 4.14),
            with_cpu(EPOLL_LEVEL, 1828.0, 1.0),
            with_cpu(NGINX, 1828.0, 1.04),
        ];
        let targets = evaluate(&rows);
        assert_eq!(targets[5].outcome, Outcome::Missed);
        assert_eq!(
            targets[5].measured,
            "1.49x nginx, CPU per request 2.67x nginx's"
        );
        assert_eq!(targets[6].outcome, Outcome::Met);
        // Profiled where it missed: on the 1 MiB file, not the small page.
        assert_eq!(
            profiled(&targets),
            [(EPOLL_EDGE, KEEP_ALIVE_BIG.to_owned())]
        );
    }

    #[test]
    fn missing_rows_are_not_measured_and_profile_nothing() {
        let targets = evaluate(&[row(CLOSE_HELLO, WEBSERVER3G, 100.0, 0, 1)]);
        assert!(targets[..4]
            .iter()
            .all(|target| target.outcome == Outcome::NotMeasured));
        assert_eq!(targets[4].outcome, Outcome::Met);
        assert!(profiled(&targets).is_empty());
    }

    #[test]
    fn a_slow_webserver3g_is_profiled_too() {
        let mut rows = measured_rows();
        rows[0].requests_per_s = 2052.0;
        let targets = evaluate(&rows);
        assert_eq!(targets[3].outcome, Outcome::Missed);
        assert_eq!(targets[3].missed_by_percent.unwrap().round(), 40.0);
        assert_eq!(
            profiled(&targets),
            [
                (EPOLL_EDGE, KEEP_ALIVE_SMALL.to_owned()),
                (EPOLL_LEVEL, KEEP_ALIVE_SMALL.to_owned()),
                (WEBSERVER3G, CLOSE_HELLO.to_owned())
            ]
        );
    }
}
