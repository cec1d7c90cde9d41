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
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use nix::unistd::{Uid, User};

use crate::procs::{tasks_of_user, zombies_of_user};
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
        // RLIMIT_NPROC counts every task of the user: what nobody runs
        // already, plus the server and its children. Set while still root
        // (see `Running::start`), then the user.
        // Zombies count too, until reaped: the children of a server an
        // earlier test killed are orphans that init reaps when it gets to
        // them. Counted now, they would leave this server their slots once
        // gone, and its forks would fail later than the test expects.
        let uid = nobody.uid.as_raw();
        crate::within(crate::PATIENCE, || {
            (zombies_of_user(uid) == 0).then_some(())
        });
        self.limits.processes = Some(tasks_of_user(uid) + processes);
        self.limits.user = Some((nobody.uid, nobody.gid));
        Some(self)
    }
}
