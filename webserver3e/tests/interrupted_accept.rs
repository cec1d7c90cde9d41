//! webserver3e: the SIGCHLD handler reaps the child, and the accept it
//! interrupted fails with EINTR, which ends the server.

use testkit::{contract, wait_for_child_lines, Launch};

const BINARY: &str = env!("CARGO_BIN_EXE_webserver3e");

testkit::server_contract_tests!(BINARY, sleeps, dies_after_one_child);

#[test]
fn reaps_the_child_then_dies_of_the_interrupted_accept() {
    // The child sleeps 1 s after answering: by then the parent is blocked
    // in accept again, which is where the signal must find it.
    let mut server = Launch::new(BINARY).env("SLEEP_SECS", "1").start_server();
    assert_eq!(server.get_to_eof("/hello"), common::HTTP_RESPONSE);

    contract::assert_one_line_error(
        &mut server.process,
        "accept: Interrupted system call (os error 4)",
    );
    let child = wait_for_child_lines(&server, 1)[0].pid;
    server.wait_for_line("the handler's report", |line| {
        line == format!("Child {child} terminated with status 0")
    });
    assert!(server.children().is_empty(), "the child was reaped");
}
