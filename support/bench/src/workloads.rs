//! The workloads: which servers each one loads, the command that makes the
//! load, and how that tool's output is read.
//!
//! - connection per request: `loadgen close`, which reads each answer to
//!   end-of-file and so counts webserver3a–3g too (they send no
//!   Content-Length; wrk cannot count them);
//! - keep-alive: wrk, a 200-byte page and a 1 MiB file, with a thread per
//!   worker of the server;
//! - C10K: `loadgen hold`, N keep-alive connections, one request each, all
//!   held open until every one is answered;
//! - idle: `loadgen hold`, 100 connections held open a few seconds.
//!
//! Which servers each runs comes from what stages.toml says of them: the
//! keep-alive, C10K and idle workloads load the servers of a document
//! root, and C10K leaves out a busy loop.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::servers::Server;
use crate::setup::{command, run_bounded, Setup};

/// Connection per request: 4 in flight at a time, for every server alike.
/// webserver3a's listen backlog is 5: more would overflow its queue, and
/// the run would measure TCP's one-second SYN retransmission instead of 3a.
pub const CLOSE_CONCURRENCY: u32 = 4;
/// Keep-alive: wrk with 32 connections, and one thread per worker of the
/// server (one beside a one-worker server: the other core is the server's).
pub const WRK_CONNECTIONS: u32 = 32;

/// The labels the targets look rows up by.
pub const CLOSE_HELLO: &str = "close, hello";
pub const KEEP_ALIVE_SMALL: &str = "keep-alive, 200 B";
pub const KEEP_ALIVE_BIG: &str = "keep-alive, 1 MiB";
pub const C10K_PREFIX: &str = "C10K, ";
pub const IDLE_PREFIX: &str = "idle, ";

/// The kinds of workload, as chosen on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Connection per request (loadgen close).
    Close,
    /// Keep-alive, 200 B and 1 MiB (wrk); system calls per request (strace)
    KeepAlive,
    /// N connections held open until all are answered (loadgen hold).
    C10k,
    /// 100 connections held idle (loadgen hold).
    Idle,
}

/// How long and how often: the full run's or the smoke run's.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Length of each close and keep-alive run, in seconds.
    pub seconds: u64,
    /// Runs per row, each against the same fresh server; the median is kept.
    pub runs: usize,
    /// The numbers of connections of the C10K rows.
    pub c10k_sizes: Vec<u64>,
    /// Connections held by the idle workload.
    pub idle_connections: u64,
    /// Seconds the idle workload holds them.
    pub idle_seconds: u64,
}

impl Settings {
    /// The measured run: about 11 minutes on 2 cores.
    pub fn full() -> Settings {
        Settings {
            seconds: 5,
            runs: 3,
            c10k_sizes: vec![1_000, 5_000, 10_000],
            idle_connections: 100,
            idle_seconds: 5,
        }
    }

    /// A run of seconds that proves every part works; not a measurement.
    pub fn smoke() -> Settings {
        Settings {
            seconds: 1,
            runs: 1,
            c10k_sizes: vec![1_000],
            idle_connections: 100,
            idle_seconds: 1,
        }
    }
}

/// The tool that makes a load, which decides how its output is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    Loadgen,
    Wrk,
}

impl Tool {
    /// Its name, as results.json and results.csv spell it.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Loadgen => "loadgen",
            Tool::Wrk => "wrk",
        }
    }
}

/// What a workload asks of a server.
#[derive(Clone, Debug, PartialEq)]
pub enum Load {
    /// `loadgen close` for `seconds`, on the server's hello path.
    Close { seconds: u64 },
    /// `wrk` on `path` for `seconds`.
    KeepAlive { path: &'static str, seconds: u64 },
    /// `loadgen hold`: `connections` connections to /small.html, held
    /// `hold_seconds` after the last answer.
    Hold { connections: u64, hold_seconds: u64 },
}

/// One workload and the servers it is run against.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// The row label, e.g. "keep-alive, 200 B".
    pub label: String,
    /// The load.
    pub load: Load,
    /// The servers, in the table's order.
    pub servers: Vec<Server>,
}

