//! Where a server that missed a target spends its time, seen from both
//! sides of the system-call boundary:
//!
//! - `strace -c -f`: its system calls (its children's too), with counts;
//!   divided by the requests the load made, the calls per request. For
//!   every server here most CPU time is system time, so this comes first.
//! - valgrind's callgrind (single-process servers only): user-space
//!   instructions by function. perf would be the first choice, but the
//!   machines this was written on expose no hardware counters to it. A
//!   forking server's user time is spread over thousands of short
//!   children, and a pre-forked server's over its workers, so they get
//!   strace only.
//!
//! The same traced run counts every server's system calls per request on
//! the keep-alive workloads ([`crate::syscalls`]).
//!
//! The summaries are written into results.md as the tools print them;
//! reading them is the book's job.

use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use testkit::procs::children_of;
use testkit::tools::{apt_install_command, VALGRIND};

use crate::servers::{self, Server};
use crate::setup::{command, run_bounded, Setup};
use crate::workloads::{load_of, Workload};

/// What a profiler said about one server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The server profiled, e.g. "epoll_server-edge".
    pub server: String,
    /// The workload it was profiled on, e.g. "keep-alive, 1 MiB". (Results
    /// written before this field existed have none.)
    #[serde(default)]
    pub workload: Option<String>,
    /// What was measured and with what, e.g. "system calls, strace -c -f".
    pub tool: String,
    /// Requests the load made meanwhile (calls / requests = calls per
    /// request), when the load said.
    pub requests: Option<u64>,
    /// The tool's summary, as printed.
    pub summary: String,
}

/// A tracer takes longer to start a server, and to stop it.
const TRACED_LIMIT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy)]
pub enum Tracer {
    Strace,
    Callgrind,
}

/// Profiles of each of `servers` under a `seconds`-long load of the
/// workload named with it (the one whose target it missed). A profile that
/// fails is left out, with a line saying why: the measurements stand
/// without it.
pub fn profiles(servers: &[(Server, String)], setup: &Setup, seconds: u64) -> Vec<Profile> {
    let callgrind = VALGRIND.is_installed();
    if !callgrind {
        eprintln!(
            "bench: valgrind is not installed: no callgrind profiles ({})",
            apt_install_command(&[VALGRIND])
        );
    }
    let mut profiles = Vec::new();
    for (server, workload) in servers {
        let server = *server;
        let mut tracers = vec![Tracer::Strace];
        if callgrind && server.single_process() {
            tracers.push(Tracer::Callgrind);
        }
        for tracer in tracers {
            let how = match tracer {
                Tracer::Strace => "strace",
                Tracer::Callgrind => "callgrind",
            };
            eprintln!(
                "bench: profiling {} on {workload} under {how}",
                server.name()
            );
            let profiled = Workload {
                label: workload.clone(),
                load: load_of(workload, seconds),
                servers: vec![server],
            };
            match under_load(server, &profiled, tracer, setup) {
                Ok(profile) => profiles.push(profile),
                Err(err) => eprintln!("bench: no profile of {}: {err:#}", server.name()),
            }
        }
    }
    profiles
}

