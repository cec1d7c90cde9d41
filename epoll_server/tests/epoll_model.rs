//! The example `epoll_model`: the course's "epoll简单模型". Edge-triggered,
//! it prints what each client sends, all of it even when it arrives in one
//! burst bigger than one read, and unregisters and closes a client at end
//! of file.

use std::io::Write;

use testkit::Launch;

/// The byte counts of the `recv from ADDRESS (N bytes): ...` lines so far.
fn bytes_received_from(server: &testkit::Server, address: &str) -> usize {
    let prefix = format!("recv from {address} (");
    server
        .stdout_lines()
        .iter()
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum()
}

#[test]
fn prints_what_each_client_sends_and_closes_at_end_of_file() {
    let server =
        Launch::new(env!("CARGO_BIN_EXE_epoll_model")).start_with_banner("Listening on port ");

    let mut first = server.connect();
    let mut second = server.connect();
    let first_address = first.local_addr().unwrap().to_string();
    let second_address = second.local_addr().unwrap().to_string();
    for address in [&first_address, &second_address] {
        server.wait_for_line("a new client", |line| {
            line == format!("new client {address}")
        });
    }

    first.write_all(b"hello from the first").unwrap();
    server.wait_for_line("the first client's bytes", |line| {
        line == format!("recv from {first_address} (20 bytes): hello from the first")
    });

    // 3000 bytes in one burst: three reads of 1024. Edge-triggered, the
    // burst makes one event; reading once per event, as the course does,
    // would print 1024 and leave the rest unreported.
    second.write_all(&[b'x'; 3000]).unwrap();
    testkit::eventually(testkit::PATIENCE, "all 3000 bytes printed", || {
        (bytes_received_from(&server, &second_address) == 3000).then_some(())
    });

    drop(first);
    server.wait_for_line("the first client offline", |line| {
        line == format!("{first_address} --- offline ---")
    });
    // The other client is still served.
    second.write_all(b"still here").unwrap();
    server.wait_for_line("the second client's bytes", |line| {
        line == format!("recv from {second_address} (10 bytes): still here")
    });
}

#[test]
fn shows_a_clients_control_characters_escaped() {
    let server =
        Launch::new(env!("CARGO_BIN_EXE_epoll_model")).start_with_banner("Listening on port ");
    let mut client = server.connect();
    // Clear the screen, retitle the window, ring the bell: a terminal would
    // obey each if the model printed them as they came.
    client.write_all(b"\x1b[2J\x1b]0;owned\x07hi").unwrap();
    let line = server.wait_for_line("the client's bytes", |line| line.contains("bytes): "));
    assert!(
        !testkit::has_control_characters(line.as_bytes()),
        "{line:?}"
    );
    assert!(
        line.ends_with(r"\u{1b}[2J\u{1b}]0;owned\u{7}hi"),
        "{line:?}"
    );
}
