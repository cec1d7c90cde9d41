//! client3: many clients, each a process holding many connections; the
//! parent waits for them all and sums up, and failures are reported, not
//! panicked over.

use std::collections::BTreeSet;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use testkit::{
    eventually, Launch, Process, RecordingListener, RefusingPort, UnacceptingListener, PATIENCE,
};

const BINARY: &str = env!("CARGO_BIN_EXE_client3");

/// client3 with `arguments`; the environment as on the project's machines,
/// where RUST_BACKTRACE=1 would print a backtrace after any panic.
fn client3<const N: usize>(arguments: [&str; N]) -> Process {
    Launch::new(BINARY)
        .env("RUST_BACKTRACE", "1")
        .args(arguments)
        .spawn()
}

fn stderr_lines(process: &Process) -> Vec<String> {
    process.stderr().lines().map(str::to_owned).collect()
}

fn assert_no_panic(process: &Process) {
    let stderr = process.stderr();
    assert!(!stderr.contains("panicked"), "a panic: {stderr}");
    assert!(!stderr.contains("backtrace"), "a backtrace: {stderr}");
}

#[test]
fn help_shows_every_option_with_its_default() {
    let mut help = client3(["--help"]);
    assert_eq!(help.wait_for_exit(), 0, "stderr: {}", help.stderr());
    let lines = help.stdout_lines();
    for (option, default) in [
        ("--max-clients", "[default: 1]"),
        ("--max-conns", "[default: 1024]"),
        ("--host", "[default: localhost]"),
        ("--port", "[default: 8888]"),
        ("--connect-timeout", "[default: 10]"),
    ] {
        assert!(
            lines
                .iter()
                .any(|line| line.contains(option) && line.contains(default)),
            "no line with {option} and {default} in:\n{}",
            lines.join("\n")
        );
    }
}

#[test]
fn opens_max_clients_times_max_conns_connections_each_sending_get_hello() {
    let listener = RecordingListener::start();
    let port = listener.port().to_string();
    // The default host, localhost, as the article's client uses.
    let mut client = client3(["--max-clients=3", "--max-conns=10", "--port", &port]);
    assert_eq!(client.wait_for_exit(), 0, "stderr: {}", client.stderr());

    let request = format!("GET /hello HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n");
    let received = listener.connections_so_far();
    assert_eq!(received.len(), 30, "connections the listener accepted");
    for bytes in &received {
        assert_eq!(String::from_utf8_lossy(bytes), request);
    }

    // Each client printed each of its connection numbers, once.
    let printed: BTreeSet<String> = client.stdout_lines().into_iter().collect();
    let expected: BTreeSet<String> = (1..=3)
        .flat_map(|client| (1..=10).map(move |n| format!("client {client}: connection {n}")))
        .collect();
    assert_eq!(printed, expected);
    assert_eq!(client.stdout_lines().len(), 30, "a number printed twice");
    assert_eq!(
        stderr_lines(&client),
        ["client3: 3 clients opened 30 of 30 connections"]
    );
}