/// Runs `server` under `tracer` for one run of `workload`'s load, then
/// stops it so the tracer writes its report.
pub fn under_load(
    server: Server,
    workload: &Workload,
    tracer: Tracer,
    setup: &Setup,
) -> Result<Profile> {
    let name = server.name();
    let report = setup.work.join(format!("{name}.profile"));
    let mut wrapper = setup.placement(server.workers()).server;
    let (prefix, tool): (Vec<OsString>, &str) = match tracer {
        Tracer::Strace => (
            vec![
                "strace".into(),
                "-f".into(),
                "-c".into(),
                "-o".into(),
                report.clone().into(),
            ],
            "system calls, strace -c -f",
        ),
        Tracer::Callgrind => {
            let mut option = OsString::from("--callgrind-out-file=");
            option.push(&report);
            (
                vec!["valgrind".into(), "--tool=callgrind".into(), option],
                "user-space instructions by function (self cost), callgrind",
            )
        }
    };
    wrapper.extend(prefix);
    let mut running = servers::start(server, setup, &wrapper, TRACED_LIMIT)?;
    let result = workload.run_once(server, running.port, setup)?;
    // SIGTERM to the server itself, not its group: valgrind runs it in its
    // own process, strace as its child, and each tracer writes its report
    // when the server dies. (strace, sent SIGTERM itself, would detach and
    // leave the server running.) The child's PID is read while strace,
    // its parent, still waits for it, so it cannot have been reused.
    let traced = match tracer {
        Tracer::Strace => children_of(running.process.pid())
            .first()
            .map(|child| child.pid)
            .context("strace has no child")?,
        Tracer::Callgrind => running.process.pid(),
    };
    let traced = Pid::from_raw(traced);
    let _ = kill(traced, Signal::SIGTERM);
    if running.process.wait_exit(TRACED_LIMIT).is_none() {
        // Stopping strace now would detach it and leave the server
        // running: the server goes first, while strace still holds it.
        let _ = kill(traced, Signal::SIGKILL);
    }
    running.stop();
    let written = fs::read_to_string(&report)
        .with_context(|| format!("the tracer wrote no report ({})", report.display()))?;
    let summary = match tracer {
        Tracer::Strace => written,
        Tracer::Callgrind => {
            let argv: Vec<OsString> = vec!["callgrind_annotate".into(), report.into()];
            let (_, annotated) = run_bounded(command(&argv), TRACED_LIMIT)?;
            callgrind_top(&annotated, 20)
        }
    };
    let summary = without_machine_paths(&summary, &setup.release, &setup.work);
    Ok(Profile {
        server: name.to_owned(),
        workload: Some(workload.label.clone()),
        tool: tool.to_owned(),
        requests: (result.problem.is_none()).then_some(result.answered),
        summary,
    })
}

/// `text` with the paths of this machine the committed results must not
/// hold: the release directory (callgrind names each function's binary)
/// as `target/release`, the run's directory as `<run>`.
pub fn without_machine_paths(text: &str, release: &Path, work: &Path) -> String {
    let text = text.replace(&*release.to_string_lossy(), "target/release");
    text.replace(&*work.to_string_lossy(), "<run>")
}

/// The first `count` functions of callgrind_annotate's listing: the lines
/// after its `Ir file:function` header and the rule under it, up to the
/// blank line that ends the listing.
pub fn callgrind_top(annotated: &str, count: usize) -> String {
    let mut lines = annotated.lines();
    if !lines.any(|line| line.trim_end().ends_with("file:function")) {
        return String::new();
    }
    lines
        .skip_while(|line| line.starts_with("---"))
        .take_while(|line| !line.trim().is_empty())
        .take(count)
        .map(|line| format!("{line}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::Load;

    #[test]
    fn a_server_is_profiled_on_the_workload_it_missed() {
        let big = load_of(crate::workloads::KEEP_ALIVE_BIG, 5);
        assert_eq!(
            big,
            Load::KeepAlive {
                path: "/big.bin",
                seconds: 5
            }
        );
        let close = load_of(crate::workloads::CLOSE_HELLO, 5);
        assert_eq!(close, Load::Close { seconds: 5 });
    }

    #[test]
    fn the_top_functions_of_callgrind_annotate() {
        // Captured from callgrind_annotate 3.19 on epoll_server under wrk.
        let annotated = include_str!("../samples/callgrind-annotate.txt");
        let top = callgrind_top(annotated, 2);
        assert_eq!(
            top,
            "10,227,436 ( 8.98%)  ???:static_http::request::parse_head [target/release/epoll_server]\n \
             8,261,073 ( 7.25%)  ???:core::slice::memchr::memrchr [target/release/epoll_server]\n"
        );
        // The listing ends at its blank line, before the list of source
        // files callgrind_annotate could not find.
        let all = callgrind_top(annotated, 1000);
        assert_eq!(all.lines().count(), 90, "{all}");
        assert!(!all.contains("could not be found"));
        assert_eq!(callgrind_top("no listing here\n", 3), "");
    }

    #[test]
    fn the_summaries_name_no_path_of_this_machine() {
        let line = "8,261,073 ( 7.25%)  ???:memrchr [/srv/build/ws/target/release/epoll_server]\n\
                    written to /srv/run/bench.x1/epoll_server.profile\n";
        assert_eq!(
            without_machine_paths(
                line,
                Path::new("/srv/build/ws/target/release"),
                Path::new("/srv/run/bench.x1")
            ),
            "8,261,073 ( 7.25%)  ???:memrchr [target/release/epoll_server]\n\
             written to <run>/epoll_server.profile\n"
        );
    }
}
