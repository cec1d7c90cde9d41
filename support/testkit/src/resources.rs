//! The descriptor limit of the test process itself.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

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
