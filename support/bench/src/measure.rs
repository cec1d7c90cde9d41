//! One row of the table: a fresh server, a few runs of a workload, the
//! median; and what is measured besides the load tool's figures, from
//! /proc (read with `procfs`, through testkit where it has the reading):
//! the CPU time of the measured process, its peak resident memory.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use testkit::procs::{peak_resident_kib, ticks_per_second};

use crate::servers::{self, Server, START_LIMIT};
use crate::setup::Setup;
use crate::workloads::{LoadResult, Tool, Workload};

/// CPU time in clock ticks, each counting the process's own and that of
/// the children it has reaped (cutime, cstime): that is where the work of
/// a forking server's children shows up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTicks {
    /// utime + cutime.
    pub user: u64,
    /// stime + cstime.
    pub system: u64,
}

/// CPU time in seconds, over one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuSeconds {
    /// In user space.
    pub user: f64,
    /// In the kernel, on the process's behalf (system calls, mostly).
    pub system: f64,
}

impl CpuSeconds {
    pub fn total(self) -> f64 {
        self.user + self.system
    }

    /// The time spent between two readings.
    pub fn between(before: CpuTicks, after: CpuTicks, ticks_per_second: u64) -> CpuSeconds {
        let seconds = |ticks: u64| ticks as f64 / ticks_per_second as f64;
        CpuSeconds {
            user: seconds(after.user.saturating_sub(before.user)),
            system: seconds(after.system.saturating_sub(before.system)),
        }
    }
}

/// A process's CPU time so far with that of its reaped children, which
/// testkit's `cpu_ticks` leaves out; `None` once it is gone.
pub fn cpu_ticks(pid: i32) -> Option<CpuTicks> {
    let stat = procfs::process::Process::new(pid).ok()?.stat().ok()?;
    Some(CpuTicks {
        user: stat.utime + stat.cutime.max(0) as u64,
        system: stat.stime + stat.cstime.max(0) as u64,
    })
}

/// The index of the median of `values` (the lower one of an even count),
/// `None` when there are none.
pub fn median_index(values: &[f64]) -> Option<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order.get(values.len().saturating_sub(1) / 2).copied()
}

/// One run of a load against a server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// What the load tool measured.
    pub load: LoadResult,
    /// CPU time of the measured process during the run.
    pub cpu: CpuSeconds,
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
    /// Peak resident memory (VmHWM) of the measured process after the
    /// runs, in KiB.
    pub peak_rss_kib: u64,
    /// CPU time of the measured process in the run of median total.
    pub cpu: CpuSeconds,
    /// The run whose requests/s is the median.
    pub median_run: LoadResult,
    /// Every run, in order (empty when converted from a file that kept the
    /// median only).
    pub runs: Vec<Run>,
    /// Whether the server had died by the end of the runs.
    pub server_died: bool,
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
            median_run: runs[median].load.clone(),
            runs,
            server_died,
        })
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

/// Fills each row's `vs_nginx` from nginx's row of the same workload.
pub fn compare_with_nginx(rows: &mut [Row]) {
    let nginx: Vec<(String, f64)> = rows
        .iter()
        .filter(|row| row.server == servers::NGINX)
        .map(|row| (row.workload.clone(), row.requests_per_s))
        .collect();
    for row in rows.iter_mut() {
        row.vs_nginx = nginx
            .iter()
            .find(|(workload, _)| *workload == row.workload)
            .filter(|(_, rate)| *rate > 0.0 && row.rate_is_meaningful)
            .map(|(_, rate)| row.requests_per_s / rate);
    }
}

/// One row of the table: `server` fresh, `runs` runs of `workload`
/// against it, and what they measured.
pub fn row(workload: &Workload, server: Server, setup: &Setup, runs: usize) -> Result<Row> {
    let mut running = servers::start(server, setup, &setup.pin_server, START_LIMIT)?;
    let pid = running.measured_pid;
    let mut records = Vec::new();
    for _ in 0..runs {
        let before = cpu_ticks(pid).unwrap_or_default();
        let load = workload.run_once(server, running.port, setup)?;
        // A server that died keeps its last reading: zero for this run.
        let after = cpu_ticks(pid).unwrap_or(before);
        records.push(Run {
            load,
            cpu: CpuSeconds::between(before, after, ticks_per_second()),
        });
    }
    // 0 when the process is gone (a zombie has no memory left to report).
    let peak_rss_kib = peak_resident_kib(pid).unwrap_or(0);
    let server_died = running.process.try_status().is_some();
    running.stop();
    Row::from_runs(workload, server, records, peak_rss_kib, server_died)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_reads_like_any_other() {
        let me = std::process::id() as i32;
        assert!(cpu_ticks(me).is_some());
        assert_eq!(cpu_ticks(i32::MAX), None);
    }

    #[test]
    fn cpu_seconds_between_two_readings() {
        let before = CpuTicks {
            user: 10,
            system: 20,
        };
        let after = CpuTicks {
            user: 60,
            system: 420,
        };
        let seconds = CpuSeconds::between(before, after, 100);
        assert_eq!(
            seconds,
            CpuSeconds {
                user: 0.5,
                system: 4.0
            }
        );
        assert_eq!(seconds.total(), 4.5);
    }

    #[test]
    fn the_median_is_the_middle_one_or_the_lower_middle() {
        assert_eq!(median_index(&[3.0, 1.0, 2.0]), Some(2));
        assert_eq!(median_index(&[5.0, 1.0]), Some(1));
        assert_eq!(median_index(&[7.0]), Some(0));
        assert_eq!(median_index(&[]), None);
    }
}
