//! The blocking pair (examples `blocking_server` and `blocking_client`): the
//! server works for one client at a time, so a second client waits until
//! the server is done with the first; the client prints what it received
//! and how long it waited.

use std::io::Write;
use std::thread;
use std::time::Duration;

use testkit::{contract, read_to_eof, Launch, Process, RefusingPort, Server};

fn server_binary() -> String {
    env!("CARGO_BIN_EXE_blocking_server").to_owned()
}

fn client_binary() -> String {
    env!("CARGO_BIN_EXE_blocking_client").to_owned()
}

testkit::server_contract_tests!(&server_binary(), sleeps);

/// The server's first line is the chapter's `Server on port N ...`: what it
/// speaks is not HTTP.
const BANNER: &str = "Server on port ";

fn start_client(server: &Server) -> Process {
    Launch::new(&client_binary())
        .env("PORT", &server.port.to_string())
        .spawn()
}

/// The client's port, from its first line
/// `Client connected from 127.0.0.1:N to 127.0.0.1:P`.
fn client_port(client: &Process) -> u16 {
    let line = client.wait_for_line("the client's connected line", |line| {
        line.starts_with("Client connected from 127.0.0.1:")
    });
    let address = line
        .strip_prefix("Client connected from ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap();
    address.rsplit(':').next().unwrap().parse().unwrap()
}

/// The ports of the clients the server has read from, in the order it
/// read them, from its lines `Server recv from 127.0.0.1:N: "..."`.
fn ports_served(server: &Server) -> Vec<u16> {
    server
        .stdout_lines()
        .iter()
        .filter_map(|line| line.strip_prefix("Server recv from 127.0.0.1:"))
        .map(|rest| rest.split(':').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn the_client_prints_the_answer_and_how_long_it_waited() {
    let server = Launch::new(&server_binary())
        .env("SLEEP_SECS", "0.5")
        .start_with_banner(BANNER);
    let mut client = start_client(&server);
    assert_eq!(client.wait_for_exit(), 0, "stderr: {}", client.stderr());

    let lines = client.stdout_lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let port = client_port(&client);
    assert_eq!(
        lines[0],
        format!(
            "Client connected from 127.0.0.1:{port} to 127.0.0.1:{}",
            server.port
        )
    );
    assert_eq!(lines[1], "Client is waiting for the answer...");
    let waited: f64 = lines[2]
        .strip_prefix("Client recv: \"Hello, I'm server\" after waiting ")
        .and_then(|rest| rest.strip_suffix(" s"))
        .unwrap_or_else(|| panic!("{:?}", lines[2]))
        .parse()
        .unwrap();
    // Not a speed check: the server sleeps its 0.5 s of work after it has
    // the client's message and before it answers, so no client can wait
    // less, on any machine.
    assert!(waited >= 0.5, "{waited}");

    server.wait_for_line("the server's recv line", |line| {
        line == format!("Server recv from 127.0.0.1:{port}: \"Hello, I'm client\"")
    });
}

#[test]
fn a_second_client_waits_until_the_server_is_done_with_the_first() {
    let server = Launch::new(&server_binary())
        .env("SLEEP_SECS", "0.2")
        .start_with_banner(BANNER);

    // The first client connects and does not send yet: the iterative server
    // accepts it and blocks in recv, busy with it as it would be in its
    // work. The test decides when the first client is done.
    let mut first = server.connect();
    let first_port = first.local_addr().unwrap().port();

    // The second client connects (the kernel completes the handshake and
    // queues the connection) and sends its message, which waits in the
    // socket's receive buffer.
    let mut second = start_client(&server);
    let second_port = client_port(&second);
    second.wait_for_line("the second client to send", |line| {
        line == "Client is waiting for the answer..."
    });

    // While the first client holds the server, the second gets nothing.
    // A server that served clients at once would have read the second
    // message and answered it within its 0.2 s of work; the window bounds
    // this proof, it does not measure speed.
    thread::sleep(Duration::from_millis(800));
    assert!(second.is_running(), "{}", second.stdout());
    assert!(ports_served(&server).is_empty(), "{}", server.stdout());

    // The first client sends and is answered; only then is the second.
    first.write_all(b"Hello, I'm the first").unwrap();
    assert_eq!(read_to_eof(&mut first), b"Hello, I'm server");
    assert_eq!(second.wait_for_exit(), 0, "stderr: {}", second.stderr());
    assert!(
        second
            .stdout()
            .contains("Client recv: \"Hello, I'm server\" after waiting "),
        "{}",
        second.stdout()
    );
    assert_eq!(ports_served(&server), [first_port, second_port]);
}

#[test]
fn the_client_reports_a_server_that_is_not_there() {
    let nothing_listens = RefusingPort::new();
    let mut client = Launch::new(&client_binary())
        .env("PORT", &nothing_listens.port.to_string())
        .spawn();
    contract::assert_one_line_error(&mut client, "Connection refused");

    let mut client = Launch::new(&client_binary()).env("PORT", "0").spawn();
    contract::assert_one_line_error(&mut client, "PORT");
}

#[test]
fn the_server_logs_what_a_client_sent_escaped() {
    let server = Launch::new(&server_binary())
        .env("SLEEP_SECS", "0")
        .start_with_banner(BANNER);
    let mut stream = server.connect();
    stream.write_all(b"\x1b[2J\xff bye").unwrap();
    assert_eq!(read_to_eof(&mut stream), b"Hello, I'm server");
    server.wait_for_line("the escaped message", |line| {
        line.ends_with(r#": "\u{1b}[2J� bye""#)
    });
}
