//! loadgen against a listener the test scripts: it counts what was answered
//! and what failed, by kind; it holds every connection open until all are
//! answered; it makes every keep-alive request on its connection, and
//! counts those a connection could not make as failed with it; it reads to end-of-file when there is no Content-Length; it
//! stays within its time bound; it only loads this machine; it raises its
//! descriptor limit, and says so, or says why it cannot.

use std::collections::BTreeMap;

use testkit::{Launch, Reply, ScriptedListener};

const LOADGEN: &str = env!("CARGO_BIN_EXE_loadgen");

const GOOD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

/// loadgen in `mode` (`hold` or `close`), aimed at `server`.
fn loadgen_against(server: &ScriptedListener, mode: &str) -> Launch {
    Launch::new(LOADGEN).args([mode, "--port", &server.port().to_string()])
}

/// Runs loadgen to its exit; returns its report as `key → value`.
fn run_loadgen(launch: Launch) -> BTreeMap<String, String> {
    let mut process = launch.spawn();
    let code = process.wait_for_exit();
    assert_eq!(code, 0, "loadgen failed: {}", process.stderr());
    process
        .stdout_lines()
        .iter()
        .filter_map(|line| line.split_once(": "))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

fn count(report: &BTreeMap<String, String>, key: &str) -> usize {
    report
        .get(key)
        .unwrap_or_else(|| panic!("no {key:?} in {report:?}"))
        .parse()
        .unwrap()
}

#[test]
fn hold_keeps_every_connection_open_until_all_are_answered() {
    let server = ScriptedListener::start(|_, _| Reply::AnswerAndKeepOpen(GOOD.to_vec()));
    // At most 5 unanswered at a time: if loadgen closed a connection once
    // it was answered, the server would never see more than 5 open.
    let report = run_loadgen(loadgen_against(&server, "hold").args([
        "--path",
        "/small.html",
        "--connections",
        "60",
        "--max-in-flight",
        "5",
    ]));
    assert_eq!(count(&report, "answered"), 60, "{report:?}");
    assert_eq!(count(&report, "failed"), 0, "{report:?}");
    assert_eq!(server.most_open_at_once(), 60);
    assert_eq!(server.requests(), 60);
    assert_eq!(
        server.requests_asking_to_close(),
        0,
        "hold asks for keep-alive"
    );
    assert!(report["latency_ms"].starts_with("p50="), "{report:?}");
}

#[test]
fn hold_counts_each_kind_of_failure() {
    // Six behaviours, ten connections each, by order of accept.
    let server = ScriptedListener::start(|index, _| match index % 6 {
        0 => Reply::AnswerAndKeepOpen(GOOD.to_vec()),
        1 => Reply::AnswerAndKeepOpen(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
        ),
        2 => Reply::Close,
        3 => Reply::AnswerAndKeepOpen(b"HTTP/1.1 200 OK\r\n\r\nhello".to_vec()),
        4 => Reply::AnswerAndClose(GOOD.to_vec()),
        _ => Reply::Ignore,
    });
    let report = run_loadgen(loadgen_against(&server, "hold").args([
        "--connections",
        "60",
        "--timeout",
        "2",
        "--hold",
        "0.5",
    ]));
    assert_eq!(count(&report, "answered"), 10, "{report:?}");
    assert_eq!(count(&report, "failed"), 50, "{report:?}");
    for kind in [
        "status 404",
        "closed before response",
        "no Content-Length",
        "closed while held",
        "timeout",
    ] {
        assert_eq!(
            count(&report, &format!("failed[{kind}]")),
            10,
            "{kind}: {report:?}"
        );
    }
}

#[test]
fn close_reads_a_response_without_content_length_to_end_of_file() {
    // webserver3a's answer: no Content-Length, the end is the close.
    let server = ScriptedListener::start(|_, _| {
        Reply::AnswerAndClose(b"HTTP/1.1 200 OK\r\n\r\nHello, World!\r\n".to_vec())
    });
    let report = run_loadgen(loadgen_against(&server, "close").args(["--duration", "0.3"]));
    let answered = count(&report, "answered");
    assert!(answered > 0, "{report:?}");
    assert_eq!(count(&report, "failed"), 0, "{report:?}");
    // One connection per request, each asking to be closed.
    assert_eq!(server.accepted(), answered);
    assert_eq!(server.requests_asking_to_close(), answered);
}

#[test]
fn close_counts_a_body_cut_short_as_failed() {
    let server = ScriptedListener::start(|_, _| {
        Reply::AnswerAndClose(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello".to_vec())
    });
    let report = run_loadgen(loadgen_against(&server, "close").args(["--duration", "0.2"]));
    let failed = count(&report, "failed");
    assert!(failed > 0, "{report:?}");
    assert_eq!(count(&report, "answered"), 0, "{report:?}");
    assert_eq!(count(&report, "failed[closed inside response]"), failed);
}

#[test]
fn raises_its_open_file_limit_to_the_hard_limit_and_says_so() {
    let server = ScriptedListener::start(|_, _| Reply::AnswerAndKeepOpen(GOOD.to_vec()));
    let report = run_loadgen(
        loadgen_against(&server, "hold")
            .open_file_limits(64, 512)
            .args(["--connections", "200"]),
    );
    assert_eq!(
        report["open-file limit"],
        "200 connections did not fit in 64; raised the soft limit to the hard limit, 512"
    );
    assert_eq!(count(&report, "answered"), 200, "{report:?}");
}

#[test]
fn says_when_the_connections_do_not_fit_the_hard_limit() {
    let server = ScriptedListener::start(|_, _| Reply::AnswerAndKeepOpen(GOOD.to_vec()));
    let mut process = loadgen_against(&server, "hold")
        .open_file_limit(64)
        .args(["--connections", "100"])
        .spawn();
    assert_eq!(process.wait_for_exit(), 1);
    assert_eq!(
        process.stderr(),
        "loadgen: 100 connections need 116 open files, but the hard limit (ulimit -Hn) \
         is 64: raise it as root, or ask for fewer connections\n"
    );
    assert_eq!(server.accepted(), 0, "no connection before the check");
}

#[test]
fn loads_only_this_machine() {
    let mut process = Launch::new(LOADGEN)
        .args(["hold", "--host", "192.0.2.1", "--port", "80"])
        .spawn();
    assert_eq!(process.wait_for_exit(), 1);
    assert_eq!(
        process.stderr(),
        "loadgen: 192.0.2.1 is not a loopback address: loadgen only loads servers on this machine\n"
    );
}

#[test]
fn close_waits_for_the_server_to_close_the_connection() {
    // A complete response, but the server ignores `Connection: close`: the
    // request is not over until the server closes, so each of the 4 in
    // flight ends as a timeout.
    let server = ScriptedListener::start(|_, _| Reply::AnswerAndKeepOpen(GOOD.to_vec()));
    let report = run_loadgen(loadgen_against(&server, "close").args([
        "--duration",
        "0.2",
        "--timeout",
        "0.3",
    ]));
    assert_eq!(count(&report, "answered"), 0, "{report:?}");
    assert_eq!(count(&report, "failed[timeout]"), 4, "{report:?}");
    assert_eq!(server.accepted(), 4);
}

#[test]
fn keep_makes_every_request_on_its_own_connection() {
    let server = ScriptedListener::start(|_, _| Reply::AnswerEach(GOOD.to_vec()));
    let report = run_loadgen(loadgen_against(&server, "keep").args([
        "--path",
        "/small.html",
        "--connections",
        "4",
        "--requests",
        "25",
    ]));
    assert_eq!(count(&report, "answered"), 100, "{report:?}");
    assert_eq!(count(&report, "failed"), 0, "{report:?}");
    assert_eq!(server.accepted(), 4, "one connection for 25 requests");
    assert_eq!(server.requests(), 100);
    assert_eq!(server.requests_asking_to_close(), 0);
    // Each closed by loadgen after its last answer.
    testkit::eventually(testkit::PATIENCE, "the connections closed", || {
        (server.open() == 0).then_some(())
    });
}

#[test]
fn keep_counts_what_a_connection_could_not_ask_as_failed() {
    // Connections 0 and 1 answer every request; 2 answers the first and
    // then no other; 3 closes after the first.
    let server = ScriptedListener::start(|index, _| match index {
        0 | 1 => Reply::AnswerEach(GOOD.to_vec()),
        2 => Reply::AnswerAndKeepOpen(GOOD.to_vec()),
        _ => Reply::AnswerAndClose(GOOD.to_vec()),
    });
    let report = run_loadgen(loadgen_against(&server, "keep").args([
        "--connections",
        "4",
        "--requests",
        "10",
        "--timeout",
        "1",
    ]));
    assert_eq!(count(&report, "answered"), 22, "{report:?}");
    assert_eq!(count(&report, "failed"), 18, "{report:?}");
    assert_eq!(count(&report, "failed[timeout]"), 9, "{report:?}");
}
