//! What a process uses, as `/proc` shows it, and the descriptor limit of
//! the test process itself.

use std::fs;
use std::time::Duration;

use nix::sys::resource::{getrlimit, setrlimit, Resource};

use crate::proc_fs::fields_after_name;

/// Raises this test process's soft RLIMIT_NOFILE to its hard limit, as
/// `ulimit -n $(ulimit -Hn)` would, and returns the new soft limit.
/// Servers started afterwards inherit it. Only ever raises, so tests running
/// in parallel cannot hurt each other with it.
pub fn raise_open_file_limit() -> u64 {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit RLIMIT_NOFILE");
    // RLIM_INFINITY is refused for descriptors (the kernel caps them at
    // fs.nr_open); a million is more than any test needs.
    let wanted = hard.min(1 << 20);
    if wanted > soft {
        setrlimit(Resource::RLIMIT_NOFILE, wanted, hard).expect("setrlimit RLIMIT_NOFILE");
    }
    wanted.max(soft)
}

/// The CPU time `pid` has used so far, user and system together: fields
/// 14 and 15 of `/proc/PID/stat`, in clock ticks of 1/100 s (USER_HZ, the
/// same on every Linux architecture).
pub fn cpu_time(pid: i32) -> Option<Duration> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // State is the 3rd field of the line, the first after the name, so
    // utime (14th) is the 12th after the name.
    let mut fields = fields_after_name(&stat)?.skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

/// The resident memory of `pid` in bytes: `VmRSS` of `/proc/PID/status`.
pub fn resident_memory(pid: i32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kibibytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kibibytes * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_usage() {
        let me = std::process::id() as i32;
        assert!(cpu_time(me).is_some());
        assert!(resident_memory(me).unwrap() > 0);
    }
}
