use anyhow::Result;

use super::Chapter;
use crate::lab::{pause, Lab, CURL, SS};

pub const CHAPTER: Chapter = Chapter {
    short: "webserver1",
    crate_name: "webserver1",
    what: "curl and a raw line; ss shows the backlog of 1; blocking_server with two clients; hello_name",
    run,
    varies: &[],
    sort: &[],
};

fn run(lab: &mut Lab) -> Result<()> {
    lab.step("server");
    lab.say("the first server; PORT=0 lets the kernel pick a free port, which the banner names.");
    let server = lab.server("PORT=0 cargo run -q -p webserver1")?;
    let port = server.port;

    lab.step("curl");
    if lab.need(&[&CURL]) {
        lab.say("curl with -v shows the request it sends (>) and the response head it receives (<); -s hides the progress meter.");
        lab.sh(&format!("curl -sv http://127.0.0.1:{port}/hello"))?;
        lab.look("a status line, a blank line, the body; no Content-Length, so curl reads until the server closes.");
    }

    lab.step("raw");
    lab.say("any line gets the same answer. bash's /dev/tcp opens a connection (as telnet or nc would); the server answers the first line, whatever it says, and closes.");
    lab.sh(&format!(
        "(exec 3<>/dev/tcp/127.0.0.1/{port}; printf 'Hello, are you a web server?\\r\\n' >&3; cat <&3)"
    ))?;

    lab.step("server-print");
    lab.say("the server printed each request as it read it:");
    server.wait_for(1, |line| line.contains("web server?"));
    lab.server_output(&server);

    lab.step("ss");
    if lab.need(&[&SS]) {
        lab.say("the listening socket:");
        lab.sh(&format!("ss -tlnp 'sport = :{port}'"))?;
        lab.look("Send-Q is the backlog: 1, the Python's listen(1).");
    }
    drop(server);

    lab.step("blocking");
    lab.say("blocking_server answers one line after working 10 s; SLEEP_SECS=1 makes it 1 s here. Two clients start 0.2 s apart.");
    let server =
        lab.server("PORT=0 SLEEP_SECS=1 cargo run -q -p webserver1 --bin blocking_server")?;
    let port = server.port;
    let client = format!("PORT={port} cargo run -q -p webserver1 --bin blocking_client");
    let first = lab.background(&client)?;
    pause(200);
    let second = lab.background(&client)?;
    lab.finish(&client, first)?;
    lab.finish(&client, second)?;
    lab.say("the server printed:");
    server.wait_for(2, |_| true);
    lab.server_output(&server);
    lab.look("both clients were connected at once (the kernel completed the handshakes), but the second waited for its own second and the first client's: about twice as long.");
    drop(server);

    lab.step("hello-name");
    if lab.need(&[&CURL]) {
        lab.say(
            "hello_name greets the name in the path, decoded, and refuses what no name contains.",
        );
        let server = lab.server("PORT=0 cargo run -q -p webserver1 --bin hello_name")?;
        let port = server.port;
        for command in [
            "curl -s http://127.0.0.1:{port}/Alice",
            "curl -s http://127.0.0.1:{port}/",
            "curl -s http://127.0.0.1:{port}/Zhuibing%20Dan",
            "curl -s http://127.0.0.1:{port}/%E5%BC%A0%E4%B8%89",
            "curl -si http://127.0.0.1:{port}/%1B%5B31mred",
            "curl -si -X POST http://127.0.0.1:{port}/Alice",
        ] {
            lab.sh(&command.replace("{port}", &port.to_string()))?;
        }
        lab.say("the server printed one line per request:");
        server.wait_for(6, |_| true);
        lab.server_output(&server);
        lab.look("400 for a control character (ESC, %1B), 405 with an Allow header for POST.");
    }
    Ok(())
}
