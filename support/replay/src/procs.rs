//! The processes replay starts: servers (read line by line as they print)
//! and shell commands (run to the end, or in the background). Each one is
//! started in a process group of its own, and dropping its handle kills
//! that group by its id (the process, and everything it forked) and waits
//! for it. Every wait has a deadline. Nothing here looks for processes by
//! name.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::resource::{setrlimit, Resource};
use nix::sys::signal::{killpg, SigSet, Signal};
use nix::unistd::{setgid, setgroups, setuid, Gid, Pid, Uid};

/// The process groups running now, by id, so that a Ctrl-C can kill them.
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Makes Ctrl-C (SIGINT), SIGTERM and SIGHUP kill every process group
/// replay started before replay exits: those groups are not the terminal's
/// foreground group, so the terminal's Ctrl-C does not reach them. The
/// signals are blocked in every thread and taken by one that waits for
/// them; the children unblock them before exec (see [`Running::start`]).
pub fn stop_everything_on_interrupt(scratch: PathBuf) {
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGHUP);
    if signals.thread_block().is_err() {
        return;
    }
    thread::spawn(move || {
        let signal = signals.wait().unwrap_or(Signal::SIGINT);
        for group in GROUPS.lock().unwrap().iter() {
            let _ = killpg(Pid::from_raw(*group), Signal::SIGKILL);
        }
        let _ = std::fs::remove_dir_all(&scratch);
        eprintln!("replay: stopped by {signal}; killed the processes it had started");
        std::process::exit(128 + signal as i32);
    });
}

/// How long any one step may take before replay gives up on it.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// Limits and identity for a process about to start.
#[derive(Default, Clone, Copy)]
pub struct Limits {
    /// RLIMIT_NOFILE, soft and hard (`ulimit -n`).
    pub open_files: Option<u64>,
    /// RLIMIT_NPROC, soft and hard (`ulimit -u`).
    pub processes: Option<u64>,
    /// Run as this user and group (setpriv --reuid --regid --clear-groups).
    pub user: Option<(Uid, Gid)>,
}

/// A command in its own process group, with its stdout and stderr going
/// into one pipe (as in a terminal), read by a thread into `lines`.
pub struct Running {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<thread::JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl Running {
    /// Starts `command` (already given its program, arguments, environment
    /// and directory) under `limits`.
    pub fn start(mut command: Command, limits: Limits) -> Result<Running> {
        let (read_end, write_end) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
        let write_copy = write_end.try_clone().context("dup")?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(write_end))
            .stderr(Stdio::from(write_copy))
            .process_group(0);
        // SAFETY: the closure runs in the forked child before exec; it makes
        // only single system calls that allocate nothing. The signals replay
        // blocks for itself (see `stop_everything_on_interrupt`) are
        // unblocked, so that the child starts as from a shell; the limits
        // are set while still root, the group before the user.
        unsafe {
            command.pre_exec(move || {
                SigSet::all().thread_unblock()?;
                if let Some(limit) = limits.open_files {
                    setrlimit(Resource::RLIMIT_NOFILE, limit, limit)?;
                }
                if let Some(limit) = limits.processes {
                    setrlimit(Resource::RLIMIT_NPROC, limit, limit)?;
                }
                if let Some((uid, gid)) = limits.user {
                    setgroups(&[])?;
                    setgid(gid)?;
                    setuid(uid)?;
                }
                Ok(())
            });
        }
        let program = command.get_program().to_string_lossy().into_owned();
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {program}"))?;
        drop(command); // closes the parent's copies of the pipe's write end
        GROUPS.lock().unwrap().push(child.id() as i32);
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let reader = thread::spawn(move || {
            let mut reader = BufReader::new(std::fs::File::from(read_end));
            let mut buffer = Vec::new();
            loop {
                buffer.clear();
                match reader.read_until(b'\n', &mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&buffer);
                        // A request's lines end in CR LF: keep neither.
                        let line = text.strip_suffix('\n').unwrap_or(&text);
                        let line = line.strip_suffix('\r').unwrap_or(line);
                        sink.lock().unwrap().push(line.to_owned());
                    }
                }
            }
        });
        Ok(Running {
            child,
            lines,
            reader: Some(reader),
            status: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every line printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// How many lines have been printed so far: a mark for [`Running::lines_since`].
    pub fn mark(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    pub fn lines_since(&self, mark: usize) -> Vec<String> {
        self.lines.lock().unwrap()[mark..].to_vec()
    }

    /// Waits until `done` holds for the lines printed so far; false after `timeout`.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&[String]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.lines.lock().unwrap()) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to exit, at most `timeout`; then for the end of
    /// its output (every process holding the pipe gone), at most one more second.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while self.status.is_none() {
            match self.child.try_wait() {
                Ok(Some(status)) => self.status = Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => return None,
            }
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.reader.as_ref().is_some_and(|r| !r.is_finished()) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        self.status
    }

    /// Sends `signal` to the process group.
    pub fn signal_group(&self, signal: Signal) {
        let _ = killpg(Pid::from_raw(self.child.id() as i32), signal);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // The group's id is the leader's PID: this kills what replay started
        // and what that forked, nothing else.
        self.signal_group(Signal::SIGKILL);
        let _ = self.child.wait();
        let group = self.child.id() as i32;
        GROUPS.lock().unwrap().retain(|&running| running != group);
        if let Some(reader) = self.reader.take() {
            // Children that left the group could hold the pipe: do not wait forever.
            let deadline = Instant::now() + Duration::from_secs(1);
            while !reader.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// How a command ended, as a shell would say it.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "ended".to_owned(),
    }
}

/// Runs `script` with bash in `directory`, stdout and stderr together, and
/// returns its output and exit code; kills it after `timeout`.
pub fn bash(directory: &Path, script: &str, timeout: Duration) -> Result<(String, Option<i32>)> {
    let mut running = bash_background(directory, script)?;
    let Some(status) = running.wait_exit(timeout) else {
        bail!("`{script}` did not end within {} s", timeout.as_secs());
    };
    let mut text = running.lines().join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    Ok((text, status.code()))
}

/// Starts `script` with bash in `directory`; the caller collects it.
pub fn bash_background(directory: &Path, script: &str) -> Result<Running> {
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(script)
        .current_dir(directory)
        .env("LC_ALL", "C");
    Running::start(command, Limits::default())
}

/// Whether `program` is on the PATH.
pub fn installed(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|directory| {
            let candidate = directory.join(program);
            candidate.is_file()
        })
    })
}

