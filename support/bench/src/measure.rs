//! What is measured besides the load tool's figures, all from /proc: the
//! CPU time of the measured process (`/proc/PID/stat`), its peak resident
//! memory (`/proc/PID/status`); and one row of the table: a fresh server,
//! a few runs, the median.

use std::fs;

use anyhow::{bail, Context, Result};
use nix::unistd::{sysconf, SysconfVar};
use serde::{Deserialize, Serialize};

use crate::report::{Row, Run};
use crate::servers::{self, Server, START_LIMIT};
use crate::setup::Setup;
use crate::workloads::Workload;

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

/// The fields of a `/proc/PID/stat` line after the command name, which is
/// in parentheses and may itself hold spaces and parentheses.
fn fields_after_name(stat: &str) -> Option<Vec<&str>> {
    let (_, after) = stat.rsplit_once(") ")?;
    Some(after.split_whitespace().collect())
}

/// utime, stime, cutime, cstime: fields 14 to 17 of the line (proc(5)),
/// so 11 to 14 of what follows the name (which is field 2; state is 3).
pub fn parse_stat_cpu(stat: &str) -> Result<CpuTicks> {
    let fields = fields_after_name(stat).context("no command name in /proc/PID/stat")?;
    let field = |index: usize| -> Result<u64> {
        let text = fields.get(index).context("/proc/PID/stat is too short")?;
        text.parse()
            .with_context(|| format!("/proc/PID/stat field {text:?} is not a number"))
    };
    Ok(CpuTicks {
        user: field(11)? + field(13)?,
        system: field(12)? + field(14)?,
    })
}

/// The command name (field 2) and the parent's PID (field 4).
pub fn parse_stat_parent(stat: &str) -> Option<(String, u32)> {
    let (before, _) = stat.rsplit_once(") ")?;
    let (_, name) = before.split_once(" (")?;
    let parent = fields_after_name(stat)?.get(1)?.parse().ok()?;
    Some((name.to_owned(), parent))
}

/// VmHWM, the peak resident set, in KiB.
pub fn parse_peak_rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

pub fn cpu_ticks(pid: u32) -> Result<CpuTicks> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    parse_stat_cpu(&stat)
}

/// 0 when the process is gone (a zombie has no memory left to report).
pub fn peak_rss_kib(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| parse_peak_rss_kib(&status))
        .unwrap_or(0)
}

/// The children of `pid` now, with their command names.
pub fn children_of(pid: u32) -> Vec<(u32, String)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: Vec<(u32, String)> = entries
        .flatten()
        .filter_map(|entry| {
            let child: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
            let (name, parent) = parse_stat_parent(&stat)?;
            (parent == pid).then_some((child, name))
        })
        .collect();
    children.sort();
    children
}

/// Clock ticks per second, the unit of /proc/PID/stat's times.
pub fn clock_ticks_per_second() -> Result<u64> {
    match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => Ok(ticks as u64),
        _ => bail!("sysconf(_SC_CLK_TCK) gave no clock tick rate"),
    }
}

/// The index of the median of `values` (the lower one of an even count),
/// `None` when there are none.
pub fn median_index(values: &[f64]) -> Option<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order.get(values.len().saturating_sub(1) / 2).copied()
}

/// One row of the table: `server` fresh, `runs` runs of `workload`
/// against it, and what they measured.
pub fn row(workload: &Workload, server: Server, setup: &Setup, runs: usize) -> Result<Row> {
    let ticks_per_second = clock_ticks_per_second()?;
    let running = servers::start(server, setup, &setup.pin_server, START_LIMIT)?;
    let pid = running.measured_pid;
    let mut records = Vec::new();
    for _ in 0..runs {
        let before = cpu_ticks(pid).unwrap_or_default();
        let load = workload.run_once(server, running.port, setup)?;
        // A server that died keeps its last reading: zero for this run.
        let after = cpu_ticks(pid).unwrap_or(before);
        records.push(Run {
            load,
            cpu: CpuSeconds::between(before, after, ticks_per_second),
        });
    }
    let peak_rss_kib = peak_rss_kib(pid);
    let mut running = running;
    let server_died = running.process.has_exited();
    running.stop();
    Row::from_runs(workload, server, records, peak_rss_kib, server_died)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real /proc/PID/stat of nginx's worker, with a name that has a
    /// space and a parenthesis put in, as a process may name itself.
    const STAT: &str = "4242 (nginx: w) x) S 4241 4241 4241 0 -1 4194624 1043 0 0 0 \
                        57 437 3 9 20 0 1 0 815276 11628544 2741 18446744073709551615";

    #[test]
    fn cpu_ticks_add_the_reaped_children() {
        assert_eq!(
            parse_stat_cpu(STAT).unwrap(),
            CpuTicks {
                user: 57 + 3,
                system: 437 + 9
            }
        );
        assert!(parse_stat_cpu("4242 (short) S 1 2").is_err());
    }

    #[test]
    fn the_parent_and_the_name() {
        assert_eq!(
            parse_stat_parent(STAT),
            Some(("nginx: w) x".to_owned(), 4241))
        );
    }

    #[test]
    fn peak_rss_from_status() {
        let status =
            "Name:\tepoll_server\nVmPeak:\t    5020 kB\nVmHWM:\t    6144 kB\nVmRSS:\t    6000 kB\n";
        assert_eq!(parse_peak_rss_kib(status), Some(6144));
        assert_eq!(parse_peak_rss_kib("Name:\tzombie\n"), None);
    }

    #[test]
    fn this_process_reads_like_any_other() {
        let me = std::process::id();
        assert!(peak_rss_kib(me) > 0);
        cpu_ticks(me).unwrap();
        assert!(clock_ticks_per_second().unwrap() >= 1);
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
