//! The one process runner of the workspace's tooling: the tests, `cargo
//! ex`, replay and the benchmark start every program through [`Running`].
//!
//! - Each program starts in a process group of its own, so that it and
//!   everything it forks can be signalled together, and nothing else.
//!   Dropping a [`Running`] kills that group by its id (never by name) and
//!   reaps the leader.
//! - Its output is drained by a thread as it comes, so a full pipe never
//!   blocks it; [`Output`] says whether stderr is kept apart, merged with
//!   stdout as a terminal shows them, or whether the caller holds stdout.
//! - Every wait takes a deadline and returns `None`/`false` when it passes.
//! - [`stop_everything_on_interrupt`]: since the groups are not the
//!   terminal's, a Ctrl-C reaches only the tool; this makes it kill them.
//!
//! The `process-wrap` crate offers the group and kill-on-drop, but not the
//! limits set between fork and exec, the drained output, or the bounded
//! waits, which are most of this file; std's `Command` with
//! `process_group(0)` and `pre_exec` does the rest.

use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::resource::{setrlimit, Resource};
use nix::sys::signal::{kill, killpg, SigSet, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::{setgid, setgroups, setuid, Gid, Pid, Uid};

/// Where a program's stdout and stderr go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Two pipes, each drained into its own buffer.
    Separate,
    /// One pipe for both, in the order written, as a terminal shows them.
    Merged,
    /// stdout is a pipe the caller takes with [`Running::take_stdout`] and
    /// reads (or not) itself; stderr is drained.
    StdoutHeld,
    /// stderr is a pipe the caller takes with [`Running::take_stderr`];
    /// stdout is drained.
    StderrHeld,
    /// stdout is what the caller set on the command (a terminal, say), and
    /// is not read here; stderr is drained.
    StdoutGiven,
}

/// Limits and identity set in the child between fork and exec.
#[derive(Default, Clone, Copy, Debug)]
pub struct Limits {
    /// RLIMIT_NOFILE, (soft, hard): `ulimit -n`.
    pub open_files: Option<(u64, u64)>,
    /// RLIMIT_NPROC, soft and hard: `ulimit -u`.
    pub processes: Option<u64>,
    /// Run as this user and group (`setpriv --reuid --regid --clear-groups`).
    pub user: Option<(Uid, Gid)>,
}

/// The process groups running now, so that a Ctrl-C can kill them.
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// How often a bounded wait looks again.
const POLL: Duration = Duration::from_millis(10);

/// A running program in its own process group. Dropping it kills the group.
pub struct Running {
    /// The group's leader: the program itself.
    child: Child,
    /// Its name, for messages.
    program: String,
    /// Its stdout (with [`Output::Merged`], stderr too), as it comes.
    stdout: Collected,
    /// Its stderr, as it comes (empty when merged).
    stderr: Collected,
    /// stdout's pipe while the caller has not taken it ([`Output::StdoutHeld`]).
    held_stdout: Option<ChildStdout>,
    /// stderr's pipe while the caller has not taken it ([`Output::StderrHeld`]).
    held_stderr: Option<ChildStderr>,
}

