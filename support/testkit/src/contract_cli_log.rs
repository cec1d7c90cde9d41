//! More promises every server binary keeps, checked by
//! [`server_contract_tests!`](crate::server_contract_tests): it answers
//! `--help` and refuses an unknown argument, and its logs (stdout and
//! stderr) cannot stop it: not a reader that goes away, not one that never
//! reads, not a terminal that nobody reads or that reads slowly.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::{Launch, LogPipe, Server, PATIENCE};

/// What the note says that comes before the first line after some were
/// dropped, on stdout or stderr.
const DROPPED_NOTE: &str = "lines of log dropped";

/// `--help` exits 0 and names the program's chapter in the book; an
/// unknown argument exits 2 with a message on stderr and no panic. Each
/// run is bounded, as every wait of testkit.
pub fn answers_help_and_refuses_unknown_arguments(binary: &str) {
    let mut help = Launch::new(binary).arg("--help").spawn();
    assert_eq!(help.wait_for_exit(), 0, "--help: {}", help.stderr());
    let text = help.stdout();
    assert!(
        text.contains("docs/src/"),
        "--help names no chapter: {text}"
    );

    let mut wrong = Launch::new(binary).arg("--no-such-option").spawn();
    let code = wrong.wait_for_exit();
    let complaint = wrong.stderr();
    assert_eq!(code, 2, "stderr: {complaint}");
    let named = complaint.contains("--no-such-option");
    assert!(named, "stderr: {complaint}");
    assert!(!complaint.contains("panicked"), "stderr: {complaint}");
}

