use anyhow::Result;

use super::Chapter;
use crate::lab::{Lab, CURL};

pub const CHAPTER: Chapter = Chapter {
    short: "webserver2",
    crate_name: "webserver2",
    what: "the usage; hello with curl -v; the router (/hello/Alice, /environ?x=1, a POST, a 404); faulty and a bad request",
    run,
    // The server refuses the bad request as soon as it has its first line,
    // and closes with the rest unread: its kernel then sends a reset, which
    // reaches cat after the answer, or not, depending on timing.
    varies: &[(r"(?m)^cat: -: Connection reset by peer\n", "")],
    sort: &[],
};

fn run(lab: &mut Lab) -> Result<()> {
    lab.step("usage");
    lab.say("the application is the one argument; without it, clap prints the usage and exits with code 2.");
    lab.sh("cargo run -q -p webserver2; echo \"exit code $?\"")?;

    if !lab.need(&[&CURL]) {
        return Ok(());
    }

    lab.step("hello");
    lab.say("the plain function. The server prints both sides, < for what it received and > for what it sent.");
    let server = lab.server("PORT=0 cargo run -q -p webserver2 -- hello")?;
    let port = server.port;
    lab.sh(&format!("curl -sv http://127.0.0.1:{port}/hello"))?;
    lab.say("the server printed:");
    server.wait_for(1, |line| line.contains("from a plain function"));
    lab.server_output(&server);
    lab.look("Date and Server, which start_response adds to the application's headers; Content-Length and Connection: close, which finish_response adds once the body is known.");
    drop(server);

    lab.step("router");
    lab.say("the router: a path parameter, the environ the server built, a POST body, a path no route matches.");
    let server = lab.server("PORT=0 cargo run -q -p webserver2 -- router")?;
    let port = server.port;
    lab.sh(&format!("curl -s http://127.0.0.1:{port}/hello/Alice"))?;
    lab.sh(&format!("curl -s 'http://127.0.0.1:{port}/environ?x=1'"))?;
    lab.sh(&format!(
        "curl -s -d 'some text' http://127.0.0.1:{port}/echo; echo"
    ))?;
    lab.sh(&format!("curl -si http://127.0.0.1:{port}/nowhere"))?;
    lab.look("REMOTE_PORT, curl's ephemeral port; the echo has no final newline of its own (the echo after it adds one).");
    drop(server);

    lab.step("faulty");
    lab.say("the faulty application fails on purpose, a different way on each path; grep hides the < and > lines, so that the failures show.");
    let server = lab.server(
        "PORT=0 cargo run -q -p webserver2 -- faulty 2>&1 | grep --line-buffered -v '^[<>]'",
    )?;
    let port = server.port;
    lab.sh(&format!("curl -si http://127.0.0.1:{port}/panic"))?;
    lab.sh(&format!(
        "curl -s http://127.0.0.1:{port}/error; curl -s http://127.0.0.1:{port}/header-injection; curl -s http://127.0.0.1:{port}/"
    ))?;
    lab.say("a request line that is not HTTP gets a 400 before any application sees it:");
    lab.sh(&format!(
        "(exec 3<>/dev/tcp/127.0.0.1/{port}; printf 'HELLO\\r\\n\\r\\n' >&3; cat <&3)"
    ))?;
    lab.say("the server printed:");
    server.wait_for(1, |line| line.starts_with("refused a request"));
    lab.server_output(&server);
    lab.look("every failure is a 500 for the client and a line on the server's stderr, and the server serves the next request.");
    Ok(())
}
