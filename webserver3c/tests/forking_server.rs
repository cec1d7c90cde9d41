//! webserver3c: a child process per client, so clients are served at the
//! same time; parent and child close their copies, so each client sees
//! end-of-file; nobody reaps the children, so they stay zombies.

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read};

use testkit::{contract, eventually, read_until_contains, send_request, Launch, PATIENCE};

const BINARY: &str = env!("CARGO_BIN_EXE_webserver3c");

testkit::server_contract_tests!(BINARY, sleeps);

#[test]
fn serves_several_clients_at_once_each_from_its_own_child() {
    // Each child holds its connection open for 30 s after answering, far
    // longer than this test takes: every greeting below arrives while all
    // the other connections are still held.
    let server = Launch::new(BINARY).env("SLEEP_SECS", "30").start_server();
    let mut clients: Vec<_> = (0..3).map(|_| server.connect()).collect();
    for (number, client) in clients.iter_mut().enumerate() {
        send_request(client, &format!("/client{number}"));
    }
    for client in &mut clients {
        let answer = read_until_contains(client, b"Hello, World!");
        assert_eq!(answer, common::HTTP_RESPONSE);
    }
    for client in &mut clients {
        client.set_nonblocking(true).unwrap();
        let still_open =
            matches!(client.read(&mut [0u8; 1]), Err(err) if err.kind() == ErrorKind::WouldBlock);
        assert!(still_open, "each child still holds its client");
    }

    let parent = server.pid();
    let child_lines = server.wait_for_lines(3, "three `Child PID` lines", |line| {
        line.starts_with("Child PID: ")
    });
    let mut child_pids = BTreeSet::new();
    for line in &child_lines {
        let (child, claimed_parent) = parse_child_line(line);
        assert_eq!(claimed_parent, parent, "{line}");
        assert_ne!(child, parent, "{line}");
        child_pids.insert(child);
    }
    assert_eq!(
        child_pids.len(),
        3,
        "three different children: {child_lines:?}"
    );
    server.wait_for_line("the parent's PID", |line| {
        line == format!("Parent PID (PPID): {parent}")
    });
}

#[test]
fn each_client_sees_end_of_file_when_its_child_is_done() {
    let server = Launch::new(BINARY).env("SLEEP_SECS", "0").start_server();
    // Both copies of the client socket are closed (the parent's at once,
    // the child's when it exits), so the connection ends and read_to_eof
    // returns.
    assert_eq!(server.get_to_eof("/hello"), common::HTTP_RESPONSE);
}

#[test]
fn children_that_exit_stay_zombies() {
    let server = Launch::new(BINARY).env("SLEEP_SECS", "0").start_server();
    for _ in 0..3 {
        server.get_to_eof("/hello");
    }
    let zombies = eventually(PATIENCE, "three zombie children", || {
        let zombies = server.zombie_children();
        (zombies.len() >= 3).then_some(zombies)
    });
    assert!(zombies.iter().all(|child| child.state == 'Z'));
}

#[test]
fn survives_hostile_clients() {
    let server = Launch::new(BINARY).env("SLEEP_SECS", "0").start_server();
    contract::survives_hostile_clients(&server);
}

/// `Child PID: 123. Parent PID 45` → (123, 45).
fn parse_child_line(line: &str) -> (i32, i32) {
    let rest = line.strip_prefix("Child PID: ").expect("a Child PID line");
    let (child, parent) = rest.split_once(". Parent PID ").expect("its Parent PID");
    (child.parse().unwrap(), parent.parse().unwrap())
}