/// The children of `pid`, from /proc: (pid, state letter).
pub fn children_of(pid: u32) -> Vec<(u32, char)> {
    let mut children = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return children;
    };
    for entry in entries.flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(mut file) = std::fs::File::open(entry.path().join("stat")) else {
            continue;
        };
        let mut stat = String::new();
        if file.read_to_string(&mut stat).is_err() {
            continue;
        }
        // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let parent = fields.next().and_then(|p| p.parse::<u32>().ok());
        if parent == Some(pid) {
            children.push((child, state));
        }
    }
    children.sort();
    children
}

/// Marks every descriptor above 2 that replay inherited (cargo's
/// jobserver, a terminal's extras) close-on-exec, so that the servers start
/// with 0, 1 and 2 only, as from a shell, and number their sockets from 3.
pub fn close_inherited_descriptors_on_exec() {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let descriptors: Vec<i32> = entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in descriptors {
        // SAFETY: only the flag of a descriptor number is changed; a number
        // that was read_dir's own (now closed) fails harmlessly with EBADF.
        unsafe {
            let flags = nix::libc::fcntl(fd, nix::libc::F_GETFD);
            if flags >= 0 {
                nix::libc::fcntl(fd, nix::libc::F_SETFD, flags | nix::libc::FD_CLOEXEC);
            }
        }
    }
}

/// How many tasks (processes and threads, as RLIMIT_NPROC counts them) the
/// user `uid` has now, from /proc.
pub fn processes_of(uid: nix::unistd::Uid) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut count = 0;
    for entry in entries.flatten() {
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|value| value.split_whitespace().next())
                .and_then(|value| value.parse::<u64>().ok())
        };
        if field("Uid:") == Some(u64::from(uid.as_raw())) {
            count += field("Threads:").unwrap_or(1);
        }
    }
    count
}

/// Whether a TCP socket listens on `port` (IPv4), from /proc/net/tcp.
pub fn listening(port: u16) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    let wanted = format!(":{port:04X}");
    table.lines().skip(1).any(|line| {
        let mut fields = line.split_whitespace();
        let local = fields.nth(1).unwrap_or_default();
        let state = fields.nth(1).unwrap_or_default();
        local.ends_with(&wanted) && state == "0A"
    })
}

/// A port that was free a moment ago: bound, read, and closed.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