#[test]
fn a_refused_port_is_one_line_per_client_a_summary_and_exit_code_1() {
    let closed = RefusingPort::new();
    let port = closed.port.to_string();
    let mut client = client3(["--port", &port]);
    assert_eq!(client.wait_for_exit(), 1, "stderr: {}", client.stderr());
    assert_no_panic(&client);
    assert_eq!(client.stdout(), "");
    assert_eq!(
        stderr_lines(&client),
        [
            "client 1: connection 1 failed: Connection refused (os error 111)",
            "client3: 1 client opened 0 of 1024 connections; \
             failed: 1 × Connection refused (os error 111); not attempted: 1023",
        ]
    );

    let mut clients = client3(["--max-clients=3", "--max-conns=5", "--port", &port]);
    assert_eq!(clients.wait_for_exit(), 1, "stderr: {}", clients.stderr());
    let mut lines = stderr_lines(&clients);
    let summary = lines.pop().unwrap_or_default();
    lines.sort();
    assert_eq!(
        lines,
        (1..=3)
            .map(|n| format!("client {n}: connection 1 failed: Connection refused (os error 111)"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        summary,
        "client3: 3 clients opened 0 of 15 connections; \
         failed: 3 × Connection refused (os error 111); not attempted: 12"
    );
}

#[test]
fn a_client_holds_every_connection_open_until_the_open_file_limit_stops_it() {
    let listener = RecordingListener::start();
    let port = listener.port().to_string();
    // As `ulimit -n 24`: soft and hard limit, so client3 cannot raise it.
    // Had the client closed any connection before exiting, its descriptor
    // would be free again and all 40 would fit.
    let mut client = Launch::new(BINARY)
        .open_file_limit(24)
        .args(["--max-conns=40", "--port", &port])
        .spawn();
    assert_eq!(client.wait_for_exit(), 1, "stderr: {}", client.stderr());
    assert_no_panic(&client);

    let lines = stderr_lines(&client);
    assert_eq!(lines.len(), 3, "warning, failure, summary: {lines:?}");
    assert!(
        lines[0].starts_with("client3: each client needs at least 44 descriptors")
            && lines[0].contains("the open-file limit is 24"),
        "{lines:?}"
    );
    let opened = client.stdout_lines().len();
    assert!((1..40).contains(&opened), "opened {opened}");
    assert_eq!(
        lines[1],
        format!(
            "client 1: connection {} failed: Too many open files (os error 24)",
            opened + 1
        )
    );
    assert_eq!(
        lines[2],
        format!(
            "client3: 1 client opened {opened} of 40 connections; \
             failed: 1 × Too many open files (os error 24); not attempted: {}",
            40 - opened - 1
        )
    );
    assert_eq!(listener.connections_so_far().len(), opened);
}

#[test]
fn the_soft_open_file_limit_is_raised_to_the_hard_one_before_forking() {
    let listener = RecordingListener::start();
    let port = listener.port().to_string();
    // As `ulimit -Sn 24` under a hard limit of 64: 40 connections fit only
    // once client3 has raised its soft limit, which needs no privilege.
    let mut client = Launch::new(BINARY)
        .open_file_limits(24, 64)
        .args(["--max-conns=40", "--port", &port])
        .spawn();
    assert_eq!(client.wait_for_exit(), 0, "stderr: {}", client.stderr());
    assert_eq!(
        stderr_lines(&client),
        ["client3: 1 client opened 40 of 40 connections"]
    );
    assert_eq!(listener.connections_so_far().len(), 40);
}

#[test]
fn a_connect_the_server_never_completes_times_out() {
    let busy = UnacceptingListener::new();
    let port = busy.port.to_string();
    let mut client = client3([
        "--host=127.0.0.1",
        "--port",
        &port,
        "--max-conns=5",
        "--connect-timeout=1",
    ]);
    assert_eq!(client.wait_for_exit(), 1, "stderr: {}", client.stderr());
    let lines = stderr_lines(&client);
    let opened = client.stdout_lines().len();
    assert!(opened < 5, "opened {opened}");
    assert_eq!(
        lines,
        [
            format!("client 1: connection {} failed: timed out", opened + 1),
            format!(
                "client3: 1 client opened {opened} of 5 connections; \
                 failed: 1 × timed out; not attempted: {}",
                5 - opened - 1
            ),
        ]
    );
}

#[test]
fn the_parent_waits_for_a_client_that_dies_without_reporting() {
    let busy = UnacceptingListener::new();
    let port = busy.port.to_string();
    // A long timeout: the client sits in connect until the test kills it.
    let mut client = client3([
        "--host=127.0.0.1",
        "--port",
        &port,
        "--max-conns=5",
        "--connect-timeout=600",
    ]);
    let child = eventually(PATIENCE, "the client process", || {
        client.children().first().copied()
    });
    kill(Pid::from_raw(child.pid), Signal::SIGKILL).expect("kill the client we started");

    assert_eq!(client.wait_for_exit(), 1, "stderr: {}", client.stderr());
    assert_eq!(
        stderr_lines(&client),
        [
            format!(
                "client3: client 1 ({}) ended without a report: killed by SIGKILL",
                child.pid
            ),
            "client3: 1 client opened 0 of 5 connections; no report from 1 client".to_owned(),
        ]
    );
}

#[test]
fn bad_arguments_are_refused_by_the_parser_with_exit_code_2() {
    for arguments in [
        ["--max-clients", "0"],
        ["--max-conns", "-5"],
        ["--port", "70000"],
        ["--connect-timeout", "soon"],
    ] {
        let mut client = client3(arguments);
        assert_eq!(client.wait_for_exit(), 2, "{arguments:?}");
        assert!(
            client.stderr().starts_with("error: "),
            "{arguments:?}: {}",
            client.stderr()
        );
        assert_no_panic(&client);
    }
}

/// Every count and duration has a range: `--connect-timeout` of 2^64-1
/// seconds used to be accepted and overflow when added to the clock.
/// Outside the range, one line that names it, and exit code 2.
#[test]
fn counts_and_durations_out_of_range_are_refused_on_one_line() {
    for (arguments, range) in [
        (["--max-clients", "1001"], "1..=1000"),
        (["--max-conns", "65536"], "1..=65535"),
        (["--connect-timeout", "18446744073709551615"], "1..=3600"),
        (["--connect-timeout", "0"], "1..=3600"),
    ] {
        let mut client = client3(arguments);
        assert_eq!(client.wait_for_exit(), 2, "{arguments:?}");
        let stderr = client.stderr();
        let first = stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: "), "{arguments:?}: {stderr}");
        assert!(first.contains(range), "{arguments:?}: {stderr}");
        assert_no_panic(&client);
    }
}

#[test]
fn an_unknown_host_is_a_one_line_error_with_exit_code_1() {
    // `.invalid` never resolves (RFC 2606); the resolver says so at once.
    let mut client = client3(["--host", "no-such-host.invalid"]);
    testkit::contract::assert_one_line_error(&mut client, "resolve no-such-host.invalid");
}