impl Running {
    /// Starts `command` (its program, arguments, environment and directory
    /// already set) with stdin from /dev/null, `output` and `limits`.
    pub fn start(mut command: Command, output: Output, limits: Limits) -> io::Result<Running> {
        command.stdin(Stdio::null()).process_group(0);
        let mut merged_reader = None;
        match output {
            Output::Separate | Output::StdoutHeld | Output::StderrHeld => {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
            Output::StdoutGiven => {
                command.stderr(Stdio::piped());
            }
            Output::Merged => {
                let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
                let write_copy = write_end.try_clone()?;
                command
                    .stdout(Stdio::from(write_end))
                    .stderr(Stdio::from(write_copy));
                merged_reader = Some(std::fs::File::from(read_end));
            }
        }
        // SAFETY: the closure runs in the forked child before exec, where
        // only async-signal-safe calls are allowed: each is one system call
        // that allocates nothing. Signals a tool blocked for itself (see
        // `stop_everything_on_interrupt`) are unblocked, so that the child
        // starts as from a shell; the limits are set while still root, and
        // the group before the user, since after setuid neither may change.
        unsafe {
            command.pre_exec(move || {
                SigSet::all().thread_unblock()?;
                if let Some((soft, hard)) = limits.open_files {
                    setrlimit(Resource::RLIMIT_NOFILE, soft, hard)?;
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
        let mut child = command
            .spawn()
            .map_err(|err| io::Error::new(err.kind(), format!("cannot start {program}: {err}")))?;
        // The parent's copies of a merged pipe's write end go with the
        // command, so that the reader sees end-of-file when the child exits.
        drop(command);
        GROUPS.lock().unwrap().push(child.id() as i32);
        let (stdout, held_stdout) = match (output, merged_reader) {
            (Output::Merged, Some(reader)) => (Collected::drain(reader), None),
            (Output::StdoutHeld, _) => (Collected::finished(), child.stdout.take()),
            (Output::StdoutGiven, _) => (Collected::finished(), None),
            _ => (Collected::drain(child.stdout.take().expect("piped")), None),
        };
        let held_stderr = match output {
            Output::StderrHeld => child.stderr.take(),
            _ => None,
        };
        let stderr = match child.stderr.take() {
            Some(pipe) if output != Output::Merged => Collected::drain(pipe),
            _ => Collected::finished(),
        };
        Ok(Running {
            child,
            program,
            stdout,
            stderr,
            held_stdout,
            held_stderr,
        })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The program's name, as started.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Everything printed on stdout (merged: on both) so far.
    pub fn output(&self) -> String {
        self.stdout.text()
    }

    /// The same, by line, without line ends (`\n` or `\r\n`).
    pub fn lines(&self) -> Vec<String> {
        self.output().lines().map(str::to_owned).collect()
    }

    /// Everything printed on stderr so far (empty when merged).
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// stdout's pipe, once, with [`Output::StdoutHeld`].
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.held_stdout.take()
    }

    /// stderr's pipe, once, with [`Output::StderrHeld`].
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.held_stderr.take()
    }

    /// Waits until `done` holds for the lines so far; false after `timeout`.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&[String]) -> bool) -> bool {
        within(timeout, || done(&self.lines()).then_some(())).is_some()
    }

    /// The exit status, if the program has exited. It is not reaped:
    /// WNOWAIT looks without reaping, so the leader stays a zombie and its
    /// PID, the group's id, cannot go to another process until Drop has
    /// killed the group and reaped it.
    pub fn status_now(&self) -> Option<ExitStatus> {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(Pid::from_raw(self.pid())), flags) {
            Ok(WaitStatus::Exited(_, code)) => Some(ExitStatus::from_raw(code << 8)),
            Ok(WaitStatus::Signaled(_, signal, core)) => Some(ExitStatus::from_raw(
                signal as i32 | if core { 0x80 } else { 0 },
            )),
            _ => None,
        }
    }

    /// The same, for callers that hold the runner mutably.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        self.status_now()
    }

    /// Waits at most `timeout` for the program to exit; then at most one
    /// more second for its output to end (children it forked may hold the
    /// pipes open longer, so that wait does not fail).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let status = within(timeout, || self.try_status())?;
        within(Duration::from_secs(1), || {
            (self.stdout.is_finished() && self.stderr.is_finished()).then_some(())
        });
        Some(status)
    }

    /// Sends `signal` to the program only.
    pub fn signal(&self, signal: Signal) {
        let _ = kill(Pid::from_raw(self.pid()), signal);
    }

    /// Sends `signal` to the program's whole group.
    pub fn signal_group(&self, signal: Signal) {
        let _ = killpg(Pid::from_raw(self.pid()), signal);
    }

    /// SIGTERM to the group, so that a server can stop its own children and
    /// a tracer write its report; SIGKILL if it has not exited within `grace`.
    /// Returns whether SIGTERM was enough.
    pub fn stop(&mut self, grace: Duration) -> bool {
        if self.try_status().is_some() {
            return true;
        }
        self.signal_group(Signal::SIGTERM);
        if self.wait_exit(grace).is_some() {
            return true;
        }
        self.signal_group(Signal::SIGKILL);
        within(Duration::from_secs(5), || self.try_status());
        false
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // The group's id is the leader's PID, and the leader is reaped only
        // here (every look before was WNOWAIT): the id cannot have been
        // reused by a stranger.
        self.signal_group(Signal::SIGKILL);
        let _ = self.child.wait();
        let group = self.pid();
        GROUPS.lock().unwrap().retain(|&running| running != group);
    }
}

