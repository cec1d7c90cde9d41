//! What a server and a load tool use: CPU time and peak memory.
//!
//! A server is measured as its whole process tree: the process bench
//! started and every descendant alive at the reading (nginx's master and
//! workers, prefork_server's master and workers), each with the time of
//! the children it has reaped (a forking server's finished children). A
//! process that exits between two readings is not lost: its time moves to
//! its parent's `cutime` and `cstime` when it is reaped. Read from
//! `/proc/PID/stat` and `status` through `testkit::procs`.
//!
//! A load tool is measured once it has exited and been reaped: its time is
//! then in bench's own `getrusage(RUSAGE_CHILDREN)`, and the difference
//! over one run is the tool's, since bench reaps nothing else meanwhile.

use std::collections::BTreeMap;

use nix::sys::resource::{getrusage, UsageWho};
use serde::{Deserialize, Serialize};

/// CPU time in clock ticks, each counting the processes' own and that of
/// the children they have reaped (cutime, cstime).
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

    /// The time spent between two readings in ticks.
    pub fn between(before: CpuTicks, after: CpuTicks, ticks_per_second: u64) -> CpuSeconds {
        let seconds = |ticks: u64| ticks as f64 / ticks_per_second as f64;
        CpuSeconds {
            user: seconds(after.user.saturating_sub(before.user)),
            system: seconds(after.system.saturating_sub(before.system)),
        }
    }

    /// The time spent between two readings in seconds (never negative).
    pub fn since(before: CpuSeconds, after: CpuSeconds) -> CpuSeconds {
        CpuSeconds {
            user: (after.user - before.user).max(0.0),
            system: (after.system - before.system).max(0.0),
        }
    }

    /// Microseconds of CPU per request, `None` when nothing was answered.
    pub fn per_request_us(self, requests: u64) -> Option<f64> {
        (requests > 0).then(|| self.total() * 1e6 / requests as f64)
    }
}

/// One process as `/proc` showed it at one moment: what a tree is summed
/// from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Process {
    /// Its PID.
    pub pid: i32,
    /// Its parent's PID.
    pub ppid: i32,
    /// Its CPU time and its reaped children's.
    pub ticks: CpuTicks,
    /// Its peak resident memory (VmHWM), KiB; 0 when unknown (a zombie).
    pub peak_kib: u64,
}

/// `root` and its descendants among `processes`, root first, each once;
/// empty when `root` is not among them (it has exited).
pub fn tree(root: i32, processes: &[Process]) -> Vec<Process> {
    let mut children: BTreeMap<i32, Vec<&Process>> = BTreeMap::new();
    for process in processes {
        children.entry(process.ppid).or_default().push(process);
    }
    let Some(first) = processes.iter().find(|process| process.pid == root) else {
        return Vec::new();
    };
    let mut members = vec![*first];
    let mut next = 0;
    while let Some(&parent) = members.get(next) {
        for child in children.get(&parent.pid).into_iter().flatten() {
            // A PID seen twice (a reading taken as processes come and go)
            // is counted once.
            if child.pid != root && !members.iter().any(|member| member.pid == child.pid) {
                members.push(**child);
            }
        }
        next += 1;
    }
    members
}

/// The CPU time of a tree: its members' own and their reaped children's.
pub fn tree_ticks(members: &[Process]) -> CpuTicks {
    members
        .iter()
        .fold(CpuTicks::default(), |sum, process| CpuTicks {
            user: sum.user + process.ticks.user,
            system: sum.system + process.ticks.system,
        })
}

/// The peak resident memory of a tree: its members' peaks summed, KiB.
/// Each process's peak may come at another moment, and pages shared
/// between them (the program's code, the libraries) count in each: the sum
/// is an upper bound of what the tree held at once.
pub fn tree_peak_kib(members: &[Process]) -> u64 {
    members.iter().map(|process| process.peak_kib).sum()
}

/// Every process `/proc` can read now (testkit::procs reads it).
pub fn processes() -> Vec<Process> {
    testkit::procs::process_usages()
        .into_iter()
        .map(|usage| Process {
            pid: usage.pid,
            ppid: usage.ppid,
            ticks: CpuTicks {
                user: usage.user_ticks,
                system: usage.system_ticks,
            },
            peak_kib: usage.peak_kib,
        })
        .collect()
}

