//! uring_server against the promises every static server keeps about HTTP (the scenarios
//! shared with nonblock_server and epoll_server, in `testkit::static_server`), and what
//! io_uring adds: it sleeps while idle, survives running out of descriptors without
//! spinning (its multishot accept ends on EMFILE and is armed again after a ring timeout),
//! and answers a small file in two system calls, both io_uring_enter.
//!
//! Where io_uring is missing or forbidden on the machine running the tests, each test says
//! so and passes: tests/unavailable.rs proves what the server does there.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::OnceLock;
use std::thread;

use nix::sys::signal::Signal;
use testkit::static_server as scenario;
use testkit::{eventually, read_response, PATIENCE};

const BINARY: &str = env!("CARGO_BIN_EXE_uring_server");
const NONE: &[&str] = &[];

/// Why the server cannot run here, if it cannot: a ring set up as the server sets up its
/// own (io_uring_setup with SINGLE_ISSUER and DEFER_TASKRUN) is refused. Asked once, on a
/// thread of its own: tearing a ring down queues work on the thread that made it, which
/// interrupts that thread's next blocking call (a test's read with a timeout fails EINTR).
fn io_uring_unavailable() -> Option<String> {
    static ANSWER: OnceLock<Option<String>> = OnceLock::new();
    ANSWER
        .get_or_init(|| {
            thread::spawn(|| {
                let ring =
                    io_uring::IoUring::<io_uring::squeue::Entry, io_uring::cqueue::Entry>::builder(
                    )
                    .setup_single_issuer()
                    .setup_defer_taskrun()
                    .build(8);
                ring.err().map(|error| {
                    format!(
                        "io_uring is not available here (io_uring_setup: {error}); \
                         check: cat /proc/sys/kernel/io_uring_disabled"
                    )
                })
            })
            .join()
            .expect("the thread that tries io_uring")
        })
        .clone()
}

testkit::server_contract_tests!(BINARY, unless io_uring_unavailable);
testkit::static_server_scenario_tests!(BINARY, NONE, unless io_uring_unavailable);

/// Skips the test, saying why, where io_uring is unavailable.
macro_rules! needs_io_uring {
    () => {
        if let Some(reason) = io_uring_unavailable() {
            eprintln!("skipped: {reason}");
            return;
        }
    };
}

#[test]
fn sleeps_while_idle() {
    needs_io_uring!();
    scenario::sleeps_while_idle(BINARY, NONE);
}

#[test]
fn survives_running_out_of_descriptors_without_spinning() {
    needs_io_uring!();
    scenario::survives_running_out_of_descriptors(BINARY, NONE, true);
}

#[test]
fn answers_a_small_file_in_at_most_2_system_calls() {
    needs_io_uring!();
    scenario::answers_a_small_file_in_at_most(BINARY, NONE, 2);
}

#[test]
fn serves_the_sample_site_from_the_default_root() {
    needs_io_uring!();
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    scenario::serves_the_sample_site_from_the_default_root(BINARY, NONE, repository);
}

/// Arguments are refused before io_uring is looked at: no skip.
#[test]
fn rejects_bad_arguments_with_usage() {
    scenario::rejects_bad_arguments_with_usage(
        BINARY,
        &[
            &["--no-such-option"],
            &["not-a-port"],
            &["70000"],
            &["--trigger", "edge"],
            &["--idle-timeout", "0"],
            &["--header-timeout", "0"],
        ],
    );
}

#[test]
fn listens_on_the_port_given_as_argument() {
    needs_io_uring!();
    scenario::listens_on_the_port_given_as_argument(BINARY);
}

/// More bytes arrive at once than the ring has provided buffers for (1,024 of 4 KiB):
/// while the server is stopped, 1,000 clients connect and each sends a request head of
/// 5 KiB. When it runs again, it accepts them all in one turn and arms their receives in
/// the next; those complete at once, two buffers each, until the ring runs dry and the
/// rest complete with ENOBUFS. The server arms those again as buffers come back, and
/// every request is answered.
#[test]
fn answers_a_burst_larger_than_the_buffer_ring() {
    needs_io_uring!();
    const CLIENTS: usize = 1000; // fewer than the listen backlog, 1,024
    let limit = testkit::raise_open_file_limit();
    assert!(
        limit > 2 * CLIENTS as u64 + 100,
        "this test needs {} descriptors; the hard limit is {limit}",
        2 * CLIENTS + 100
    );
    let site = scenario::test_site();
    let server = scenario::launch(BINARY, &["--quiet"], site.path()).start_server();
    server.signal(Signal::SIGSTOP);
    eventually(PATIENCE, "the server stopped", || {
        (server.state() == Some('T')).then_some(())
    });
    let padded = format!(
        "GET /a.txt HTTP/1.1\r\nHost: localhost\r\nX-Padding: {}\r\n\r\n",
        "x".repeat(5 * 1024)
    );
    let mut clients: Vec<BufReader<TcpStream>> = (0..CLIENTS)
        .map(|_| {
            let mut stream = server.connect();
            stream.write_all(padded.as_bytes()).unwrap();
            BufReader::new(stream)
        })
        .collect();
    server.signal(Signal::SIGCONT);
    for (index, client) in clients.iter_mut().enumerate() {
        let response =
            read_response(client, false).unwrap_or_else(|error| panic!("client {index}: {error}"));
        assert_eq!(response.body_text(), "first", "client {index}");
    }
}
