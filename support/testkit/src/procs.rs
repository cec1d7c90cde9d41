//! What `/proc` says of processes and sockets, read with the `procfs`
//! crate: the one `/proc` reader of the tests, `cargo ex`, replay and the
//! benchmark. Every reading is of a moment: a process may be gone by the
//! next line, so a failed read is an absence (`None`, empty), not an error.

use std::time::Duration;

use procfs::net::TcpState;
use procfs::process::{all_processes, Process, Stat};

/// A process and its state letter (`R`, `S`, `T` when stopped, `Z` for a
/// zombie: exited, never waited for, `<defunct>` in `ps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessState {
    /// Its PID.
    pub pid: i32,
    /// The state letter of `/proc/PID/stat`.
    pub state: char,
}

/// Every process's `stat` that can still be read.
fn all_stats() -> impl Iterator<Item = Stat> {
    all_processes()
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|process| process.stat().ok())
}

/// A process's place in the process tree and what it has used so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessUsage {
    /// Its PID.
    pub pid: i32,
    /// Its parent's PID.
    pub ppid: i32,
    /// CPU in user mode, clock ticks: its own and its reaped children's.
    pub user_ticks: u64,
    /// CPU in the kernel, clock ticks: its own and its reaped children's.
    pub system_ticks: u64,
    /// Its peak resident memory (`VmHWM`), KiB; 0 if unknown.
    pub peak_kib: u64,
}

/// Every process `/proc` can read now, with what it has used.
pub fn process_usages() -> Vec<ProcessUsage> {
    all_processes()
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|process| {
            let stat = process.stat().ok()?;
            let peak_kib = process
                .status()
                .ok()
                .and_then(|status| status.vmhwm)
                .unwrap_or(0);
            Some(ProcessUsage {
                pid: stat.pid,
                ppid: stat.ppid,
                user_ticks: stat.utime + stat.cutime.max(0) as u64,
                system_ticks: stat.stime + stat.cstime.max(0) as u64,
                peak_kib,
            })
        })
        .collect()
}

/// The name of process `pid` (its `comm`: the program's first 15 bytes).
pub fn process_name(pid: i32) -> Option<String> {
    Process::new(pid)
        .and_then(|process| process.stat())
        .ok()
        .map(|stat| stat.comm)
}

/// The processes whose parent is `parent`, by PID.
pub fn children_of(parent: i32) -> Vec<ProcessState> {
    let mut children: Vec<ProcessState> = all_stats()
        .filter(|stat| stat.ppid == parent)
        .map(|stat| ProcessState {
            pid: stat.pid,
            state: stat.state,
        })
        .collect();
    children.sort_by_key(|child| child.pid);
    children
}

/// The processes whose parent is `parent`, with their command names
/// (`comm`), by PID.
pub fn children_named(parent: i32) -> Vec<(i32, String)> {
    let mut children: Vec<(i32, String)> = all_stats()
        .filter(|stat| stat.ppid == parent)
        .map(|stat| (stat.pid, stat.comm))
        .collect();
    children.sort();
    children
}

/// A process's state letter, if it still exists.
pub fn process_state(pid: i32) -> Option<char> {
    Some(Process::new(pid).ok()?.stat().ok()?.state)
}

/// A process's CPU time so far, in clock ticks: (user, system).
pub fn cpu_ticks(pid: i32) -> Option<(u64, u64)> {
    let stat = Process::new(pid).ok()?.stat().ok()?;
    Some((stat.utime, stat.stime))
}

/// How many clock ticks make a second (`getconf CLK_TCK`).
pub fn ticks_per_second() -> u64 {
    procfs::ticks_per_second()
}

/// The CPU time (user and system) a process has used so far.
pub fn cpu_time(pid: i32) -> Option<Duration> {
    let (user, system) = cpu_ticks(pid)?;
    Some(Duration::from_secs_f64(
        (user + system) as f64 / ticks_per_second() as f64,
    ))
}

/// A process's resident memory now (`VmRSS`), in bytes.
pub fn resident_memory(pid: i32) -> Option<u64> {
    Some(Process::new(pid).ok()?.status().ok()?.vmrss? * 1024)
}

/// The most resident memory a process has had (`VmHWM`), in KiB.
pub fn peak_resident_kib(pid: i32) -> Option<u64> {
    Process::new(pid).ok()?.status().ok()?.vmhwm
}

