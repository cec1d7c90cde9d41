//! The example `uring_model`: epoll_model on io_uring. It prints what each
//! client sends, all of it even when it is more than one receive's buffer,
//! and many clients' receives at once; it reports a client that leaves,
//! with end of file or with a reset, and closes its socket; and where
//! io_uring is forbidden it says why in one line and exits 1.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use testkit::Launch;

/// The byte counts of the `recv from ADDRESS (N bytes): ...` lines so far.
fn bytes_received_from(server: &testkit::Server, address: &str) -> usize {
    let prefix = format!("recv from {address} (");
    server
        .stdout_lines()
        .iter()
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum()
}

/// The model, started, once it has printed its banner; `None`, with the
/// reason on stderr, where this machine forbids io_uring (the model would
/// say why and exit: `says_why_and_exits_1_where_io_uring_is_forbidden`).
fn start() -> Option<testkit::Server> {
    if let Err(error) = io_uring::IoUring::new(2) {
        eprintln!("skipped: io_uring is not available here: io_uring_setup: {error}");
        return None;
    }
    Some(Launch::new(env!("CARGO_BIN_EXE_uring_model")).start_with_banner("Listening on port "))
}

/// How many sockets the process holds.
fn sockets_of(server: &testkit::Server) -> usize {
    testkit::procs::socket_inodes(server.pid()).len()
}

#[test]
fn prints_what_each_client_sends_and_closes_at_end_of_file() {
    let Some(server) = start() else { return };

    let mut first = server.connect();
    let mut second = server.connect();
    let first_address = first.local_addr().unwrap().to_string();
    let second_address = second.local_addr().unwrap().to_string();
    for address in [&first_address, &second_address] {
        server.wait_for_line("a new client", |line| {
            line == format!("new client {address}")
        });
    }

    first.write_all(b"hello from the first").unwrap();
    server.wait_for_line("the first client's bytes", |line| {
        line == format!("recv from {first_address} (20 bytes): hello from the first")
    });
    // A receive operation receives once: a second message is printed
    // only if a receive was submitted again after the first completed.
    first.write_all(b"and again").unwrap();
    server.wait_for_line("the first client's second message", |line| {
        line == format!("recv from {first_address} (9 bytes): and again")
    });

    // 3000 bytes: more than the 1024 one receive takes, so several
    // completions, each followed by the next receive.
    second.write_all(&[b'x'; 3000]).unwrap();
    testkit::eventually(testkit::PATIENCE, "all 3000 bytes printed", || {
        (bytes_received_from(&server, &second_address) == 3000).then_some(())
    });

    drop(first);
    server.wait_for_line("the first client offline", |line| {
        line == format!("{first_address} --- offline ---")
    });
    // Its socket is closed: the listener and the second client are left.
    testkit::eventually(
        testkit::PATIENCE,
        "the first client's socket closed",
        || (sockets_of(&server) == 2).then_some(()),
    );
    // The other client is still served.
    second.write_all(b"still here").unwrap();
    server.wait_for_line("the second client's bytes", |line| {
        line == format!("recv from {second_address} (10 bytes): still here")
    });
}

#[test]
fn a_client_that_resets_is_reported_and_closed() {
    let Some(server) = start() else { return };
    let client = server.connect();
    let address = client.local_addr().unwrap().to_string();
    server.wait_for_line("the client", |line| line == format!("new client {address}"));
    // SO_LINGER with a zero timeout: close sends RST, not FIN, and the
    // receive in flight completes with -ECONNRESET.
    let linger = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    nix::sys::socket::setsockopt(&client, nix::sys::socket::sockopt::Linger, &linger).unwrap();
    drop(client);
    server.wait_for_line("the reset reported", |line| {
        line.starts_with(&format!("{address}: Connection reset by peer"))
    });
    server.wait_for_line("the client offline", |line| {
        line == format!("{address} --- offline ---")
    });
    testkit::eventually(testkit::PATIENCE, "only the listener left", || {
        (sockets_of(&server) == 1).then_some(())
    });
}

