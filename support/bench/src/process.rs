//! Every process bench starts goes through here, so that none outlives it
//! and none is waited on without a deadline.
//!
//! A [`Guarded`] child is stopped by its own PID when it is dropped: on the
//! normal path, on an early `?` return and on a panic alike. Only children
//! of bench are signalled, and a child that has not been reaped keeps its
//! PID, so the signal cannot reach a stranger whose PID was reused. Nothing
//! is ever stopped by name (no pkill, no killall).
//!
//! Ctrl-C reaches bench and its children together (they share the terminal's
//! process group), so they stop with it even though no Drop runs then.

use std::ffi::OsString;
use std::fs::{self, File};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long a child gets to exit after SIGTERM before it gets SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// How often a deadline loop looks again.
pub const POLL: Duration = Duration::from_millis(20);

/// A running child of bench, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Guarded {
    /// The child itself; its PID is what every signal goes to.
    child: Child,
    /// What it is, for messages: "nginx", "wrk", ….
    what: String,
}

impl Guarded {
    /// Starts `command` with stdin from /dev/null; stdout and stderr as the
    /// caller set them.
    pub fn spawn(mut command: Command, what: &str) -> Result<Guarded> {
        let child = command
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {what} ({command:?})"))?;
        Ok(Guarded {
            child,
            what: what.to_owned(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the child has exited (and is now reaped).
    pub fn has_exited(&mut self) -> bool {
        // An error here means there is no such child left to wait for.
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits at most `limit` for the child to exit.
    pub fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(POLL),
                _ => return None,
            }
        }
    }

    /// SIGTERM, so that a server can stop its own children (nginx its
    /// worker) and a tracer can write its report; SIGKILL if that is not
    /// enough within [`GRACE`].
    pub fn stop(&mut self) {
        if self.has_exited() {
            return;
        }
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        if self.wait_for(GRACE).is_none() {
            eprintln!("bench: {} ignored SIGTERM; killing it", self.what);
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `Command` from an argument vector (the program first).
pub fn command(argv: &[OsString]) -> Command {
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    command
}

/// What a bounded run left behind.
pub struct Finished {
    /// Standard output and standard error, as written.
    pub output: String,
    /// The exit status; `None` when the deadline came first and the
    /// process was stopped.
    pub status: Option<ExitStatus>,
}

/// Runs `command` to its end, or for at most `limit` (then stops it), with
/// stdout and stderr going to the file `output` (a file, not a pipe: a
/// pipe nobody reads while waiting would fill and block the child).
pub fn run_bounded(
    mut command: Command,
    what: &str,
    limit: Duration,
    output: &Path,
) -> Result<Finished> {
    let file =
        File::create(output).with_context(|| format!("cannot create {}", output.display()))?;
    command.stdout(file.try_clone()?).stderr(file);
    let mut child = Guarded::spawn(command, what)?;
    let status = child.wait_for(limit);
    child.stop();
    let output = fs::read(output).with_context(|| format!("cannot read {}", output.display()))?;
    Ok(Finished {
        output: String::from_utf8_lossy(&output).into_owned(),
        status,
    })
}
