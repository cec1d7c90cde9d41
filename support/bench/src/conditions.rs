//! The conditions of a run, written beside its figures: a number means
//! little without the machine, its load and the tools that made it.

use std::ffi::OsString;
use std::fs;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::setup::{command, run_bounded, Setup};
use crate::workloads::Settings;

/// When, where and how a run was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conditions {
    /// When the run ended, e.g. "2026-11-23 21:31 UTC".
    pub date: String,
    /// Cores, CPU model, kernel and memory, in one line.
    pub machine: String,
    /// /proc/loadavg's three averages before the first load: other work
    /// on these cores skews every figure.
    pub load_average_before: String,
    /// The same after the last load.
    pub load_average_after: String,
    /// The version of each tool that ran, one line each.
    pub tools: Vec<String>,
    /// How each row was measured: runs, their lengths, the pinning.
    pub method: String,
    /// How the servers and the load were set up and what each figure
    /// adds up, one line each: the core split of the servers of several
    /// workers, nginx's configuration, what the CPU, memory and system
    /// call figures count. (Results written before have none.)
    #[serde(default)]
    pub how_measured: Vec<String>,
    /// What a reader must know first: a smoke run, figures converted from
    /// an older format.
    pub note: Option<String>,
}

/// The three load averages of /proc/loadavg, e.g. "0.43 1.03 1.15".
pub fn load_average() -> String {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// "2 cores (AMD EPYC), kernel 6.18.44, 24105 MiB memory".
pub fn machine(cores: usize) -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_mib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|value| value.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024);
    format!(
        "{cores} cores ({model}), kernel {}, {memory_mib} MiB memory",
        kernel.trim()
    )
}

/// How each row was measured, in one sentence.
pub fn method(settings: &Settings, pinned: bool) -> String {
    let pinning = if pinned {
        "a server of one worker on core 0, the load on core 1 (taskset)"
    } else {
        "one core: nothing pinned"
    };
    let runs = match settings.runs {
        1 => "1 run".to_owned(),
        runs => format!("{runs} runs"),
    };
    format!(
        "each row: a fresh server, {runs} (close and keep-alive: {} s each; C10K: N connections each; \
         idle: {} connections held {} s each); {pinning}",
        settings.seconds, settings.idle_connections, settings.idle_seconds
    )
}

/// What the run's figures add up and how the servers were set up, one
/// line each. `shared` names the servers run unpinned beside the load,
/// with their workers; `cores`, the machine's.
pub fn how_measured(
    shared: &[(&str, u32)],
    cores: usize,
    system_calls: bool,
    nginx: bool,
) -> Vec<String> {
    let mut lines = Vec::new();
    let mut workers: Vec<u32> = shared.iter().map(|&(_, workers)| workers).collect();
    workers.dedup();
    for workers in workers {
        let names: Vec<&str> = shared
            .iter()
            .filter(|server| server.1 == workers)
            .map(|server| server.0)
            .collect();
        lines.push(format!(
            "{} ({workers} workers each): not pinned; the server's processes and the load \
             tool (wrk -t{workers}, or loadgen) share the {cores} cores, and the load tool's CPU \
             is measured beside the server's",
            names.join(", ")
        ));
    }
    lines.push(
        "server CPU and peak RSS: all the server's processes summed (nginx: master and \
         workers; a forking server: with the children it reaped); peaks of several processes \
         may come at different moments, and pages they share count in each"
            .into(),
    );
    lines.push(
        "load tool CPU: user + system time of wrk or loadgen over the run, once it has exited; \
         CPU per request: each run's CPU over that run's requests, the median of the runs"
            .into(),
    );
    if system_calls {
        lines.push(
            "system calls per request (keep-alive rows): a fresh server under strace -f -c \
             (every process of it) for one more run of the same load, the calls over the \
             requests of that run"
                .into(),
        );
    }
    if nginx {
        lines.push(
            "the course's static servers run --quiet (no line per request); nginx: \
             access_log off, sendfile on, tcp_nopush on, open_file_cache checked every 1 s, \
             and with several workers a listening socket each (reuseport)"
                .into(),
        );
    }
    lines
}

/// The first line a tool prints about its version, e.g. "wrk 4.1.0".
fn version(argv: &[&str]) -> String {
    let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
    let first_line = run_bounded(command(&argv), Duration::from_secs(10))
        .ok()
        .and_then(|(_, output)| output.lines().next().map(str::to_owned))
        .unwrap_or_default();
    clean_version(&argv[0].to_string_lossy(), &first_line)
}

