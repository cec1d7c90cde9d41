use anyhow::Result;

use super::nonblock_server::cpu_command;
use super::Chapter;
use crate::lab::{pause, Lab, Server, CURL, PS};

pub const CHAPTER: Chapter = Chapter {
    short: "epoll",
    crate_name: "epoll_server",
    what: "the model with a line and 3000 bytes at once; curl against the server edge- and level-triggered; 0 CPU while idle",
    run,
    varies: super::nonblock_server::VARIES,
    sort: &[],
};

/// How much of a line of the model's output is shown: its lines of 1024
/// x's are cut there.
const SHOWN_COLUMNS: usize = 72;

fn run(lab: &mut Lab) -> Result<()> {
    lab.step("model");
    lab.say("the model, edge-triggered: it sleeps in epoll_wait, with no timeout, until a socket is ready.");
    let model = model_takes_a_line_then_3000_bytes(
        lab,
        "PORT=0 cargo run -q -p epoll_server --bin epoll_model",
        "hello epoll",
    )?;
    lab.look("one event announced the 3000 bytes, and the model read them in pieces of at most 1024 until the socket said EAGAIN; nothing is printed between events.");
    drop(model);

    lab.step("server");
    lab.say("the server, edge-triggered (the default):");
    let server = lab.server("PORT=0 cargo run -q -p epoll_server")?;
    let (port, pid) = (server.port, server.pid());

    lab.step("idle");
    lab.say("with no client, how much of a second the server spent on the CPU (utime and stime of /proc/PID/stat, in clock ticks):");
    lab.sh(&cpu_command(pid))?;
    if lab.need(&[&PS]) {
        lab.sh(&format!("ps -o pid,stat,cmd -p {pid}"))?;
    }
    lab.look("no tick at all, and ps shows it sleeping (S), in epoll_wait, where nonblock_server spent the whole second running.");

    lab.step("curl");
    if lab.need(&[&CURL]) {
        lab.say("terminal 2: a file, and one that is not there (-i shows the head):");
        lab.sh(&format!(
            "curl -si http://127.0.0.1:{port}/style.css | head -n 10"
        ))?;
        lab.sh(&format!("curl -si http://127.0.0.1:{port}/nothing-here"))?;
        lab.say("terminal 1:");
        server.wait_for(2, |line| line.ends_with(": closed"));
        lab.server_output(&server);
    }
    drop(server);

    lab.step("level");
    if lab.need(&[&CURL]) {
        lab.say("the same server, level-triggered, and the same request:");
        let server = lab.server("PORT=0 cargo run -q -p epoll_server -- --trigger level")?;
        let port = server.port;
        lab.sh(&format!(
            "curl -s -o /dev/null -w '%{{http_code}} %{{size_download}}\\n' http://127.0.0.1:{port}/style.css"
        ))?;
        server.wait_for(1, |line| line.ends_with(": closed"));
        lab.say("terminal 1:");
        lab.server_output(&server);
        lab.look("the same answer and the same log: what differs is how many system calls each event takes (strace, below).");
    }
    Ok(())
}

/// The chapter's model (`command`) started, sent `greeting` on one
/// connection and 3000 bytes on another, and its lines shown, cut at
/// [`SHOWN_COLUMNS`]: the first experiment of the epoll and the uring
/// chapters, so that their transcripts compare line for line.
pub(super) fn model_takes_a_line_then_3000_bytes(
    lab: &mut Lab,
    command: &str,
    greeting: &str,
) -> Result<Server> {
    let model = lab.server(command)?;
    let port = model.port;
    lab.say("terminal 2: a line (bash's /dev/tcp connects, as nc would, and closes when echo is done), then 3000 bytes at once.");
    lab.sh(&format!("echo {greeting} > /dev/tcp/127.0.0.1/{port}"))?;
    model.wait_for(1, |line| line.contains("offline"));
    lab.sh(&format!(
        "head -c 3000 /dev/zero | tr '\\0' x > /dev/tcp/127.0.0.1/{port}"
    ))?;
    model.wait_for(2, |line| line.contains("offline"));
    pause(300);
    lab.say(&format!(
        "terminal 1 (each line of x's goes on to its 1024th x: cut here at {SHOWN_COLUMNS} columns):"
    ));
    let lines: Vec<String> = model
        .new_lines()
        .into_iter()
        .map(|line| line.chars().take(SHOWN_COLUMNS).collect())
        .collect();
    lab.transcript.lines(&lines);
    Ok(model)
}