/// The keep-alive workloads and the file each asks for.
const KEEP_ALIVE_PATHS: [(&str, &str); 2] = [
    (KEEP_ALIVE_SMALL, "/small.html"),
    (KEEP_ALIVE_BIG, "/big.bin"),
];

/// The load of the workload labelled `label`, for `seconds`, as a profile
/// runs it: the keep-alive ones on their file, anything else (connection
/// per request) on the hello path.
pub fn load_of(label: &str, seconds: u64) -> Load {
    match KEEP_ALIVE_PATHS
        .iter()
        .find(|(keep_alive, _)| *keep_alive == label)
    {
        Some(&(_, path)) => Load::KeepAlive { path, seconds },
        None => Load::Close { seconds },
    }
}

/// The workloads of a run, each with the servers of `chosen` (in the
/// table's order) that it runs.
pub fn plan(settings: &Settings, kinds: &[Kind], chosen: &[Server]) -> Vec<Workload> {
    let mut plan = Vec::new();
    let mut add = |kind: Kind, label: String, load: Load, runs: &dyn Fn(Server) -> bool| {
        let servers: Vec<Server> = chosen
            .iter()
            .copied()
            .filter(|&server| runs(server))
            .collect();
        if kinds.contains(&kind) && !servers.is_empty() {
            plan.push(Workload {
                label,
                load,
                servers,
            });
        }
    };
    let seconds = settings.seconds;
    add(
        Kind::Close,
        CLOSE_HELLO.into(),
        Load::Close { seconds },
        &|_| true,
    );
    // The Part 3 stages answer with a greeting, not a file, and close: they
    // have no keep-alive to measure.
    for (label, path) in KEEP_ALIVE_PATHS {
        let load = Load::KeepAlive { path, seconds };
        add(Kind::KeepAlive, label.into(), load, &Server::serves_files);
    }
    // A busy loop (nonblock_server) asks every socket on every turn: it
    // is left out of C10K, where that is the known answer, and measured
    // idle instead.
    for &connections in &settings.c10k_sizes {
        let load = Load::Hold {
            connections,
            hold_seconds: 0,
        };
        let label = format!("{C10K_PREFIX}{connections}");
        add(Kind::C10k, label, load, &|server: Server| {
            server.serves_files() && !server.busy_loop()
        });
    }
    let (connections, hold_seconds) = (settings.idle_connections, settings.idle_seconds);
    let load = Load::Hold {
        connections,
        hold_seconds,
    };
    let label = format!("{IDLE_PREFIX}{connections} x {hold_seconds}s");
    add(Kind::Idle, label, load, &Server::serves_files);
    plan
}

impl Workload {
    pub fn tool(&self) -> Tool {
        match self.load {
            Load::KeepAlive { .. } => Tool::Wrk,
            _ => Tool::Loadgen,
        }
    }

    /// Whether requests/s says something: not while connections sit idle.
    pub fn rate_is_meaningful(&self) -> bool {
        !matches!(self.load, Load::Hold { hold_seconds, .. } if hold_seconds > 0)
    }

    /// Whether its rows count the system calls per request (strace): the
    /// keep-alive ones, where every connection is busy.
    pub fn counts_system_calls(&self) -> bool {
        matches!(self.load, Load::KeepAlive { .. })
    }

