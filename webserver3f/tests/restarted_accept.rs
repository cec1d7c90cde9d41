//! webserver3f: accept is restarted after EINTR, so the server survives its
//! children; but one wait per SIGCHLD leaves zombies when children exit
//! together.

use testkit::{contract, exit_children_while_server_is_stopped, Launch};

const BINARY: &str = env!("CARGO_BIN_EXE_webserver3f");

testkit::server_contract_tests!(BINARY);

#[test]
fn survives_a_burst_of_concurrent_clients_and_still_answers() {
    let mut server = Launch::new(BINARY).start_server();
    for answer in server.get_to_eof_concurrently(64, "/hello") {
        assert_eq!(answer, common::HTTP_RESPONSE);
    }
    // Every child's exit interrupted accept at least once along the way.
    assert!(server.is_running(), "stderr: {}", server.stderr());
    assert_eq!(server.get_to_eof("/hello"), common::HTTP_RESPONSE);
}

#[test]
fn children_exiting_together_leave_zombies() {
    let server = Launch::new(BINARY).start_server();
    exit_children_while_server_is_stopped(&server, 8);

    // Eight exits, one pending SIGCHLD: the handler runs once, wait()
    // collects one child, and seven stay zombies.
    server.wait_for_line("the handler to run", |line| {
        line.ends_with("terminated with status 0")
    });
    let reports = server.count_lines(|line| line.contains(" terminated "));
    assert_eq!(reports, 1, "one signal, one wait");
    assert_eq!(server.zombie_children().len(), 7);
}

#[test]
fn survives_hostile_clients() {
    let server = Launch::new(BINARY).start_server();
    contract::survives_hostile_clients(&server);
}
