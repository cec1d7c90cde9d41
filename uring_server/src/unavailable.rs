//! Where io_uring is missing or forbidden: one line saying why, and how to check.
//!
//! io_uring_setup(2) fails with
//!
//! * ENOSYS on a kernel built without io_uring (or older than 5.1), and under a seccomp
//!   filter that hides it;
//! * EPERM when `kernel.io_uring_disabled` forbids it (Linux 6.6: 1, only for members of
//!   `kernel.io_uring_group`; 2, for everyone), and under a seccomp filter that refuses
//!   it. Container runtimes' default profiles refuse it (Docker 25 and containerd 2.0 on;
//!   Google turned it off on ChromeOS, Android and its servers): io_uring has been the way
//!   into many of the kernel's recent privilege-escalation bugs, and its operations slip
//!   past a filter that looks at system calls, since they are not system calls;
//! * EINVAL when the kernel does not know a flag this server asks for (deferred task work
//!   came in Linux 6.1, after multishot receive and buffer rings).
//!
//! The line names the errno, the likeliest cause from what the process can see (the
//! sysctl, its own `Seccomp:` status), and the command that checks it.

use std::fs;
use std::io;

use anyhow::anyhow;
use nix::errno::Errno;

/// What the process can see of why io_uring is refused.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Clues {
    /// `/proc/sys/kernel/io_uring_disabled`, if the kernel has it (6.6 and later).
    pub(crate) disabled: Option<String>,
    /// Whether this process runs under a seccomp filter (`Seccomp: 2` in
    /// `/proc/self/status`).
    pub(crate) seccomp_filter: bool,
}

impl Clues {
    fn read() -> Clues {
        let disabled = fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
            .ok()
            .map(|text| text.trim().to_owned());
        let seccomp_filter = fs::read_to_string("/proc/self/status").is_ok_and(|status| {
            status
                .lines()
                .any(|line| line.split_whitespace().eq(["Seccomp:", "2"]))
        });
        Clues {
            disabled,
            seccomp_filter,
        }
    }
}

/// The error for a failed io_uring_setup: one line.
pub(crate) fn explain(error: io::Error) -> anyhow::Error {
    anyhow!("{}", sentence(&error, &Clues::read()))
}

/// `io_uring is not available here: io_uring_setup failed with EPERM (...): <cause>;
/// check: <command>`.
pub(crate) fn sentence(error: &io::Error, clues: &Clues) -> String {
    const CHECK: &str = "cat /proc/sys/kernel/io_uring_disabled";
    let errno = error.raw_os_error().map(Errno::from_raw);
    let disabled = clues.disabled.as_deref();
    let (cause, check) = match (errno, disabled) {
        (Some(Errno::EPERM), Some("2")) => (
            "kernel.io_uring_disabled is 2: io_uring is off for every process on this machine"
                .to_owned(),
            format!("{CHECK} (0 allows it; as root: sysctl -w kernel.io_uring_disabled=0)"),
        ),
        (Some(Errno::EPERM), Some("1")) => (
            "kernel.io_uring_disabled is 1: only root and the group in kernel.io_uring_group \
             may use io_uring"
                .to_owned(),
            format!("{CHECK}; cat /proc/sys/kernel/io_uring_group"),
        ),
        (Some(Errno::EPERM | Errno::ENOSYS), _) if clues.seccomp_filter => (
            "a seccomp filter on this process refuses io_uring_setup, as container runtimes' \
             default profiles do (Docker 25 and later, containerd 2.0)"
                .to_owned(),
            format!(
                "grep Seccomp /proc/self/status (2: a filter) and {CHECK}; allow io_uring in \
                 the container's seccomp profile, or run outside the container"
            ),
        ),
        (Some(Errno::ENOSYS), _) => (
            "this kernel has no io_uring (built without CONFIG_IO_URING, or older than 5.1)"
                .to_owned(),
            format!("uname -r; {CHECK}"),
        ),
        (Some(Errno::EINVAL), _) => (
            "this kernel's io_uring lacks what this server uses (Linux 6.1 or later)".to_owned(),
            "uname -r".to_owned(),
        ),
        _ => (
            "io_uring is refused here".to_owned(),
            format!("{CHECK}; grep Seccomp /proc/self/status"),
        ),
    };
    let name = match errno {
        Some(errno) if errno != Errno::UnknownErrno => format!("{errno:?} ({})", errno.desc()),
        _ => error.to_string(),
    };
    format!("io_uring is not available here: io_uring_setup failed with {name}: {cause}; check: {check}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(errno: i32, disabled: Option<&str>, seccomp_filter: bool) -> String {
        let clues = Clues {
            disabled: disabled.map(str::to_owned),
            seccomp_filter,
        };
        sentence(&io::Error::from_raw_os_error(errno), &clues)
    }

    #[test]
    fn names_the_errno_the_cause_and_the_check_on_one_line() {
        let off = said(nix::libc::EPERM, Some("2"), false);
        assert!(off.contains("EPERM (Operation not permitted)"), "{off}");
        assert!(off.contains("kernel.io_uring_disabled is 2"), "{off}");
        assert!(
            off.contains("check: cat /proc/sys/kernel/io_uring_disabled"),
            "{off}"
        );
        let group = said(nix::libc::EPERM, Some("1"), false);
        assert!(group.contains("kernel.io_uring_group"), "{group}");
        for errno in [nix::libc::EPERM, nix::libc::ENOSYS] {
            let filtered = said(errno, Some("0"), true);
            assert!(filtered.contains("seccomp filter"), "{filtered}");
        }
        let old = said(nix::libc::ENOSYS, None, false);
        assert!(
            old.contains("ENOSYS") && old.contains("no io_uring"),
            "{old}"
        );
        let flags = said(nix::libc::EINVAL, Some("0"), false);
        assert!(flags.contains("Linux 6.1"), "{flags}");
        for line in [off, group, old, flags] {
            assert!(!line.contains('\n'), "{line}");
        }
    }
}