    /// The load's command line against `server` on `port` (without
    /// pinning), with `threads` threads where the tool has a choice (wrk).
    /// Always 127.0.0.1: loadgen's host defaults to it, wrk is given it. No
    /// word holds a space, so each is written as a line.
    pub fn argv(&self, server: Server, port: u16, loadgen: &Path, threads: u32) -> Vec<OsString> {
        let (program, arguments) = match &self.load {
            Load::Close { seconds } => (
                loadgen,
                format!(
                    "close --port {port} --path {} --concurrency {CLOSE_CONCURRENCY} \
                     --duration {seconds} --timeout 10",
                    server.hello_path()
                ),
            ),
            Load::KeepAlive { path, seconds } => (
                Path::new("wrk"),
                format!(
                    "-t{threads} -c{WRK_CONNECTIONS} -d{seconds}s --timeout 5s --latency \
                     http://127.0.0.1:{port}{path}"
                ),
            ),
            Load::Hold {
                connections,
                hold_seconds,
            } => (
                loadgen,
                format!(
                    "hold --port {port} --path /small.html --connections {connections} \
                     --hold {hold_seconds} --timeout 60"
                ),
            ),
        };
        let arguments = arguments.split_whitespace().map(OsString::from);
        [program.into()].into_iter().chain(arguments).collect()
    }

    /// How long the load may take in all, beyond which it is stopped: the
    /// tools' own limits (loadgen's --timeout, wrk's --timeout and
    /// duration) plus a margin.
    pub fn time_limit(&self) -> Duration {
        Duration::from_secs(match self.load {
            Load::Close { seconds } | Load::KeepAlive { seconds, .. } => seconds + 30,
            Load::Hold { hold_seconds, .. } => hold_seconds + 90,
        })
    }

    /// Runs the load once against `server` on `port`. A load that times
    /// out or prints nothing readable is a failed run, not an error: a
    /// server that stops answering is a result.
    pub fn run_once(&self, server: Server, port: u16, setup: &Setup) -> Result<LoadResult> {
        let placement = setup.placement(server.workers());
        let argv = [
            placement.load,
            self.argv(server, port, &setup.loadgen(), placement.load_threads),
        ]
        .concat();
        let tool = self.tool().name();
        let (status, output) = run_bounded(command(&argv), self.time_limit())?;
        if status.is_none() {
            return Ok(LoadResult::failed(format!(
                "{tool} did not finish within {:?}",
                self.time_limit()
            )));
        }
        let parsed = match self.tool() {
            Tool::Wrk => parse_wrk(&output),
            Tool::Loadgen => parse_loadgen(&output),
        };
        Ok(parsed.unwrap_or_else(|err| {
            eprintln!("bench: {err:#}");
            LoadResult::failed(format!("{err:#}"))
        }))
    }
}

/// What one run of a load tool measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadResult {
    /// Requests per second, as the tool computed it.
    pub requests_per_s: f64,
    /// Requests answered (loadgen) or completed (wrk).
    pub answered: u64,
    /// Requests that failed: loadgen's failed, or wrk's socket errors plus
    /// its non-2xx/3xx answers; 1 for a run that failed as a whole.
    pub errors: u64,
    /// The errors by kind, as the tool names them.
    #[serde(default)]
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Seconds the load took (loadgen: to the last answer; wrk: the run).
    pub seconds: f64,
    /// The 99th percentile of the latency, in milliseconds, when known.
    pub p99_ms: Option<f64>,
    /// Why the run failed as a whole (the tool timed out, or printed
    /// nothing readable); `None` for a run that measured.
    #[serde(default)]
    pub problem: Option<String>,
}

impl LoadResult {
    /// A run that measured nothing: one error, and why.
    pub fn failed(problem: String) -> LoadResult {
        LoadResult {
            requests_per_s: 0.0,
            answered: 0,
            errors: 1,
            errors_by_kind: BTreeMap::new(),
            seconds: 0.0,
            p99_ms: None,
            problem: Some(problem),
        }
    }
}

