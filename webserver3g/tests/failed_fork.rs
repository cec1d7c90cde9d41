//! webserver3g, the finished forking server, survives a failed `fork`:
//! under a process limit (`ulimit -u`), the client whose fork failed loses
//! its connection, and the server goes on answering once children exit.
//! (webserver3f dies of the same failure: webserver3f/tests/failed_fork.rs.)

use std::sync::{Mutex, MutexGuard};

use testkit::{eventually, read_to_eof, send_request, Launch, PATIENCE};

/// RLIMIT_NPROC counts every process of the user nobody, so the tests here
/// run one at a time: two servers at once would share the three slots.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn a_failed_fork_costs_one_client_not_the_server() {
    let _alone = one_at_a_time();
    // The server and two children: the limit `ulimit -u 3` would set.
    let Some(launch) =
        Launch::new(env!("CARGO_BIN_EXE_webserver3g")).unprivileged_with_process_limit(3)
    else {
        return;
    };
    let mut server = launch.start_server();

    // Two clients that send nothing keep two children waiting in recv.
    let mut first = server.connect();
    let mut second = server.connect();
    eventually(PATIENCE, "two children waiting in recv", || {
        (server.children().len() == 2).then_some(())
    });

    // The third fork fails with EAGAIN: that client gets no answer, only
    // end-of-file, and the server says why on stderr.
    let mut third = server.connect();
    assert_eq!(read_to_eof(&mut third), b"", "an answer without a child?");
    eventually(PATIENCE, "the fork error on stderr", || {
        server
            .stderr()
            .contains("fork: Resource temporarily unavailable (os error 11)")
            .then_some(())
    });
    assert!(server.is_running(), "the server died: {}", server.stderr());

    // The two waiting clients are answered; their children exit and are
    // reaped, which frees the process slots, and a new client is answered.
    for client in [&mut first, &mut second] {
        send_request(client, "/hello");
        assert_eq!(read_to_eof(client), common::HTTP_RESPONSE);
    }
    eventually(PATIENCE, "both children reaped", || {
        server.children().is_empty().then_some(())
    });
    assert_eq!(server.get_to_eof("/hello"), common::HTTP_RESPONSE);
    assert!(server.is_running(), "stderr: {}", server.stderr());
}

/// The server under `ulimit -u 3` with two children waiting in recv, so
/// that every further fork fails; `None` when not run as root.
fn with_every_fork_failing(
    stderr: impl FnOnce(Launch) -> (testkit::Server, testkit::LogPipe),
) -> Option<(testkit::Server, testkit::LogPipe, [std::net::TcpStream; 2])> {
    let launch =
        Launch::new(env!("CARGO_BIN_EXE_webserver3g")).unprivileged_with_process_limit(3)?;
    let (server, pipe) = stderr(launch);
    let waiting = [server.connect(), server.connect()];
    eventually(PATIENCE, "two children waiting in recv", || {
        (server.children().len() == 2).then_some(())
    });
    Some((server, pipe, waiting))
}

/// The two waiting clients are answered, their children reaped, and a new
/// client is served: the parent went through every failed fork alive.
fn still_serving(mut server: testkit::Server, waiting: [std::net::TcpStream; 2]) {
    for mut client in waiting {
        send_request(&mut client, "/hello");
        assert_eq!(read_to_eof(&mut client), common::HTTP_RESPONSE);
    }
    eventually(PATIENCE, "both children reaped", || {
        server.children().is_empty().then_some(())
    });
    assert_eq!(server.get_to_eof("/hello"), common::HTTP_RESPONSE);
    assert!(server.is_running(), "the server died");
}

#[test]
fn a_failed_fork_with_nobody_reading_stderr_costs_the_server_nothing() {
    let _alone = one_at_a_time();
    // `webserver3g 2>&1 >/dev/null | head -1`: stderr's reader is gone, and
    // the line about the failed fork finds nobody (std's eprintln! panics).
    let Some((server, stderr, waiting)) =
        with_every_fork_failing(|launch| launch.start_with_stderr_pipe(""))
    else {
        return;
    };
    drop(stderr);
    let mut third = server.connect();
    assert_eq!(read_to_eof(&mut third), b"", "an answer without a child?");
    still_serving(server, waiting);
}

#[test]
fn failed_forks_that_fill_stderr_do_not_block_the_parent() {
    let _alone = one_at_a_time();
    // Nobody reads stderr, a pipe of 4 KiB: some 80 lines about failed
    // forks fill it, and a blocking write would leave the parent stuck.
    let Some((server, stderr, waiting)) =
        with_every_fork_failing(|launch| launch.start_with_stderr_pipe(""))
    else {
        return;
    };
    stderr.shrink(4096);
    for _ in 0..200 {
        let mut refused = server.connect();
        assert_eq!(read_to_eof(&mut refused), b"", "an answer without a child?");
    }
    still_serving(server, waiting);
}