/// `server | head -1`: the reader of the server's stdout goes away after
/// the banner, so every later write to the pipe fails with EPIPE. The server
/// must go on answering (std's `println!` would panic, and kill it).
/// `requests` is how many clients to try after the reader is gone: 3e,
/// which dies of its first child's SIGCHLD by design, gets one.
pub fn survives_a_closed_stdout_of(launch: impl Fn() -> Launch, requests: usize) {
    let (server, stdout) = in_the_repository(launch()).start_with_stdout_pipe("");
    drop(stdout);
    for request in 0..requests {
        assert_answered(&server, "/hello", request, "after the log reader left");
    }
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

/// `server | sleep 1000`: the reader never reads, so the pipe fills (64 KiB)
/// and a blocking `write(2)` would stop the server. The `requests` requests
/// have long paths (see [`send_long_requests`]), so they overflow the pipe
/// several times. The server must answer them all; and once the test reads
/// the pipe at last, the next line out is the note of how many lines were
/// dropped meanwhile (in a forking server too: the count is shared with
/// the children).
pub fn survives_a_full_stdout_of(launch: impl Fn() -> Launch, requests: usize) {
    let (server, mut stdout) = in_the_repository(launch()).start_with_stdout_pipe("");
    send_long_requests(&server, requests, "with a full log pipe");
    let backlog = stdout.read_what_is_there();
    assert!(
        backlog.len() >= 32 * 1024,
        "the pipe held only {} bytes: it should have filled",
        backlog.len()
    );
    expect_the_note(&server, &mut stdout, &backlog, requests, "stdout");
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

/// `server 2>&1 >/dev/null | head -1`, stderr's turn: the reader of the
/// server's stderr is gone, and `errors` clients in a row reset their
/// connection before sending anything, which a server that reports a
/// client's trouble on stderr does (`recv from client: Connection reset by
/// peer`). std's `eprintln!` panics on the first, and kills the server.
/// After each, a plain request must still be answered.
pub fn survives_a_closed_stderr_of(launch: impl Fn() -> Launch, errors: usize) {
    let (server, stderr) = in_the_repository(launch()).start_with_stderr_pipe("");
    drop(stderr);
    for error in 0..errors {
        reset_before_sending(&server);
        assert_answered(&server, "/hello", error, "after the stderr reader left");
    }
}

/// `server 2>&1 >/dev/null | sleep 1000`, stderr's turn: nobody reads the
/// server's stderr, a pipe shrunk to 4 KiB here (64 KiB by default, which
/// about 1,200 error lines fill), and `errors` clients in a row reset
/// their connection. A blocking write would stop the server (or, in a
/// forking one, leave the children stuck). Every plain request between
/// them must be answered, and once the test reads the pipe, the next error
/// line out is preceded by the note of how many were dropped.
///
/// A server that reports its clients' trouble on stdout (the static
/// servers) writes nothing to stderr here: for it only the answers count.
pub fn survives_a_full_stderr_of(launch: impl Fn() -> Launch, errors: usize) {
    let (server, mut stderr) = in_the_repository(launch()).start_with_stderr_pipe("");
    stderr.shrink(4096);
    for error in 0..errors {
        reset_before_sending(&server);
        assert_answered(&server, "/hello", error, "with a full stderr pipe");
    }
    let backlog = stderr.read_what_is_there();
    if backlog.len() < 2048 || backlog.contains(DROPPED_NOTE) {
        return; // it writes no error lines there, or the note came already
    }
    reset_before_sending(&server);
    assert_answered(&server, "/hello", errors, "once stderr was read");
    wait_for_the_note(&mut stderr, "stderr");
}

/// The server in a terminal window that nobody reads: its stdout is a
/// pseudo-terminal, and after the banner the test reads nothing while
/// `requests` requests with a path of about a kilobyte go by. A terminal
/// buffers some 64 KiB; then a blocking write, or one made because `poll`
/// said "some room" (which is all POLLOUT promises on a terminal), would
/// stop the server. It must answer them all; and once the test reads the
/// terminal, the next line out comes after the note of dropped lines.
pub fn survives_a_terminal_nobody_reads_of(launch: impl Fn() -> Launch, requests: usize) {
    let (server, mut terminal) = in_the_repository(launch()).start_with_stdout_on_terminal("");
    send_long_requests(&server, requests, "with nobody reading its terminal");
    let backlog = terminal.read_what_is_there();
    expect_the_note(&server, &mut terminal, &backlog, requests, "the terminal");
}

/// The same, with a terminal that is read 100 bytes a second (a slow
/// serial console, a congested ssh session): a server that waits for its
/// log to be read serves ten clients a minute.
pub fn survives_a_slow_terminal_of(launch: impl Fn() -> Launch, requests: usize) {
    let (server, mut terminal) = in_the_repository(launch()).start_with_stdout_on_terminal("");
    let stop = Arc::new(AtomicBool::new(false));
    let mut slow = terminal.try_clone();
    let reader = thread::spawn({
        let stop = Arc::clone(&stop);
        move || {
            while !stop.load(Ordering::SeqCst) {
                if slow.read_and_discard(Duration::ZERO, 100) == Some(0) {
                    break;
                }
                thread::sleep(Duration::from_secs(1));
            }
        }
    });
    send_long_requests(&server, requests, "with a slow terminal");
    stop.store(true, Ordering::SeqCst);
    reader.join().expect("the slow reader");
    let backlog = terminal.read_what_is_there();
    expect_the_note(&server, &mut terminal, &backlog, requests, "the terminal");
}

/// `requests` requests, each with a path of about a kilobyte, which every
/// server logs (the static servers cut it to 200 bytes); each must be
/// answered.
fn send_long_requests(server: &Server, requests: usize, when: &str) {
    let long_path = format!("/{}", "x".repeat(900));
    for request in 0..requests {
        assert_answered(server, &long_path, request, when);
    }
}

/// The note of dropped lines comes with the first line that gets out once
/// there is room, which may be the server's last words on the final
/// connection, read with the `backlog`; else one more request makes a
/// line, and the note must come before it.
fn expect_the_note(server: &Server, log: &mut LogPipe, backlog: &str, requests: usize, what: &str) {
    if !backlog.contains(DROPPED_NOTE) {
        assert_answered(server, "/hello", requests, "once the log was read");
        wait_for_the_note(log, what);
    }
}

/// Reads `log` until a line with the note of dropped lines; panics with
/// the lines seen when none comes within [`PATIENCE`].
fn wait_for_the_note(log: &mut LogPipe, what: &str) {
    let mut seen = Vec::new();
    loop {
        let Some(line) = log.read_line(PATIENCE) else {
            panic!("no note of dropped lines on {what} once it was read; lines: {seen:?}");
        };
        if line.contains(DROPPED_NOTE) {
            return;
        }
        seen.push(line);
    }
}

/// A client that connects and resets the connection (SO_LINGER 0, then
/// close) before sending a byte: the server's read fails with ECONNRESET,
/// a client's trouble that a server reports and survives.
fn reset_before_sending(server: &Server) {
    let stream = server.connect();
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
}

/// The launch from the repository root (where the static servers find
/// ./html; the tests of a lesson crate run in that crate's directory, one
/// level down), with `SLEEP_SECS=0`.
pub(crate) fn in_the_repository(launch: Launch) -> Launch {
    let repository = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .and_then(|crate_directory| crate_directory.parent().map(PathBuf::from))
        .expect("cargo test sets CARGO_MANIFEST_DIR");
    launch.env("SLEEP_SECS", "0").current_dir(repository)
}

/// Sends one request for `path` on a new connection and asserts that some
/// answer comes back.
fn assert_answered(server: &Server, path: &str, request: usize, when: &str) {
    let mut stream: TcpStream = server.connect();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .expect("send a request");
    let mut answer = [0u8; 64];
    let received = stream.read(&mut answer).unwrap_or(0);
    assert!(
        received > 0,
        "request {} {when} got no answer; stderr: {}",
        request + 1,
        server.stderr()
    );
}
