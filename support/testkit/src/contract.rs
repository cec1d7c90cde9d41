//! The contract every server binary of the workspace keeps, as checks that
//! each crate's tests call on its own binary (see
//! [`server_contract_tests`](crate::server_contract_tests)).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use crate::{contains, read_until_contains, send_request, Launch, Process, Server};

/// Asserts that a process failed the way a learner should see it fail:
/// exit code 1 and one line on stderr, naming what is wrong; no panic,
/// no backtrace.
pub fn assert_one_line_error(process: &mut Process, mentions: &str) {
    let code = process.wait_for_exit();
    let stderr = process.stderr();
    assert_eq!(code, 1, "exit code; stderr: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line on stderr, got: {stderr:?}"
    );
    assert!(
        stderr.contains(mentions),
        "stderr should mention {mentions:?}: {stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "a panic: {stderr}");
}

/// `PORT=nope` is refused with a one-line error and exit code 1.
pub fn rejects_a_bad_port(binary: &str) {
    rejects_a_bad_port_of(|| Launch::new(binary));
}

/// [`rejects_a_bad_port`] for a server that needs more than its binary to
/// start (an argument: `|| Launch::new(BINARY).arg("hello")`).
pub fn rejects_a_bad_port_of(launch: impl Fn() -> Launch) {
    for port in ["nope", "70000"] {
        let mut process = launch().env("PORT", port).spawn();
        assert_one_line_error(&mut process, "PORT");
    }
}

/// A port another socket is listening on is refused with a one-line
/// error naming the problem, and exit code 1.
pub fn reports_an_address_in_use(binary: &str) {
    reports_an_address_in_use_of(|| Launch::new(binary));
}

/// [`reports_an_address_in_use`] for a server that needs more than its
/// binary to start.
pub fn reports_an_address_in_use_of(launch: impl Fn() -> Launch) {
    let holder = TcpListener::bind("0.0.0.0:0").expect("bind a port to hold");
    let port = holder.local_addr().expect("getsockname").port().to_string();
    let mut process = launch().env("PORT", &port).spawn();
    assert_one_line_error(&mut process, "Address already in use");
}

/// `SLEEP_SECS=soon` is refused with a one-line error and exit code 1.
pub fn rejects_a_bad_sleep(binary: &str) {
    let mut process = Launch::new(binary).env("SLEEP_SECS", "soon").spawn();
    assert_one_line_error(&mut process, "SLEEP_SECS");
}

/// The server answers a request with `response`, all of it (status line,
/// blank line and body), then closes the connection: [`Server::get_to_eof`]
/// returns only once the server has closed.
pub fn answers_with_and_closes(server: &Server, response: &[u8]) {
    let answer = server.get_to_eof("/hello");
    assert!(
        answer == response,
        "answered {:?}, expected {:?}",
        String::from_utf8_lossy(&answer),
        String::from_utf8_lossy(response)
    );
}

/// The server prints the request line of each request it reads, in the
/// order it reads them.
pub fn prints_each_request_line(server: &Server) {
    server.get_to_eof("/first");
    server.get_to_eof("/second");
    server.wait_for_line("the first request", |line| line == "GET /first HTTP/1.1");
    server.wait_for_line("the second request", |line| line == "GET /second HTTP/1.1");
}

/// A request whose target holds what a terminal obeys: an escape sequence
/// that retitles the window (OSC 0, ended by BEL), one that clears the
/// screen, a carriage return that sends the cursor back to overwrite the
/// line with a forged one, a backspace, and a C1 control (U+009B, CSI in
/// one character). `HOSTILE` marks it in the log.
pub const HOSTILE_REQUEST: &[u8] = b"GET /HOSTILE\x1b]0;retitled\x07\x1b[2J\rforged line\x08 \xc2\x9b31m HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// A server that prints what a client sent shows its control characters
/// escaped (`\x1b`), so that a client cannot drive the terminal reading
/// the log (move the cursor, retitle the window, forge log lines). The
/// only control bytes on stdout and stderr are line ends, `\n` or `\r\n`.
///
/// `then_more` sends one plain request after the hostile one and waits for
/// its line, by which time the hostile one's is out too; without it (a
/// server that serves one client only), the test waits for the `HOSTILE`
/// line itself, which such a server must print.
pub fn escapes_what_clients_send(server: &Server, then_more: bool) {
    // One read of the answer, not a read to end-of-file: webserver3d's
    // parent keeps every connection open.
    let mut stream = server.connect();
    stream.write_all(HOSTILE_REQUEST).expect("send a request");
    let _ = stream.read(&mut [0u8; 64]);
    if then_more {
        let mut stream = server.connect();
        send_request(&mut stream, "/after-the-hostile-one");
        let _ = stream.read(&mut [0u8; 64]);
        server.wait_for_line("the plain request after the hostile one", |line| {
            line.contains("/after-the-hostile-one")
        });
    } else {
        server.wait_for_line("the hostile request", |line| line.contains("HOSTILE"));
    }
    for (log, text) in [("stdout", server.stdout()), ("stderr", server.stderr())] {
        if let Some(at) = raw_control_character(text.as_bytes()) {
            let around = &text.as_bytes()[at.saturating_sub(40)..(at + 40).min(text.len())];
            panic!(
                "a control character from the client, raw on {log} at byte {at}: {:?}",
                String::from_utf8_lossy(around)
            );
        }
    }
}

/// Where `bytes` hold a control character other than a line end (`\n`, or
/// `\r` right before one): C0, DEL, or C1 (in UTF-8, `\xc2\x80` to
/// `\xc2\x9f`).
pub fn raw_control_character(bytes: &[u8]) -> Option<usize> {
    bytes.iter().enumerate().position(|(at, &byte)| {
        let next = bytes.get(at + 1).copied();
        match byte {
            b'\n' => false,
            b'\r' => next != Some(b'\n'),
            0xc2 => next.is_some_and(|next| (0x80..=0x9f).contains(&next)),
            _ => byte < 0x20 || byte == 0x7f,
        }
    })
}

/// Something a client does to a server that it should survive.
type Misbehaviour = fn(&Server);

/// Clients that misbehave do not bring the server down: one that
/// connects and closes at once, one that sends bytes that are not UTF-8,
/// one that resets the connection, one whose request is longer than the
/// 1024 bytes the stages read. After each, a plain request still gets
/// the greeting, and nothing panicked.
pub fn survives_hostile_clients(server: &Server) {
    let greeting = b"Hello, World!";
    let hostile: [(&str, Misbehaviour); 4] = [
        ("an empty connection", |server| drop(server.connect())),
        ("bytes that are not UTF-8", |server| {
            let mut stream = server.connect();
            stream
                .write_all(b"\xff\xfe\xfd GET /\x80 \r\n\r\n")
                .unwrap();
            read_until_contains(&mut stream, b"Hello, World!");
        }),
        ("a reset", |server| {
            let mut stream = server.connect();
            stream.write_all(b"GET / HTTP/1.1\r\n").unwrap();
            // SO_LINGER with a zero timeout turns close into a reset (RST).
            socket2::SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
        }),
        ("a request longer than 1024 bytes", |server| {
            let mut stream = server.connect();
            let long_path = "/".to_owned() + &"x".repeat(4000);
            send_request(&mut stream, &long_path);
            // The server reads 1024 bytes and may close with the rest
            // unread, which resets the connection: either outcome is
            // the server's right. It must not crash.
            let _ = stream.read(&mut [0u8; 64]);
        }),
    ];
    for (what, misbehave) in hostile {
        misbehave(server);
        let mut stream = server.connect();
        send_request(&mut stream, "/hello");
        let answer = read_until_contains(&mut stream, greeting);
        assert!(
            contains(&answer, greeting),
            "no greeting after {what}; got {answer:?}; stderr: {}",
            server.stderr()
        );
    }
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

/// The server, its output drained, started as the log scenarios start it
/// (from the repository root, `SLEEP_SECS=0`); its banner is any line that
/// says `on port N`.
pub fn start_for_the_log(launch: Launch) -> Server {
    crate::contract_cli_log::in_the_repository(launch).start_with_banner("")
}

/// The contract of a server binary, as `#[test]`s: a bad `PORT` and an
/// address in use each give a one-line error and exit code 1; `--help`
/// exits 0 and an unknown argument 2; the server keeps answering when the
/// reader of its stdout or its stderr goes away or stops reading, and when
/// its stdout is a terminal nobody reads or that reads slowly; it shows
/// what a client sent with control characters escaped; with `sleeps`, a bad
/// `SLEEP_SECS` is a one-line error too.
///
/// ```text
/// testkit::server_contract_tests!(env!("CARGO_BIN_EXE_webserver3a"));
/// testkit::server_contract_tests!(env!("CARGO_BIN_EXE_webserver3b"), sleeps);
/// testkit::server_contract_tests!(env!("CARGO_BIN_EXE_webserver3e"), sleeps, dies_after_one_child);
/// ```
///
/// With `unless SKIP`, each test first calls `SKIP()`, which returns
/// `Some(reason)` where the server cannot run on this machine, and then
/// prints `skipped: reason` and passes (see
/// [`static_server_scenario_tests!`](crate::static_server_scenario_tests)).
#[macro_export]
macro_rules! server_contract_tests {
    ($binary:expr) => {
        $crate::server_contract_tests!(@startup {} $binary);
        $crate::server_contract_tests!(@log {} $binary);
    };
    ($binary:expr, unless $skip:path) => {
        $crate::server_contract_tests!(@startup {
            if let Some(reason) = $skip() {
                eprintln!("skipped: {reason}");
                return;
            }
        } $binary);
        $crate::server_contract_tests!(@log {
            if let Some(reason) = $skip() {
                eprintln!("skipped: {reason}");
                return;
            }
        } $binary);
    };
    ($binary:expr, sleeps) => {
        $crate::server_contract_tests!($binary);
        $crate::server_contract_tests!(@sleep $binary);
    };
    // webserver3e dies of its first child's SIGCHLD by design: its log can
    // be checked on one client only.
    ($binary:expr, sleeps, dies_after_one_child) => {
        $crate::server_contract_tests!(@startup {} $binary);
        $crate::server_contract_tests!(@sleep $binary);

        #[test]
        fn keeps_answering_when_its_log_reader_goes_away() {
            $crate::contract_cli_log::survives_a_closed_stdout_of(|| $crate::Launch::new($binary), 1);
        }

        #[test]
        fn shows_what_a_client_sent_with_control_characters_escaped() {
            let server = $crate::contract::start_for_the_log($crate::Launch::new($binary));
            $crate::contract::escapes_what_clients_send(&server, false);
        }
    };
    (@startup {$($prelude:tt)*} $binary:expr) => {
        #[test]
        fn a_bad_port_is_a_one_line_error_with_exit_code_1() {
            $($prelude)*
            $crate::contract::rejects_a_bad_port($binary);
        }

        #[test]
        fn an_address_in_use_is_a_one_line_error_with_exit_code_1() {
            $($prelude)*
            $crate::contract::reports_an_address_in_use($binary);
        }

        #[test]
        fn answers_help_and_refuses_an_unknown_argument_with_exit_code_2() {
            $($prelude)*
            $crate::contract_cli_log::answers_help_and_refuses_unknown_arguments($binary);
        }
    };
    (@log {$($prelude:tt)*} $binary:expr) => {
        #[test]
        fn keeps_answering_when_its_log_reader_goes_away() {
            $($prelude)*
            $crate::contract_cli_log::survives_a_closed_stdout_of(|| $crate::Launch::new($binary), 3);
        }

        #[test]
        fn keeps_answering_when_nobody_reads_its_log() {
            $($prelude)*
            $crate::contract_cli_log::survives_a_full_stdout_of(|| $crate::Launch::new($binary), 400);
        }

        #[test]
        fn keeps_answering_when_its_stderr_reader_goes_away() {
            $($prelude)*
            $crate::contract_cli_log::survives_a_closed_stderr_of(|| $crate::Launch::new($binary), 3);
        }

        #[test]
        fn keeps_answering_when_nobody_reads_its_stderr() {
            $($prelude)*
            $crate::contract_cli_log::survives_a_full_stderr_of(|| $crate::Launch::new($binary), 200);
        }

        #[test]
        fn keeps_answering_when_nobody_reads_its_terminal() {
            $($prelude)*
            $crate::contract_cli_log::survives_a_terminal_nobody_reads_of(|| $crate::Launch::new($binary), 400);
        }

        #[test]
        fn keeps_answering_when_its_terminal_reads_slowly() {
            $($prelude)*
            $crate::contract_cli_log::survives_a_slow_terminal_of(|| $crate::Launch::new($binary), 400);
        }

        #[test]
        fn shows_what_a_client_sent_with_control_characters_escaped() {
            $($prelude)*
            let server = $crate::contract::start_for_the_log($crate::Launch::new($binary));
            $crate::contract::escapes_what_clients_send(&server, true);
        }
    };
    (@sleep $binary:expr) => {
        #[test]
        fn a_bad_sleep_is_a_one_line_error_with_exit_code_1() {
            $crate::contract::rejects_a_bad_sleep($binary);
        }
    };
}
