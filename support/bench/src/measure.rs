//! One row of the table: a fresh server, a few runs of a workload, the
//! median; and what is measured besides the load tool's figures
//! ([`crate::usage`]): the CPU time and peak memory of the server's whole
//! process tree, the load tool's own CPU time, both per request, and on
//! the keep-alive workloads the server's system calls per request
//! ([`crate::syscalls`]).

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use testkit::procs::ticks_per_second;

use crate::servers::{self, nginx_name, Server, START_LIMIT};
use crate::setup::Setup;
use crate::syscalls::{self, SystemCalls};
use crate::usage::{self, CpuSeconds};
use crate::workloads::{LoadResult, Tool, Workload};

/// The index of the median of `values` (the lower one of an even count),
/// `None` when there are none.
pub fn median_index(values: &[f64]) -> Option<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order.get(values.len().saturating_sub(1) / 2).copied()
}

/// The median of `values`, `None` when there are none.
fn median_of(values: &[f64]) -> Option<f64> {
    median_index(values).map(|index| values[index])
}

/// One run of a load against a server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// What the load tool measured.
    pub load: LoadResult,
    /// CPU time of the server's processes during the run.
    pub cpu: CpuSeconds,
    /// CPU time of the load tool during the run. (Results written before
    /// it was measured have none.)
    #[serde(default)]
    pub load_cpu: Option<CpuSeconds>,
}

impl Run {
    /// Whether the run measured requests: no failure as a whole, some
    /// answered.
    fn answered(&self) -> Option<u64> {
        (self.load.problem.is_none() && self.load.answered > 0).then_some(self.load.answered)
    }
}

/// One line of the table: a workload against a fresh server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The workload's label, e.g. "keep-alive, 200 B".
    pub workload: String,
    /// The server, e.g. "epoll_server-edge".
    pub server: String,
    /// The tool that made the load, which decides how `detail` reads.
    pub tool: Tool,
    /// Whether requests/s says something (not while connections sit idle).
    pub rate_is_meaningful: bool,
    /// The median of the runs' requests/s.
    pub requests_per_s: f64,
    /// `requests_per_s` over nginx's on the same workload, when nginx ran it.
    pub vs_nginx: Option<f64>,
    /// Failed requests over all runs.
    pub errors: u64,
    /// Peak resident memory (VmHWM) of the server after the runs, in KiB:
    /// the sum over its processes.
    pub peak_rss_kib: u64,
    /// CPU time of the server's processes in the run of median total.
    pub cpu: CpuSeconds,
    /// CPU time of the load tool in that same run.
    #[serde(default)]
    pub load_cpu: Option<CpuSeconds>,
    /// The median over the runs of the server's CPU per request, in
    /// microseconds (none where the rate means nothing: idle).
    #[serde(default)]
    pub server_us_per_request: Option<f64>,
    /// The median over the runs of the load tool's CPU per request, in
    /// microseconds. On loopback the receiver's TCP work runs in the
    /// sender's system call: read beside the server's.
    #[serde(default)]
    pub load_us_per_request: Option<f64>,
    /// The server's worker processes: 1, or N for prefork_server-N and
    /// nginx-N, which are compared with each other.
    #[serde(default = "one")]
    pub workers: u32,
    /// Whether the server and the load shared every core, unpinned, rather
    /// than a core each ([`crate::setup::placement`]).
    #[serde(default)]
    pub shared_cores: bool,
    /// The server's system calls under one more run of the load, traced
    /// (keep-alive workloads only).
    #[serde(default)]
    pub system_calls: Option<SystemCalls>,
    /// The run whose requests/s is the median.
    pub median_run: LoadResult,
    /// Every run, in order (empty when converted from a file that kept the
    /// median only).
    pub runs: Vec<Run>,
    /// Whether the server had died by the end of the runs.
    pub server_died: bool,
}

fn one() -> u32 {
    1
}

impl Row {
    pub fn from_runs(
        workload: &Workload,
        server: Server,
        runs: Vec<Run>,
        peak_rss_kib: u64,
        server_died: bool,
    ) -> Result<Row> {
        let rates: Vec<f64> = runs.iter().map(|run| run.load.requests_per_s).collect();
        let cpu_totals: Vec<f64> = runs.iter().map(|run| run.cpu.total()).collect();
        let median = median_index(&rates).context("a row needs at least one run")?;
        let median_cpu = median_index(&cpu_totals).context("a row needs at least one run")?;
        // Each run's CPU over that run's requests, then the median: the
        // rate and the CPU of the median runs may be different runs.
        let per_request = |cpu: &dyn Fn(&Run) -> Option<CpuSeconds>| {
            let values: Vec<f64> = runs
                .iter()
                .filter_map(|run| cpu(run)?.per_request_us(run.answered()?))
                .collect();
            median_of(&values).filter(|_| workload.rate_is_meaningful())
        };
        let server_us_per_request = per_request(&|run| Some(run.cpu));
        let load_us_per_request = per_request(&|run| run.load_cpu);
        Ok(Row {
            workload: workload.label.clone(),
            server: server.name().to_owned(),
            tool: workload.tool(),
            rate_is_meaningful: workload.rate_is_meaningful(),
            requests_per_s: rates[median],
            vs_nginx: None,
            errors: runs.iter().map(|run| run.load.errors).sum(),
            peak_rss_kib,
            cpu: runs[median_cpu].cpu,
            load_cpu: runs[median_cpu].load_cpu,
            server_us_per_request,
            load_us_per_request,
            workers: server.workers(),
            shared_cores: false,
            system_calls: None,
            median_run: runs[median].load.clone(),
            runs,
            server_died,
        })
    }

