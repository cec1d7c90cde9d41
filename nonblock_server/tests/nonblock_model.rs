//! The example `nonblock_model`: the course's first non-blocking loop. It
//! asks the listening socket and every client in turn, printing what each
//! answered, and closes a client that has closed.

use std::io::Write;

use testkit::Launch;

#[test]
fn polls_every_socket_and_prints_what_each_client_sent() {
    let server = Launch::new(env!("CARGO_BIN_EXE_nonblock_model"))
        .env("SLEEP_SECS", "0.01")
        .start_with_banner("Listening on port ");
    // The loop asks the listening socket even when nobody comes.
    server.wait_for_line("a turn with no new client", |line| {
        line == "--- no new client ---"
    });

    let mut client = server.connect();
    let address = client.local_addr().unwrap();
    server.wait_for_line("the new client", |line| {
        line == format!("--- a new client arrived: {address} ---")
    });
    // Asked again and again while it says nothing.
    server.wait_for_lines(3, "turns where the client sent nothing", |line| {
        line == format!("--- {address} sent nothing ---")
    });

    client.write_all(b"hello, non-blocking world").unwrap();
    server.wait_for_line("what the client sent", |line| {
        line == format!("--- {address} sent 25 bytes: hello, non-blocking world")
    });

    drop(client);
    server.wait_for_line("the client closed", |line| {
        line == format!("--- {address} closed; closing it too ---")
    });
}

#[test]
fn shows_a_clients_control_characters_escaped() {
    let server = Launch::new(env!("CARGO_BIN_EXE_nonblock_model"))
        .env("SLEEP_SECS", "0.01")
        .start_with_banner("Listening on port ");
    let mut client = server.connect();
    // Clear the screen, retitle the window, ring the bell: a terminal would
    // obey each if the model printed them as they came.
    client.write_all(b"\x1b[2J\x1b]0;owned\x07hi").unwrap();
    let line = server.wait_for_line("the client's bytes", |line| line.contains(" bytes: "));
    assert!(
        !testkit::has_control_characters(line.as_bytes()),
        "{line:?}"
    );
    assert!(
        line.ends_with(r"\u{1b}[2J\u{1b}]0;owned\u{7}hi"),
        "{line:?}"
    );
}
