use anyhow::Result;

use super::Chapter;
use crate::lab::{pause, Lab, CURL, SS};

pub const CHAPTER: Chapter = Chapter {
    short: "3b",
    crate_name: "webserver3b",
    what: "two curls, the second waits in the listen queue: timings with SLEEP_SECS=2, and ss -tan",
    run,
    // The request's size in the socket's queue follows the length of the
    // Host header, that is of the port.
    varies: &[(r"(?m)^ESTAB +8\d ", "ESTAB <request bytes> ")],
    sort: &[],
};

fn run(lab: &mut Lab) -> Result<()> {
    if !lab.need(&[&CURL, &SS]) {
        return Ok(());
    }
    lab.step("run");
    lab.say("the server sleeps 60 s after each answer, with the connection open; SLEEP_SECS=2 makes it 2 s here.");
    let server = lab.server("PORT=0 SLEEP_SECS=2 cargo run -q -p webserver3b")?;
    let port = server.port;
    let curl = format!("time curl -s http://127.0.0.1:{port}/hello");
    lab.say("two clients, 0.3 s apart, in two terminals (their commands and output are below, where they end):");
    let first = lab.background(&curl)?;
    pause(300);
    let second = lab.background(&curl)?;
    pause(300);
    lab.say("while both wait, in a third terminal:");
    lab.sh(&format!("ss -tan 'sport = :{port} or dport = :{port}'"))?;
    lab.look("LISTEN with Recv-Q 1: one connection waits in the listen queue, which can hold 5 (Send-Q). Two ESTAB rows on the server's port: the first curl's, accepted, and the second's, established by the kernel alone, its request unread in Recv-Q. Nobody has accepted it.");
    lab.say(
        "the first curl ends after the server's sleep; the second after that sleep and its own:",
    );
    lab.finish(&curl, first)?;
    lab.finish(&curl, second)?;
    lab.say("the server printed the two requests, the second only when the first was done:");
    server.wait_for(2, |line| line.starts_with("GET"));
    lab.server_output(&server);
    lab.look("real: about 2 s for the first curl, about 4 s for the second, one sleep waiting in the queue and one being \"served\".");
    Ok(())
}