    /// The load tool's part of the CPU the run of median CPU used (the
    /// server's and the tool's): where they share the cores, what the load
    /// took from the server.
    pub fn load_share(&self) -> Option<f64> {
        let load = self.load_cpu?.total();
        let both = load + self.cpu.total();
        (both > 0.0).then(|| load / both)
    }

    /// The detail column: what the median run did, in the tool's terms.
    pub fn detail(&self) -> String {
        let run = &self.median_run;
        let mut detail = match (&run.problem, self.tool) {
            (Some(problem), _) => problem.clone(),
            (None, Tool::Loadgen) => format!(
                "{}/{} answered in {:.3}s, p99 {:.3}ms",
                run.answered,
                run.answered + run.errors,
                run.seconds,
                run.p99_ms.unwrap_or(0.0)
            ),
            (None, Tool::Wrk) => match run.p99_ms {
                Some(p99) => format!("{} requests, p99 {p99:.3}ms", run.answered),
                None => format!("{} requests", run.answered),
            },
        };
        if self.server_died {
            detail.push_str("; SERVER DIED");
        }
        detail
    }
}

/// Fills each row's `vs_nginx` from the row of the same workload of the
/// nginx with as many workers (`nginx` for one, `nginx-2` for two).
pub fn compare_with_nginx(rows: &mut [Row]) {
    let nginx: Vec<(String, String, f64)> = rows
        .iter()
        .map(|row| (row.server.clone(), row.workload.clone(), row.requests_per_s))
        .collect();
    for row in rows.iter_mut() {
        let reference = nginx_name(row.workers);
        row.vs_nginx = nginx
            .iter()
            .find(|(server, workload, _)| *server == reference && *workload == row.workload)
            .filter(|(_, _, rate)| *rate > 0.0 && row.rate_is_meaningful)
            .map(|(_, _, rate)| row.requests_per_s / rate);
    }
}

/// One row of the table: `server` fresh, `runs` runs of `workload`
/// against it, and what they measured; with `system_calls`, on a
/// keep-alive workload, one more run against a fresh server under strace.
pub fn row(
    workload: &Workload,
    server: Server,
    setup: &Setup,
    runs: usize,
    system_calls: bool,
) -> Result<Row> {
    let placement = setup.placement(server.workers());
    let mut running = servers::start(server, setup, &placement.server, START_LIMIT)?;
    let root = running.process.pid();
    let tree_ticks = || usage::tree_ticks(&usage::tree_now(root));
    let mut records = Vec::new();
    for _ in 0..runs {
        let before = tree_ticks();
        let load_before = usage::reaped_children_cpu();
        let load = workload.run_once(server, running.port, setup)?;
        let load_cpu = CpuSeconds::since(load_before, usage::reaped_children_cpu());
        // A server that died keeps its last reading: zero for this run.
        let after = Some(tree_ticks()).filter(|ticks| *ticks != Default::default());
        records.push(Run {
            load,
            cpu: CpuSeconds::between(before, after.unwrap_or(before), ticks_per_second()),
            load_cpu: Some(load_cpu),
        });
    }
    // 0 when the server is gone (a zombie has no memory left to report).
    let members = usage::tree_now(root);
    let peak_rss_kib = usage::tree_peak_kib(&members);
    if let Some(warning) = undeclared_workers(server, members.len()) {
        eprintln!("bench: {warning}");
    }
    let server_died = running.process.try_status().is_some();
    running.stop();
    let mut row = Row::from_runs(workload, server, records, peak_rss_kib, server_died)?;
    row.shared_cores = placement.shared;
    if system_calls && workload.counts_system_calls() {
        match syscalls::count(server, workload, setup) {
            Ok(counted) => row.system_calls = Some(counted),
            Err(err) => eprintln!("bench: no system calls of {}: {err:#}", server.name()),
        }
    }
    Ok(row)
}

