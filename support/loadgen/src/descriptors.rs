//! Making room for N open connections under RLIMIT_NOFILE.
//!
//! Every connection is a file descriptor, and the kernel refuses a process
//! more descriptors than its soft limit (socket(2) fails with EMFILE, "Too
//! many open files", the error webserver3d runs into). A process may raise
//! its own soft limit up to the hard limit; only root can raise the hard one.

use anyhow::{bail, Context, Result};
use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Descriptors the loader needs besides its connections: standard input,
/// output and error, the epoll instance, and some slack.
const RESERVED_DESCRIPTORS: u64 = 16;

/// Raises the soft limit on open files to the hard limit when `connections`
/// do not fit under it, and says so. Fails, saying by how much, when they
/// do not fit under the hard limit either.
pub fn make_room_for(connections: usize) -> Result<()> {
    let needed = connections as u64 + RESERVED_DESCRIPTORS;
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("getrlimit RLIMIT_NOFILE")?;
    if needed <= soft {
        return Ok(());
    }
    if needed > hard {
        bail!(
            "{connections} connections need {needed} open files, but the hard limit \
             (ulimit -Hn) is {hard}: raise it as root, or ask for fewer connections"
        );
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).context("setrlimit RLIMIT_NOFILE")?;
    println!(
        "open-file limit: {connections} connections did not fit in {soft}; \
         raised the soft limit to the hard limit, {hard}"
    );
    Ok(())
}
