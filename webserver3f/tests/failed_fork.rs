//! webserver3f dies when `fork` fails, as the article's servers do when
//! zombies fill the process table ("Resource temporarily unavailable").
//! (webserver3g survives it: webserver3g/tests/failed_fork.rs.)

use testkit::{contract, eventually, Launch, PATIENCE};

#[test]
fn a_failed_fork_kills_the_server_with_eagain() {
    // The server and two children: the limit `ulimit -u 3` would set.
    let Some(launch) =
        Launch::new(env!("CARGO_BIN_EXE_webserver3f")).unprivileged_with_process_limit(3)
    else {
        return;
    };
    let mut server = launch.start_server();

    // Two clients that send nothing keep two children waiting in recv.
    let first = server.connect();
    let second = server.connect();
    eventually(PATIENCE, "two children waiting in recv", || {
        (server.children().len() == 2).then_some(())
    });

    // The third fork fails with EAGAIN, and the server exits with it.
    let _third = server.connect();
    eventually(PATIENCE, "the server's exit", || server.try_exit_status());
    // Let the children go: they hold the server's stderr open until they exit.
    drop((first, second));
    contract::assert_one_line_error(
        &mut server,
        "webserver3f: fork: EAGAIN: Try again", // nix's words for EAGAIN
    );
}