/// What to say when a course server said to serve from one process runs
/// `processes` after its runs: its stages.toml variant lacks `workers`,
/// and it was pinned to one core and compared with one-worker nginx.
fn undeclared_workers(server: Server, processes: usize) -> Option<String> {
    let declared = matches!(server, Server::Course(..)) && server.single_process();
    (declared && processes > 1).then(|| {
        format!(
            "{} runs {processes} processes, but its bench variant in stages.toml declares no \
             `workers`: it was measured as a one-process server, pinned to one core",
            server.name()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::{EPOLL_EDGE, NGINX, NGINX_2, PREFORK_2};
    use crate::workloads::{parse_wrk, plan, Kind, Settings};

    #[test]
    fn the_median_is_the_middle_one_or_the_lower_middle() {
        assert_eq!(median_index(&[3.0, 1.0, 2.0]), Some(2));
        assert_eq!(median_index(&[5.0, 1.0]), Some(1));
        assert_eq!(median_index(&[7.0]), Some(0));
        assert_eq!(median_index(&[]), None);
    }

    fn keep_alive() -> Workload {
        plan(&Settings::smoke(), &[Kind::KeepAlive], &[Server::nginx()]).remove(0)
    }

    /// A run of `answered` requests using `server` and `load` CPU seconds.
    fn run(answered: u64, server: f64, load: Option<f64>) -> Run {
        let wrk = parse_wrk(include_str!("../samples/wrk-small.txt")).unwrap();
        let seconds = |total| CpuSeconds {
            user: 0.0,
            system: total,
        };
        Run {
            load: LoadResult {
                answered,
                requests_per_s: answered as f64,
                ..wrk
            },
            cpu: seconds(server),
            load_cpu: load.map(seconds),
        }
    }

    #[test]
    fn cpu_per_request_is_the_median_of_each_run_s() {
        // 5 s over 250,000 requests is 20 us; 4 s over 100,000, 40 us;
        // 3 s over 200,000, 15 us: the median is 20 us, from another run
        // than the one of median CPU (4 s).
        let runs = vec![
            run(250_000, 5.0, Some(2.5)),
            run(100_000, 4.0, Some(1.0)),
            run(200_000, 3.0, Some(4.0)),
        ];
        let row = Row::from_runs(&keep_alive(), Server::nginx(), runs, 1, false).unwrap();
        assert_eq!(row.server_us_per_request, Some(20.0));
        assert_eq!(row.load_us_per_request, Some(10.0));
        assert_eq!(row.cpu.total(), 4.0);
        // In the run of median CPU: 1 s of the load tool's against 4 s.
        assert_eq!(row.load_share(), Some(0.2));
        assert_eq!(row.workers, 1);
    }

    #[test]
    fn a_run_that_failed_or_answered_nothing_has_no_cpu_per_request() {
        let mut failed = run(100, 1.0, Some(1.0));
        failed.load.problem = Some("wrk did not finish".into());
        let runs = vec![failed, run(0, 1.0, None)];
        let row = Row::from_runs(&keep_alive(), Server::nginx(), runs, 1, false).unwrap();
        assert_eq!(row.server_us_per_request, None);
        assert_eq!(row.load_us_per_request, None);
    }

    fn rate(server: &str, workers: u32, requests_per_s: f64) -> Row {
        let mut row = Row::from_runs(
            &keep_alive(),
            Server::nginx(),
            vec![run(1, 1.0, None)],
            1,
            false,
        )
        .unwrap();
        row.server = server.into();
        row.workers = workers;
        row.requests_per_s = requests_per_s;
        row
    }

    #[test]
    fn each_server_is_compared_with_nginx_of_as_many_workers() {
        let mut rows = vec![
            rate(EPOLL_EDGE, 1, 80_000.0),
            rate(PREFORK_2, 2, 120_000.0),
            rate(NGINX, 1, 50_000.0),
            rate(NGINX_2, 2, 80_000.0),
        ];
        compare_with_nginx(&mut rows);
        let ratios: Vec<Option<f64>> = rows.iter().map(|row| row.vs_nginx).collect();
        assert_eq!(ratios, [Some(1.6), Some(1.5), Some(1.0), Some(1.0)]);
        // Without nginx of two workers, no ratio for the two-worker server.
        let mut rows = vec![rate(PREFORK_2, 2, 120_000.0), rate(NGINX, 1, 50_000.0)];
        compare_with_nginx(&mut rows);
        assert_eq!(rows[0].vs_nginx, None);
    }

    #[test]
    fn a_course_server_of_several_processes_must_say_so() {
        use crate::servers::tests::{named, with_issue_18};
        let servers = with_issue_18();
        let warning = undeclared_workers(named(&servers, EPOLL_EDGE), 3).unwrap();
        assert!(
            warning.starts_with("epoll_server-edge runs 3 processes, but its bench variant"),
            "{warning}"
        );
        assert_eq!(undeclared_workers(named(&servers, EPOLL_EDGE), 1), None);
        // Declared, forking, or nginx: nothing to say.
        for name in [PREFORK_2, "webserver3g", NGINX, NGINX_2] {
            assert_eq!(undeclared_workers(named(&servers, name), 3), None, "{name}");
        }
    }
}