#[test]
fn hears_a_hundred_clients_whose_bytes_arrive_together() {
    let Some(server) = start() else { return };
    let mut clients: Vec<(TcpStream, String)> = (0..100)
        .map(|_| {
            let client = server.connect();
            let address = client.local_addr().unwrap().to_string();
            (client, address)
        })
        .collect();
    testkit::eventually(testkit::PATIENCE, "100 clients accepted", || {
        (server.count_lines(|line| line.starts_with("new client")) == 100).then_some(())
    });
    // Stopped, the server cannot take its completions: all 100 receives
    // complete together when it runs again, more than its submission
    // queue of 64 holds when it submits the next 100.
    server.signal(Signal::SIGSTOP);
    testkit::eventually(testkit::PATIENCE, "the server stopped", || {
        (server.state() == Some('T')).then_some(())
    });
    for (number, (client, _)) in clients.iter_mut().enumerate() {
        client
            .write_all(format!("client {number:03}").as_bytes())
            .unwrap();
    }
    server.signal(Signal::SIGCONT);
    for (number, (_, address)) in clients.iter().enumerate() {
        server.wait_for_line("each client's line", |line| {
            line == format!("recv from {address} (10 bytes): client {number:03}")
        });
    }
    // And each one's next receive was submitted: a second round is heard.
    for (number, (client, _)) in clients.iter_mut().enumerate() {
        client
            .write_all(format!("again {number:03}").as_bytes())
            .unwrap();
    }
    for (number, (_, address)) in clients.iter().enumerate() {
        server.wait_for_line("each client's second line", |line| {
            line == format!("recv from {address} (9 bytes): again {number:03}")
        });
    }
}

#[test]
fn shows_a_clients_control_characters_escaped() {
    let Some(server) = start() else { return };
    let mut client = server.connect();
    // Clear the screen, retitle the window, ring the bell: a terminal would
    // obey each if the model printed them as they came.
    client.write_all(b"\x1b[2J\x1b]0;owned\x07hi").unwrap();
    let line = server.wait_for_line("the client's bytes", |line| line.contains("bytes): "));
    assert!(
        !testkit::has_control_characters(line.as_bytes()),
        "{line:?}"
    );
    assert!(
        line.ends_with(r"\u{1b}[2J\u{1b}]0;owned\u{7}hi"),
        "{line:?}"
    );
}

/// Makes `io_uring_setup` fail with EPERM in the process that runs this,
/// as a container's seccomp profile does (Docker's default answers EPERM
/// to every system call it does not allow): a classic BPF filter on the
/// system call's number.
fn forbid_io_uring_setup() -> std::io::Result<()> {
    use nix::libc::{
        prctl, sock_filter, sock_fprog, SYS_io_uring_setup, BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K,
        BPF_LD, BPF_RET, BPF_W, EPERM, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
        SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO,
    };
    let statement = |code: u32, jt: u8, jf: u8, k: u32| sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let filter = [
        // The system call's number: offset 0 of struct seccomp_data.
        statement(BPF_LD | BPF_W | BPF_ABS, 0, 0, 0),
        statement(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, SYS_io_uring_setup as u32),
        statement(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | EPERM as u32),
        statement(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW),
    ];
    let program = sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut sock_filter,
    };
    // SAFETY: plain system calls on this process; `program` and `filter`
    // outlive the prctl, which copies the filter into the kernel.
    unsafe {
        if prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[test]
fn says_why_and_exits_1_where_io_uring_is_forbidden() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_uring_model"));
    command
        .env("PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec, the closure only makes two system
    // calls (prctl), allocating nothing and taking no lock.
    unsafe { command.pre_exec(forbid_io_uring_setup) };
    let mut child = command.spawn().expect("start uring_model");
    // It must exit by itself; a model that went on serving is killed.
    let status = testkit::within(Duration::from_secs(10), || child.try_wait().unwrap());
    let Some(status) = status else {
        child.kill().unwrap();
        child.wait().unwrap();
        panic!("uring_model did not exit where io_uring_setup fails with EPERM");
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    // It did not say it listens: the ring is made before the banner.
    assert_eq!(stdout, "", "stdout");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    for words in [
        "uring_model: io_uring_setup: Operation not permitted",
        "kernel.io_uring_disabled",
        "seccomp",
    ] {
        assert!(stderr.contains(words), "{words:?} in {stderr:?}");
    }
}
