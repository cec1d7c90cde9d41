//! webserver3c: a child process per client, so clients are served at the
//! same time; parent and child close their copies, so each client sees
//! end-of-file; nobody reaps the children, so they stay zombies.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{ErrorKind, Read};

use testkit::{
    contract, eventually, process_state, read_until_contains, send_request, wait_for_child_lines,
    Launch, PATIENCE,
};

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
    let children = wait_for_child_lines(&server, 3);
    let mut child_pids = BTreeSet::new();
    for child in &children {
        assert_eq!(child.parent, parent, "{child:?}");
        assert_ne!(child.pid, parent, "{child:?}");
        child_pids.insert(child.pid);
    }
    assert_eq!(
        child_pids.len(),
        3,
        "three different children: {children:?}"
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
        assert_eq!(server.get_to_eof("/hello"), common::HTTP_RESPONSE);
    }
    let forked: BTreeSet<i32> = wait_for_child_lines(&server, 3)
        .iter()
        .map(|child| child.pid)
        .collect();
    // A child closes its connection just before it exits, so it may still
    // be running when the client sees end-of-file. Wait until none of the
    // three runs, whichever way it ended: a zombie, or gone from /proc
    // (reaped).
    eventually(PATIENCE, "the three children to exit", || {
        forked
            .iter()
            .all(|&pid| matches!(process_state(pid), Some('Z') | None))
            .then_some(())
    });
    // Every child of the server, whatever its state: the three that exited
    // are all still there, as zombies, and there is no other.
    let children: BTreeMap<i32, char> = server
        .children()
        .iter()
        .map(|child| (child.pid, child.state))
        .collect();
    let zombies: BTreeMap<i32, char> = forked.iter().map(|&pid| (pid, 'Z')).collect();
    assert_eq!(
        children, zombies,
        "the server's children, with their states"
    );
}

#[test]
fn survives_hostile_clients() {
    let server = Launch::new(BINARY).env("SLEEP_SECS", "0").start_server();
    contract::survives_hostile_clients(&server);
}
