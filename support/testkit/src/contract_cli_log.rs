//! Two more promises every server binary keeps, checked by
//! [`server_contract_tests!`](crate::server_contract_tests): it answers
//! `--help` and refuses an unknown argument, and a log reader that goes
//! away does not take the server with it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;

use crate::{Launch, Server, StdoutPipe, PATIENCE};

/// `--help` exits 0 and names the program's chapter in the book; an
/// unknown argument exits 2 with a message on stderr and no panic.
pub fn answers_help_and_refuses_unknown_arguments(binary: &str) {
    let help = Command::new(binary)
        .arg("--help")
        .output()
        .expect("run --help");
    let text = String::from_utf8_lossy(&help.stdout);
    assert_eq!(help.status.code(), Some(0), "--help: {text}");
    assert!(
        text.contains("docs/src/"),
        "--help names no chapter: {text}"
    );

    let wrong = Command::new(binary)
        .arg("--no-such-option")
        .output()
        .expect("run with an unknown argument");
    let complaint = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(wrong.status.code(), Some(2), "stderr: {complaint}");
    assert!(
        complaint.contains("--no-such-option"),
        "stderr: {complaint}"
    );
    assert!(!complaint.contains("panicked"), "stderr: {complaint}");
}

/// `server | head -1`: the reader of the server's stdout goes away after
/// the banner, so every later write to the pipe fails with EPIPE. The server
/// must go on answering (std's `println!` would panic, and kill it).
/// `requests` is how many clients to try after the reader is gone: 3e,
/// which dies of its first child's SIGCHLD by design, gets one.
pub fn survives_a_closed_stdout(binary: &str, requests: usize) {
    survives_a_closed_stdout_of(|| Launch::new(binary), requests);
}

/// [`survives_a_closed_stdout`] for a server started by `launch` (for one
/// that needs arguments).
pub fn survives_a_closed_stdout_of(launch: impl Fn() -> Launch, requests: usize) {
    let (server, stdout) = start_with_pipe(launch());
    drop(stdout);
    for request in 0..requests {
        assert_answered(&server, "/hello", request, "after the log reader left");
    }
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

/// `server | sleep 1000`: the reader never reads, so the pipe fills (64 KiB)
/// and a blocking `write(2)` would stop the server. Each request here has a
/// path of about a kilobyte, which every server logs (the static servers
/// cut it to 200 bytes), so `requests` of them overflow the pipe several
/// times. The server must answer them all; and when the test reads the pipe
/// at last and sends one more request, the next line out is the note of how
/// many lines were dropped meanwhile (in a forking server too: the count is
/// shared with the children).
pub fn survives_a_full_stdout(binary: &str, requests: usize) {
    survives_a_full_stdout_of(|| Launch::new(binary), requests);
}

/// [`survives_a_full_stdout`] for a server started by `launch`.
pub fn survives_a_full_stdout_of(launch: impl Fn() -> Launch, requests: usize) {
    let (server, mut stdout) = start_with_pipe(launch());
    let long_path = format!("/{}", "x".repeat(900));
    for request in 0..requests {
        assert_answered(&server, &long_path, request, "with a full log pipe");
    }
    let backlog = stdout.read_what_is_there();
    assert!(
        backlog.len() >= 32 * 1024,
        "the pipe held only {} bytes: it should have filled",
        backlog.len()
    );
    // The note comes with the first line that gets out after the drain,
    // which may be the server's last words on the final connection, read
    // with the backlog; else one more request makes a line.
    if !backlog.contains("lines of log dropped") {
        assert_answered(&server, "/hello", requests, "once the log was read");
        let mut seen = Vec::new();
        loop {
            let Some(line) = stdout.read_line(PATIENCE) else {
                panic!("no note of dropped lines once the log was read; lines: {seen:?}");
            };
            if line.contains("lines of log dropped") {
                break;
            }
            seen.push(line);
        }
    }
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

/// Starts the server with stdout a pipe the test holds, from the repository
/// root (where the static servers find ./html; the tests of a lesson crate
/// run in that crate's directory, one level down), with `SLEEP_SECS=0`.
fn start_with_pipe(launch: Launch) -> (Server, StdoutPipe) {
    let repository = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .and_then(|crate_directory| crate_directory.parent().map(PathBuf::from))
        .expect("cargo test sets CARGO_MANIFEST_DIR");
    launch
        .env("SLEEP_SECS", "0")
        .current_dir(repository)
        .start_with_stdout_pipe("")
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
