//! webserver3g: the handler loops waitpid(-1, WNOHANG), so every exited
//! child is collected, however many exits one SIGCHLD stands for.

use testkit::{contract, eventually, exit_children_while_server_is_stopped, Launch, PATIENCE};

const BINARY: &str = env!("CARGO_BIN_EXE_webserver3g");

testkit::server_contract_tests!(BINARY);

#[test]
fn leaves_no_zombie_after_a_burst_of_128_concurrent_connections() {
    let mut server = Launch::new(BINARY).start_server();
    for answer in server.get_to_eof_concurrently(128, "/hello") {
        assert_eq!(answer, common::HTTP_RESPONSE);
    }
    server.wait_for_lines(128, "a report for every child", |line| {
        line.ends_with("terminated with status 0")
    });
    eventually(PATIENCE, "no child left, zombie or not", || {
        server.children().is_empty().then_some(())
    });
    assert!(server.is_running(), "stderr: {}", server.stderr());
}

#[test]
fn children_exiting_together_are_all_reaped() {
    let server = Launch::new(BINARY).start_server();
    exit_children_while_server_is_stopped(&server, 8);

    // Eight exits, one pending SIGCHLD, one run of the handler, and its
    // loop collects all eight.
    server.wait_for_lines(8, "a report for every child", |line| {
        line.ends_with("terminated with status 0")
    });
    eventually(PATIENCE, "no child left", || {
        server.children().is_empty().then_some(())
    });
}

#[test]
fn survives_hostile_clients() {
    let server = Launch::new(BINARY).start_server();
    contract::survives_hostile_clients(&server);
}
