//! webserver3g, the finished forking server, survives a failed `fork`:
//! under a process limit (`ulimit -u`), the client whose fork failed loses
//! its connection, and the server goes on answering once children exit.
//! (webserver3f dies of the same failure: webserver3f/tests/failed_fork.rs.)

use testkit::{eventually, read_to_eof, send_request, Launch, PATIENCE};

#[test]
fn a_failed_fork_costs_one_client_not_the_server() {
    // The server and two children: the limit `ulimit -u 3` would set.
    let Some(launch) =
        Launch::new(env!("CARGO_BIN_EXE_webserver3g")).unprivileged_with_process_limit(3)
    else {
        return;
    };
    let mut server = launch.start_server();

    // Two clients that send nothing keep two children waiting in recv.
    let mut first = server.connect();
    let mut second = server.connect();
    eventually(PATIENCE, "two children waiting in recv", || {
        (server.children().len() == 2).then_some(())
    });

    // The third fork fails with EAGAIN: that client gets no answer, only
    // end-of-file, and the server says why on stderr.
    let mut third = server.connect();
    assert_eq!(read_to_eof(&mut third), b"", "an answer without a child?");
    eventually(PATIENCE, "the fork error on stderr", || {
        server
            .stderr()
            .contains("fork: Resource temporarily unavailable (os error 11)")
            .then_some(())
    });
    assert!(server.is_running(), "the server died: {}", server.stderr());

    // The two waiting clients are answered; their children exit and are
    // reaped, which frees the process slots, and a new client is answered.
    for client in [&mut first, &mut second] {
        send_request(client, "/hello");
        assert_eq!(read_to_eof(client), common::HTTP_RESPONSE);
    }
    eventually(PATIENCE, "both children reaped", || {
        server.children().is_empty().then_some(())
    });
    assert_eq!(server.get_to_eof("/hello"), common::HTTP_RESPONSE);
    assert!(server.is_running(), "stderr: {}", server.stderr());
}