/// Reads loadgen's report: one `key: value` per line.
///
/// ```text
/// answered: 2469
/// failed: 0
/// seconds: 1.000
/// requests_per_s: 2469.0
/// latency_ms: p50=1.482 p90=1.803 p99=2.524 max=10.270
/// ```
pub fn parse_loadgen(output: &str) -> Result<LoadResult> {
    let mut values = BTreeMap::new();
    let mut errors_by_kind = BTreeMap::new();
    for line in output.lines() {
        // "failed[connect: Connection refused]: 1000": the kind may hold
        // ": " itself.
        if let Some((kind, count)) = line
            .strip_prefix("failed[")
            .and_then(|rest| rest.rsplit_once("]: "))
        {
            if let Ok(count) = count.trim().parse() {
                errors_by_kind.insert(kind.to_owned(), count);
            }
        } else if let Some((key, value)) = line.split_once(": ") {
            values.insert(key.trim(), value.trim());
        }
    }
    let number = |key: &str| -> Result<f64> {
        let text = values
            .get(key)
            .with_context(|| format!("loadgen printed no {key:?}: {}", one_line(output)))?;
        text.parse()
            .with_context(|| format!("loadgen's {key} is not a number: {text:?}"))
    };
    let p99_ms = values.get("latency_ms").and_then(|latencies| {
        latencies
            .split_whitespace()
            .find_map(|field| field.strip_prefix("p99="))
            .and_then(|value| value.parse().ok())
    });
    Ok(LoadResult {
        requests_per_s: number("requests_per_s")?,
        answered: number("answered")? as u64,
        errors: number("failed")? as u64,
        errors_by_kind,
        seconds: number("seconds")?,
        p99_ms,
        problem: None,
    })
}

/// Reads wrk's report (run with `--latency`):
///
/// ```text
///   332551 requests in 5.00s, 117.16MB read
///   Socket errors: connect 0, read 0, write 0, timeout 0
///   Non-2xx or 3xx responses: 12
/// Requests/sec:  66500.12
/// ```
///
/// and the `99%` line of its latency distribution. The last two lines of
/// the block above appear only when there were such errors.
pub fn parse_wrk(output: &str) -> Result<LoadResult> {
    let mut answered = None;
    let mut seconds = 0.0;
    let mut requests_per_s = None;
    let mut p99_ms = None;
    let mut errors_by_kind = BTreeMap::new();
    for line in output.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [count, "requests", "in", time, ..] = words[..] {
            answered = count.parse::<u64>().ok();
            seconds = wrk_duration(time.trim_end_matches(',')).unwrap_or(0.0);
        } else if let Some(rate) = line.strip_prefix("Requests/sec:") {
            requests_per_s = rate.trim().parse::<f64>().ok();
        } else if let Some(counts) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            for pair in counts.split(',') {
                if let Some((kind, count)) = pair.trim().split_once(' ') {
                    let count: u64 = count.trim().parse().unwrap_or(0);
                    if count > 0 {
                        errors_by_kind.insert(format!("socket {kind}"), count);
                    }
                }
            }
        } else if let Some(count) = line.strip_prefix("Non-2xx or 3xx responses:") {
            let count: u64 = count.trim().parse().unwrap_or(0);
            errors_by_kind.insert("non-2xx or 3xx".into(), count);
        } else if let ["99%", latency] = words[..] {
            p99_ms = wrk_duration(latency).map(|seconds| seconds * 1000.0);
        }
    }
    match (answered, requests_per_s) {
        (Some(answered), Some(requests_per_s)) if answered > 0 => Ok(LoadResult {
            requests_per_s,
            answered,
            errors: errors_by_kind.values().sum(),
            errors_by_kind,
            seconds,
            p99_ms,
            problem: None,
        }),
        // wrk could not connect, or not one response came back: an error,
        // not a silent zero.
        _ => bail!("wrk completed no request: {}", one_line(output)),
    }
}

