//! The limits check. client3.py raises nothing, so a client of it that held
//! its 1024 connections would stop at the usual soft limit of 1024 files.

use anyhow::{Context, Result};
use nix::sys::resource::{getrlimit, setrlimit, Resource};

// ANCHOR: raise_open_file_limit
/// Raises the soft RLIMIT_NOFILE to the hard limit (no privilege needed;
/// Linux refuses more than `fs.nr_open`, so an "unlimited" hard limit leaves
/// it be) for the children to inherit through fork; warns in one line if a
/// client's connections still do not fit (EMFILE, "Too many open files").
pub fn raise_open_file_limit(max_conns: u32) -> Result<()> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("getrlimit RLIMIT_NOFILE")?;
    let raised = soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok();
    let limit = if raised { hard } else { soft };
    // Besides its connections, a client holds stdin, stdout, stderr and
    // its end of the report pipe.
    let needed = u64::from(max_conns) + 4;
    if needed > limit {
        eprintln!(
            "client3: each client needs at least {needed} descriptors for {max_conns} \
             connections, but the open-file limit is {limit}: expect \"Too many open files\""
        );
    }
    Ok(())
}
// ANCHOR_END: raise_open_file_limit