/// How many tasks (processes and their threads, as RLIMIT_NPROC counts
/// them) the user `uid` has now.
pub fn tasks_of_user(uid: u32) -> u64 {
    all_processes()
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|process| process.status().ok())
        .filter(|status| status.ruid == uid)
        .map(|status| status.threads)
        .sum()
}

/// How many of the user `uid`'s processes are zombies: exited, and not yet
/// reaped by their parent (an orphan's parent is init, which reaps it when
/// it gets to it).
pub fn zombies_of_user(uid: u32) -> usize {
    all_processes()
        .into_iter()
        .flatten()
        .flatten()
        .filter(|process| process.uid().ok() == Some(uid))
        .filter_map(|process| process.stat().ok())
        .filter(|stat| stat.state == 'Z')
        .count()
}

/// A process's open descriptors and what each links to (`socket:[INODE]`,
/// `anon_inode:[eventpoll]`, a path), by number, from `/proc/PID/fd`.
pub fn descriptors(pid: i32) -> Vec<(i32, String)> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let mut found: Vec<(i32, String)> = entries
        .flatten()
        .filter_map(|entry| {
            let number = entry.file_name().to_str()?.parse().ok()?;
            let link = std::fs::read_link(entry.path()).ok()?;
            Some((number, link.to_string_lossy().into_owned()))
        })
        .collect();
    found.sort();
    found
}

/// The descriptors of a process whose link starts with `prefix`, by number.
pub fn descriptors_linked(pid: i32, prefix: &str) -> Vec<i32> {
    descriptors(pid)
        .into_iter()
        .filter(|(_, link)| link.starts_with(prefix))
        .map(|(number, _)| number)
        .collect()
}

/// The inodes of the sockets a process holds.
pub fn socket_inodes(pid: i32) -> Vec<u64> {
    descriptors(pid)
        .iter()
        .filter_map(|(_, link)| {
            link.strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

/// The inode of the socket listening on TCP `port` (IPv4).
pub fn listening_inode(port: u16) -> Option<u64> {
    let sockets = procfs::net::tcp().ok()?;
    sockets
        .iter()
        .find(|socket| socket.state == TcpState::Listen && socket.local_address.port() == port)
        .map(|socket| socket.inode)
}

/// The inodes of every socket listening on TCP `port` (IPv4): more than
/// one when they share the port with SO_REUSEPORT.
pub fn listening_inodes(port: u16) -> Vec<u64> {
    let sockets = procfs::net::tcp().unwrap_or_default();
    sockets
        .iter()
        .filter(|socket| socket.state == TcpState::Listen && socket.local_address.port() == port)
        .map(|socket| socket.inode)
        .collect()
}

/// Whether a TCP socket listens on `port` (IPv4).
pub fn listening(port: u16) -> bool {
    !listening_addresses(port).is_empty()
}

/// The IPv4 addresses that sockets listen on at `port` (`0.0.0.0`: every
/// interface).
pub fn listening_addresses(port: u16) -> Vec<std::net::IpAddr> {
    let sockets = procfs::net::tcp().unwrap_or_default();
    sockets
        .iter()
        .filter(|socket| socket.state == TcpState::Listen && socket.local_address.port() == port)
        .map(|socket| socket.local_address.ip())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn finds_its_own_children_and_their_state() {
        let mut child = Command::new("sleep").arg("5").spawn().unwrap();
        let me = std::process::id() as i32;
        let found = children_of(me).iter().any(|c| c.pid == child.id() as i32);
        let named = children_named(me)
            .iter()
            .any(|(pid, name)| *pid == child.id() as i32 && name == "sleep");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found && named);
    }

    #[test]
    fn reads_its_own_usage_and_a_listening_socket() {
        let me = std::process::id() as i32;
        assert!(cpu_time(me).is_some());
        assert!(resident_memory(me).unwrap() > 0);
        assert!(peak_resident_kib(me).unwrap() > 0);
        assert!(tasks_of_user(nix::unistd::getuid().as_raw()) >= 1);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(listening(port));
        let inode = listening_inode(port).expect("its inode");
        assert_eq!(listening_inodes(port), [inode]);
        assert!(
            socket_inodes(me).contains(&inode),
            "the listener among our sockets"
        );
        assert!(!descriptors_linked(me, "socket:").is_empty());
        drop(listener);
        // Gone from the table: another socket may take the freed port at
        // once (tests run in parallel), but not with this socket's inode.
        assert_ne!(listening_inode(port), Some(inode));
    }
}