/// The tree of `root` now; empty once `root` is gone.
pub fn tree_now(root: i32) -> Vec<Process> {
    tree(root, &processes())
}

/// The CPU time of bench's children that have exited and been reaped.
pub fn reaped_children_cpu() -> CpuSeconds {
    let Ok(usage) = getrusage(UsageWho::RUSAGE_CHILDREN) else {
        return CpuSeconds::default();
    };
    let seconds =
        |time: nix::sys::time::TimeVal| time.tv_sec() as f64 + time.tv_usec() as f64 / 1_000_000.0;
    CpuSeconds {
        user: seconds(usage.user_time()),
        system: seconds(usage.system_time()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: i32, ppid: i32, user: u64, system: u64, peak_kib: u64) -> Process {
        Process {
            pid,
            ppid,
            ticks: CpuTicks { user, system },
            peak_kib,
        }
    }

    #[test]
    fn a_tree_is_the_root_and_every_descendant_and_nothing_else() {
        let processes = [
            process(1, 0, 1000, 1000, 9000),
            // nginx: a master (10), two workers (11, 12).
            process(10, 1, 1, 2, 1500),
            process(11, 10, 300, 400, 10_000),
            process(12, 10, 200, 500, 9_000),
            // A grandchild (a forking server's child of a worker).
            process(13, 12, 5, 5, 2000),
            // Another server beside it, and the load tool.
            process(20, 1, 70, 80, 3000),
            process(21, 20, 7, 8, 3000),
        ];
        let pids = |members: Vec<Process>| -> Vec<i32> {
            members.iter().map(|process| process.pid).collect()
        };
        assert_eq!(pids(tree(10, &processes)), [10, 11, 12, 13]);
        assert_eq!(pids(tree(12, &processes)), [12, 13]);
        assert_eq!(pids(tree(21, &processes)), [21]);
        assert!(tree(99, &processes).is_empty());
        let members = tree(10, &processes);
        assert_eq!(
            tree_ticks(&members),
            CpuTicks {
                user: 506,
                system: 907
            }
        );
        assert_eq!(tree_peak_kib(&members), 22_500);
    }

    #[test]
    fn a_pid_listed_twice_or_a_loop_counts_once() {
        // /proc read while processes come and go may list one twice; a
        // parent link back to the root must not loop.
        let processes = [
            process(10, 1, 1, 1, 100),
            process(11, 10, 2, 2, 100),
            process(11, 10, 2, 2, 100),
            process(10, 11, 1, 1, 100),
        ];
        let members = tree(10, &processes);
        assert_eq!(members.len(), 2);
        assert_eq!(tree_ticks(&members), CpuTicks { user: 3, system: 3 });
    }

    #[test]
    fn this_process_is_a_tree_of_its_own() {
        let me = std::process::id() as i32;
        let members = tree_now(me);
        assert_eq!(members.first().map(|process| process.pid), Some(me));
        assert!(tree_peak_kib(&members) > 0);
        assert!(tree_now(i32::MAX).is_empty());
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
        let later = CpuSeconds {
            user: 1.25,
            system: 4.0,
        };
        assert_eq!(
            CpuSeconds::since(seconds, later),
            CpuSeconds {
                user: 0.75,
                system: 0.0
            }
        );
    }

    #[test]
    fn cpu_per_request_in_microseconds() {
        let cpu = CpuSeconds {
            user: 1.0,
            system: 4.0,
        };
        assert_eq!(cpu.per_request_us(250_000), Some(20.0));
        assert_eq!(cpu.per_request_us(0), None);
    }

    #[test]
    fn a_reaped_child_s_time_shows_in_getrusage() {
        let before = reaped_children_cpu();
        // A child that burns some CPU, then is reaped by `output`.
        std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"])
            .output()
            .unwrap();
        let spent = CpuSeconds::since(before, reaped_children_cpu());
        assert!(spent.total() > 0.0, "{spent:?}");
    }
}