/// A duration as wrk prints it: `812.00us`, `1.23ms`, `5.00s`, `1.00m`.
fn wrk_duration(text: &str) -> Option<f64> {
    let units = [
        ("us", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
        ("m", 60.0),
        ("h", 3600.0),
    ];
    units.iter().find_map(|&(unit, scale)| {
        let number: f64 = text.strip_suffix(unit)?.parse().ok()?;
        Some(number * scale)
    })
}

/// A tool's output on one line, cut short, for a message.
fn one_line(output: &str) -> String {
    let line = output.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::{EPOLL_EDGE, EPOLL_LEVEL, NGINX, NGINX_2, NONBLOCK, PREFORK_2, URING};

    fn server(name: &str) -> Server {
        Server::from_name(name).unwrap()
    }

    // The samples are real outputs, captured on the benchmark machine:
    // loadgen close on webserver3a, loadgen hold on a closed port, wrk on
    // epoll_server, on a missing page of epoll_server (404) and on
    // webserver3a (no Content-Length: wrk sees read errors), and wrk on a
    // closed port.

    #[test]
    fn loadgen_close_report() {
        let result = parse_loadgen(include_str!("../samples/loadgen-close.txt")).unwrap();
        assert_eq!(result.answered, 18699);
        assert_eq!(result.errors, 0);
        assert!(result.errors_by_kind.is_empty());
        assert_eq!(result.seconds, 1.0);
        assert_eq!(result.requests_per_s, 18698.1);
        assert_eq!(result.p99_ms, Some(0.472));
        assert_eq!(result.problem, None);
    }

    #[test]
    fn loadgen_hold_report_with_failures_by_kind() {
        let result = parse_loadgen(include_str!("../samples/loadgen-hold-failed.txt")).unwrap();
        assert_eq!(result.answered, 0);
        assert_eq!(result.errors, 1000);
        assert_eq!(
            result.errors_by_kind,
            BTreeMap::from([("connect: Connection refused".to_owned(), 1000)])
        );
    }

    #[test]
    fn loadgen_without_a_report_is_an_error_naming_what_it_said() {
        let error = parse_loadgen("loadgen: connection refused\n").unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("\"requests_per_s\""), "{message}");
        assert!(message.contains("connection refused"), "{message}");
    }

    #[test]
    fn wrk_report() {
        let result = parse_wrk(include_str!("../samples/wrk-small.txt")).unwrap();
        assert_eq!(result.answered, 37468);
        assert_eq!(result.errors, 0);
        assert!(result.errors_by_kind.is_empty());
        assert_eq!(result.seconds, 1.0);
        assert_eq!(result.requests_per_s, 37409.60);
        let p99 = result.p99_ms.unwrap();
        assert!((p99 - 19.32).abs() < 1e-9, "{p99}");
    }

    #[test]
    fn wrk_counts_answers_that_are_not_2xx_or_3xx_as_errors() {
        let result = parse_wrk(include_str!("../samples/wrk-404.txt")).unwrap();
        assert_eq!(result.answered, 69562);
        assert_eq!(result.errors, 69562);
        assert_eq!(result.errors_by_kind.get("non-2xx or 3xx"), Some(&69562));
    }

    #[test]
    fn wrk_counts_socket_errors() {
        let result = parse_wrk(include_str!("../samples/wrk-read-errors.txt")).unwrap();
        assert_eq!(result.errors, 10978);
        assert_eq!(
            result.errors_by_kind,
            BTreeMap::from([("socket read".to_owned(), 10978)])
        );
    }

    #[test]
    fn wrk_that_completed_nothing_is_an_error() {
        let output = include_str!("../samples/wrk-refused.txt");
        let message = format!("{:#}", parse_wrk(output).unwrap_err());
        assert_eq!(
            message,
            "wrk completed no request: unable to connect to 127.0.0.1:1 Connection refused"
        );
    }

    #[test]
    fn wrk_durations() {
        assert_eq!(wrk_duration("5.00s"), Some(5.0));
        assert_eq!(wrk_duration("1.00m"), Some(60.0));
        assert_eq!(wrk_duration("1.50ms"), Some(0.0015));
        assert_eq!(wrk_duration("812.00us"), Some(0.000812));
        assert_eq!(wrk_duration("fast"), None);
    }

    #[test]
    fn the_full_plan_is_the_table_of_the_book() {
        let plan = plan(&Settings::full(), Kind::value_variants(), Server::all());
        let labels: Vec<&str> = plan
            .iter()
            .map(|workload| workload.label.as_str())
            .collect();
        assert_eq!(
            labels,
            [
                "close, hello",
                "keep-alive, 200 B",
                "keep-alive, 1 MiB",
                "C10K, 1000",
                "C10K, 5000",
                "C10K, 10000",
                "idle, 100 x 5s"
            ]
        );
        assert_eq!(plan[0].servers.len(), 10);
        assert_eq!(plan[1].servers.len(), 7);
        assert!(!plan[3].servers.contains(&server(NONBLOCK)));
    }

    /// Once prefork_server and uring_server are in stages.toml, every
    /// workload of a document root runs them, and nginx of two workers.
    #[test]
    fn the_servers_of_issue_18_come_in_through_the_manifest() {
        use crate::servers::tests::with_issue_18;
        let servers = with_issue_18();
        let plan = plan(&Settings::full(), Kind::value_variants(), &servers);
        let names = |workload: &Workload| -> Vec<&str> {
            workload
                .servers
                .iter()
                .map(|server| server.name())
                .collect()
        };
        let static_servers = [
            NONBLOCK,
            EPOLL_EDGE,
            EPOLL_LEVEL,
            PREFORK_2,
            URING,
            NGINX,
            NGINX_2,
        ];
        assert_eq!(names(&plan[0]).len(), servers.len());
        assert_eq!(names(&plan[1]), static_servers);
        assert_eq!(names(&plan[2]), static_servers);
        // C10K: all but the busy loop.
        assert_eq!(names(&plan[5]), static_servers[1..]);
        assert_eq!(plan[5].label, "C10K, 10000");
        assert_eq!(names(&plan[6]), static_servers);
        assert!(plan[1].counts_system_calls() && plan[2].counts_system_calls());
        assert!(!plan[0].counts_system_calls() && !plan[5].counts_system_calls());
    }

    #[test]
    fn choosing_servers_and_workloads_narrows_the_plan() {
        let plan = plan(
            &Settings::smoke(),
            &[Kind::Close, Kind::C10k],
            &[server("webserver3a"), Server::nginx()],
        );
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[0].servers, [server("webserver3a"), Server::nginx()]);
        assert_eq!(plan[1].label, "C10K, 1000");
        assert_eq!(plan[1].servers, [Server::nginx()]);
    }

    #[test]
    fn commands_load_loopback_only() {
        let workloads = plan(&Settings::smoke(), Kind::value_variants(), Server::all());
        let words =
            |line: &str| -> Vec<OsString> { line.split_whitespace().map(OsString::from).collect() };
        let close = workloads[0].argv(server("webserver3a"), 4000, Path::new("/t/loadgen"), 1);
        assert_eq!(
            close,
            words(
                "/t/loadgen close --port 4000 --path /hello --concurrency 4 \
                 --duration 1 --timeout 10"
            )
        );
        let wrk = workloads[1].argv(Server::nginx(), 4000, Path::new("/t/loadgen"), 1);
        assert_eq!(
            wrk,
            words("wrk -t1 -c32 -d1s --timeout 5s --latency http://127.0.0.1:4000/small.html")
        );
        // A thread per worker of the server.
        let wrk = workloads[1].argv(Server::nginx(), 4000, Path::new("/t/loadgen"), 2);
        assert_eq!(wrk[1], "-t2");
        let hold = workloads[3].argv(Server::nginx(), 4000, Path::new("/t/loadgen"), 2);
        assert_eq!(
            hold,
            words(
                "/t/loadgen hold --port 4000 --path /small.html --connections 1000 \
                 --hold 0 --timeout 60"
            )
        );
        // loadgen's host defaults to 127.0.0.1 and refuses any other.
        for workload in &workloads {
            let argv = workload.argv(Server::nginx(), 4000, Path::new("loadgen"), 1);
            assert!(!argv.iter().any(|word| word == "--host"));
        }
        assert!(!workloads.last().unwrap().rate_is_meaningful());
        assert!(workloads[3].rate_is_meaningful());
    }
}
