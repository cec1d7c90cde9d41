//! Where io_uring is forbidden, uring_server says so in one line, with the reason and how
//! to check, and exits with code 1. Proven on any machine, without privileges: the server
//! runs under a seccomp filter that answers io_uring_setup(2) with EPERM (as a container
//! runtime's default profile does) or ENOSYS (as on a kernel without io_uring), installed
//! between fork and exec. A process may install a filter on itself once it has given up
//! gaining privileges (PR_SET_NO_NEW_PRIVS), which needs no capability.

use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::libc;
use testkit::run::{Limits, Output, Running};
use testkit::PATIENCE;

const BINARY: &str = env!("CARGO_BIN_EXE_uring_server");

/// Runs the server under a filter that fails io_uring_setup with `errno`; returns its exit
/// code and what it wrote on stderr.
fn run_with_io_uring_setup_failing(errno: i32) -> (Option<i32>, String) {
    let mut command = Command::new(BINARY);
    command
        .env("PORT", "0")
        .arg("--root")
        .arg(env!("CARGO_MANIFEST_DIR"));
    // SAFETY: the closure runs in the child between fork and exec, and makes only
    // async-signal-safe calls (two prctl), with the filter on its own stack.
    unsafe {
        command.pre_exec(move || refuse_io_uring_setup(errno));
    }
    let mut server = Running::start(command, Output::Separate, Limits::default())
        .unwrap_or_else(|error| panic!("{error}"));
    let status = server.wait_exit(PATIENCE);
    (status.and_then(|status| status.code()), server.stderr())
}

/// Installs, on the calling process, a seccomp filter (classic BPF) that answers
/// io_uring_setup with `errno` and lets every other system call through.
fn refuse_io_uring_setup(errno: i32) -> std::io::Result<()> {
    // Offsets in struct seccomp_data: the system call's number, then the architecture.
    const NR: u32 = 0;
    const ARCH: u32 = 4;
    #[cfg(target_arch = "x86_64")]
    const AUDIT_ARCH: u32 = 0xc000_003e;
    #[cfg(target_arch = "aarch64")]
    const AUDIT_ARCH: u32 = 0xc000_00b7;
    let statement = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jump_if_equal = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    let mut filter = [
        statement(load, ARCH),
        // Another architecture's system call numbers mean other calls: let them be.
        jump_if_equal(AUDIT_ARCH, 1, 0),
        statement(ret, libc::SECCOMP_RET_ALLOW),
        statement(load, NR),
        jump_if_equal(libc::SYS_io_uring_setup as u32, 0, 1),
        statement(
            ret,
            libc::SECCOMP_RET_ERRNO | (errno as u32 & libc::SECCOMP_RET_DATA),
        ),
        statement(ret, libc::SECCOMP_RET_ALLOW),
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: plain system calls; `program` points to `filter`, alive during the call
    // (the kernel copies the filter).
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &program as *const libc::sock_fprog,
            ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Asserts the one line, its reason and its check, and exit code 1.
fn assert_says_why(errno_name: &str, (code, stderr): (Option<i32>, String)) {
    eprintln!("the server said: {stderr}");
    assert_eq!(code, Some(1), "exit code; stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    for expected in [
        "uring_server: io_uring is not available here: io_uring_setup failed with ",
        errno_name,
        "seccomp filter",
        "check: ",
        "cat /proc/sys/kernel/io_uring_disabled",
    ] {
        assert!(stderr.contains(expected), "{expected:?} in {stderr:?}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A container whose seccomp profile refuses io_uring, as Docker's default does.
#[test]
fn says_why_in_one_line_when_a_seccomp_filter_forbids_io_uring() {
    assert_says_why("EPERM", run_with_io_uring_setup_failing(libc::EPERM));
}

/// A kernel without io_uring, or a filter that pretends so.
#[test]
fn says_why_in_one_line_when_io_uring_setup_does_not_exist() {
    assert_says_why("ENOSYS", run_with_io_uring_setup_failing(libc::ENOSYS));
}
