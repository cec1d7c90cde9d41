//! Running a server as an unprivileged user under a process limit
//! (`ulimit -u`), so that `fork` can fail with EAGAIN as in the article.
//!
//! Root is exempt from RLIMIT_NPROC, so a test running as root starts the
//! server as the user `nobody`, as `setpriv --reuid=nobody --regid=nogroup
//! --clear-groups` would. A test running as another user cannot change
//! user, and RLIMIT_NPROC counts every process *and thread* of that user
//! (the test harness's own threads included), so there the limit cannot be
//! made exact: such a test is skipped with a message. CI runs as root.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use nix::sys::resource::{setrlimit, Resource};
use nix::unistd::{setgid, setgroups, setuid, Gid, Uid, User};

use crate::{Launch, TempDir};

impl Launch {
    /// Runs the binary as the user `nobody` with RLIMIT_NPROC set so that
    /// it can have `processes` processes in all, itself included (server
    /// plus `processes - 1` children), on top of whatever `nobody` already
    /// runs. `None` when the test does not run as root (see the module's
    /// documentation): the caller skips.
    pub fn unprivileged_with_process_limit(mut self, processes: u64) -> Option<Launch> {
        if !Uid::effective().is_root() {
            eprintln!(
                "skipped: needs root, to run the server as `nobody` under RLIMIT_NPROC \
                 (root is exempt from that limit; as another user, the limit would also \
                 count this test's own threads)"
            );
            return None;
        }
        let nobody = User::from_name("nobody")
            .expect("read the user database")
            .expect("a user named nobody");
        // nobody must be able to reach the binary, and the checkout may sit
        // in a directory only root may enter (`mktemp -d` makes it 0700):
        // run a copy, from a directory everyone may enter.
        let scratch = TempDir::new("unprivileged");
        fs::set_permissions(scratch.path(), fs::Permissions::from_mode(0o755))
            .expect("open the scratch directory to every user");
        let program = PathBuf::from(self.command.get_program());
        let copy = scratch
            .path()
            .join(program.file_name().expect("a binary's file name"));
        fs::copy(&program, &copy)
            .unwrap_or_else(|err| panic!("copy {} for nobody: {err}", program.display()));
        self = self.with_program(&copy);
        self.scratch = Some(scratch);
        let limit = processes_of(nobody.uid) + processes;
        let (uid, gid): (Uid, Gid) = (nobody.uid, nobody.gid);
        // SAFETY: the closure runs in the forked child before exec, where
        // only async-signal-safe calls are allowed: setrlimit, setgroups,
        // setgid and setuid are single system calls that allocate nothing.
        // The order matters: the limit is set while still root, and the
        // group before the user, since after setuid the process may change
        // neither.
        unsafe {
            self.command.pre_exec(move || {
                setrlimit(Resource::RLIMIT_NPROC, limit, limit).map_err(io::Error::from)?;
                setgroups(&[]).map_err(io::Error::from)?;
                setgid(gid).map_err(io::Error::from)?;
                setuid(uid).map_err(io::Error::from)
            });
        }
        Some(self)
    }
}

/// How many tasks (processes and their threads, as RLIMIT_NPROC counts
/// them) the user `uid` has now, from /proc.
fn processes_of(uid: Uid) -> u64 {
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0;
    };
    let mut count = 0;
    for entry in entries.flatten() {
        let Ok(status) = fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let real_uid = status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next())
            .and_then(|id| id.parse::<u32>().ok());
        if real_uid == Some(uid.as_raw()) {
            let threads = status
                .lines()
                .find_map(|line| line.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse::<u64>().ok())
                .unwrap_or(1);
            count += threads;
        }
    }
    count
}