/// What of a version line is the version: wrk prints its copyright after
/// it, nginx a prefix before it.
fn clean_version(tool: &str, line: &str) -> String {
    let line = line.trim();
    let cleaned = match tool {
        "wrk" => line
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" "),
        _ => line
            .strip_prefix("nginx version: ")
            .unwrap_or(line)
            .to_owned(),
    };
    if cleaned.is_empty() {
        format!("{tool}: version unknown")
    } else {
        cleaned
    }
}

/// The versions of the tools this run used.
pub fn tool_versions(setup: &Setup, wrk: bool, python: bool, profiled: bool) -> Vec<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let mut tools = vec![version(&[&rustc, "--version"])];
    if wrk {
        tools.push(version(&["wrk", "-v"]));
    }
    if let Some(nginx) = &setup.nginx {
        tools.push(version(&[&nginx.to_string_lossy(), "-v"]));
    }
    if python {
        tools.push(version(&["python3", "--version"]));
    }
    tools.push(version(&[&setup.loadgen().to_string_lossy(), "--version"]));
    if profiled {
        tools.push(version(&["strace", "-V"]));
        tools.push(version(&["valgrind", "--version"]));
    }
    tools
}

/// `time` as "YYYY-MM-DD HH:MM UTC", rearranged from the HTTP date
/// httpdate writes for it ("Mon, 23 Nov 2026 21:31:05 GMT").
pub fn utc_date(time: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let http_date = httpdate::fmt_http_date(time);
    let fields: Vec<&str> = http_date.split_whitespace().collect();
    let [_, day, month, year, clock, _] = fields[..] else {
        unreachable!("an HTTP date has six fields: {http_date}");
    };
    let month = MONTHS.iter().position(|name| *name == month).unwrap_or(0) + 1;
    format!("{year}-{month:02}-{day} {} UTC", &clock[..5])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn dates() {
        let at = |seconds| utc_date(UNIX_EPOCH + Duration::from_secs(seconds));
        assert_eq!(at(0), "1970-01-01 00:00 UTC");
        assert_eq!(at(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(at(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(at(1_795_469_460), "2026-11-23 21:31 UTC");
    }

    #[test]
    fn versions_as_the_tools_print_them() {
        assert_eq!(
            clean_version(
                "wrk",
                "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer"
            ),
            "wrk debian/4.1.0-3+b2"
        );
        assert_eq!(
            clean_version("/usr/sbin/nginx", "nginx version: nginx/1.22.1"),
            "nginx/1.22.1"
        );
        assert_eq!(clean_version("python3", "Python 3.11.7\n"), "Python 3.11.7");
        assert_eq!(clean_version("strace", ""), "strace: version unknown");
    }

    #[test]
    fn the_method_in_one_sentence() {
        assert_eq!(
            method(&Settings::full(), true),
            "each row: a fresh server, 3 runs (close and keep-alive: 5 s each; C10K: N connections each; \
             idle: 100 connections held 5 s each); a server of one worker on core 0, the load on core 1 (taskset)"
        );
        assert!(
            method(&Settings::smoke(), false).starts_with("each row: a fresh server, 1 run (close")
        );
    }

    #[test]
    fn the_core_split_of_servers_of_several_workers_is_written_down() {
        let lines = how_measured(&[("prefork_server-2", 2), ("nginx-2", 2)], 2, true, true);
        assert_eq!(
            lines[0],
            "prefork_server-2, nginx-2 (2 workers each): not pinned; the server's processes and \
             the load tool (wrk -t2, or loadgen) share the 2 cores, and the load tool's CPU is \
             measured beside the server's"
        );
        assert!(lines[1].starts_with("server CPU and peak RSS: all the server's processes"));
        assert!(lines[3].starts_with("system calls per request (keep-alive rows)"));
        assert!(lines[4].contains("tcp_nopush on"), "{}", lines[4]);
        // Nothing shared, nothing traced, no nginx: only what the figures add up.
        assert_eq!(how_measured(&[], 2, false, false).len(), 2);
    }

    #[test]
    fn this_machine_reads() {
        let machine = machine(2);
        assert!(machine.starts_with("2 cores ("), "{machine}");
        assert!(machine.ends_with(" MiB memory"), "{machine}");
        assert_eq!(load_average().split(' ').count(), 3);
    }
}
