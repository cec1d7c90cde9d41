//! Two more promises every server binary keeps, checked by
//! [`server_contract_tests!`](crate::server_contract_tests): it answers
//! `--help` and refuses an unknown argument, and a log reader that goes
//! away does not take the server with it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;

use crate::{children_of, eventually, Launch, Server, PATIENCE};

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

/// `server | head -1`: the reader of the server's stdout exits after the
/// first line, so every later write to the pipe fails with EPIPE. The
/// server must go on answering (std's `println!` would panic, and kill it).
/// `requests` is how many clients to try after the reader is gone: 3e,
/// which dies of its first child's SIGCHLD by design, gets one.
pub fn survives_a_closed_stdout(binary: &str, requests: usize) {
    let server = start_behind(binary, "head -1");
    eventually(PATIENCE, "head to exit after the first line", || {
        let children = children_of(server.pid());
        (children.len() == 1 && children.iter().all(|child| child.state != 'Z')).then_some(())
    });
    for request in 0..requests {
        assert_answered(&server, "/hello", request, "after the log reader left");
    }
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

/// `server | (head -1; sleep 1000)`: the reader takes the first line and
/// then never reads again, so the pipe fills (64 KiB) and a blocking
/// `write(2)` would stop the server. Each request here has a path of about
/// a kilobyte, which every server logs, so `requests` of them overflow the
/// pipe several times. The server must answer them all.
pub fn survives_a_full_stdout(binary: &str, requests: usize) {
    let server = start_behind(binary, "(head -1; exec sleep 1000)");
    let long_path = format!("/{}", "x".repeat(900));
    for request in 0..requests {
        assert_answered(&server, &long_path, request, "with a full log pipe");
    }
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

/// Starts `binary` with its stdout piped into `reader` (a shell command):
/// `sh -c '"$0" | READER' BINARY`. sh is the process the test knows; the
/// banner reaches the test through the reader. From the repository root,
/// where the static servers find ./html (the tests of a lesson crate run in
/// that crate's directory, one level down), with `SLEEP_SECS=0`.
fn start_behind(binary: &str, reader: &str) -> Server {
    let repository = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .and_then(|crate_directory| crate_directory.parent().map(PathBuf::from))
        .expect("cargo test sets CARGO_MANIFEST_DIR");
    Launch::new("sh")
        .args(["-c", &format!("\"$0\" | {reader}"), binary])
        .env("SLEEP_SECS", "0")
        .current_dir(repository)
        .start_with_any_banner()
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