/// Makes Ctrl-C (SIGINT), SIGTERM and SIGHUP kill every group started by
/// [`Running::start`], run `cleanup`, say so and exit with 128 + the
/// signal: those groups are not the terminal's foreground group, so the
/// terminal's Ctrl-C does not reach them. The signals are blocked in every
/// thread (call this first, before starting threads) and taken by one
/// thread that waits for them.
pub fn stop_everything_on_interrupt(tool: &'static str, cleanup: impl FnOnce() + Send + 'static) {
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGHUP);
    if signals.thread_block().is_err() {
        return;
    }
    thread::spawn(move || {
        let signal = signals.wait().unwrap_or(Signal::SIGINT);
        kill_everything_started();
        cleanup();
        eprintln!("{tool}: stopped by {signal}; killed the processes it had started");
        std::process::exit(128 + signal as i32);
    });
}

/// Kills every process group started by [`Running::start`] that is still
/// running: for a tool whose time ran out, or that was interrupted. Their
/// `Running`s reap them when dropped.
pub fn kill_everything_started() {
    for group in GROUPS.lock().unwrap().iter() {
        let _ = killpg(Pid::from_raw(*group), Signal::SIGKILL);
    }
}

/// Polls `check` every few milliseconds until it gives a value or
/// `timeout` passes: every bounded wait of the tooling.
pub fn within<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(POLL);
    }
}

/// Output of a program, read by a background thread as it comes.
#[derive(Clone)]
struct Collected {
    /// What arrived so far.
    bytes: Arc<Mutex<Vec<u8>>>,
    /// Set at end-of-file: every holder of the pipe has exited.
    finished: Arc<AtomicBool>,
}

impl Collected {
    /// Nothing, and nothing to come.
    fn finished() -> Collected {
        Collected {
            bytes: Arc::default(),
            finished: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Reads `source` to its end in a thread of its own. Keeping the pipe
    /// drained matters: a program whose stdout is full blocks in write(2).
    fn drain(source: impl Read + Send + 'static) -> Collected {
        let collected = Collected {
            bytes: Arc::default(),
            finished: Arc::new(AtomicBool::new(false)),
        };
        let sink = collected.clone();
        thread::spawn(move || {
            let mut reader = BufReader::new(source);
            loop {
                let mut chunk = Vec::new();
                match reader.read_until(b'\n', &mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => sink.bytes.lock().unwrap().extend_from_slice(&chunk),
                }
            }
            sink.finished.store(true, Ordering::SeqCst);
        });
        collected
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned()
    }

    fn is_finished(&self) -> bool {
        self.finished.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_output_keeps_the_order_and_a_bounded_wait_gives_the_status() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo one; echo two >&2; echo three"]);
        let mut running = Running::start(command, Output::Merged, Limits::default()).unwrap();
        let status = running
            .wait_exit(Duration::from_secs(10))
            .expect("sh exits");
        assert!(status.success());
        assert_eq!(running.lines(), ["one", "two", "three"]);
    }

    #[test]
    fn an_exit_seen_leaves_the_leader_unreaped_until_drop() {
        let mut command = Command::new("sh");
        command.args(["-c", "exit 3"]);
        let mut running = Running::start(command, Output::Separate, Limits::default()).unwrap();
        let status = running
            .wait_exit(Duration::from_secs(10))
            .expect("sh exits");
        assert_eq!(status.code(), Some(3));
        // Still a zombie: its PID, the group's id, is not free for another
        // process while the Running may still signal the group.
        assert_eq!(crate::process_state(running.pid()), Some('Z'));
        let pid = running.pid();
        drop(running);
        assert_eq!(crate::process_state(pid), None, "reaped on drop");
    }

    #[test]
    fn dropping_kills_the_whole_group() {
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 30 & echo $!; wait"]);
        let running = Running::start(command, Output::Separate, Limits::default()).unwrap();
        assert!(running.wait_for(Duration::from_secs(10), |lines| !lines.is_empty()));
        let grandchild: i32 = running.lines()[0].parse().unwrap();
        drop(running);
        let gone = within(Duration::from_secs(10), || {
            matches!(crate::process_state(grandchild), None | Some('Z')).then_some(())
        });
        assert!(gone.is_some(), "the forked sleep outlived its group");
    }
}
