use anyhow::Result;

use super::nonblock_server::cpu_command;
use super::Chapter;
use crate::lab::{pause, Lab, PS, STRACE};

pub const CHAPTER: Chapter = Chapter {
    short: "uring",
    crate_name: "uring_server",
    what: "the io_uring model with a line and 3000 bytes at once; 0 CPU while idle; one client's exchange under strace: one io_uring_enter per turn",
    run,
    varies: &[],
    sort: &[],
};

/// How much of a line of the model's output is shown: its lines of 1024
/// x's are cut there.
const SHOWN_COLUMNS: usize = 72;

fn run(lab: &mut Lab) -> Result<()> {
    lab.step("model");
    lab.say("the model: it submits an accept and sleeps in io_uring_enter until an operation completes.");
    let model = lab.server("PORT=0 cargo run -q -p uring_server --bin uring_model")?;
    let port = model.port;
    lab.say("terminal 2: a line (bash's /dev/tcp connects, as nc would, and closes when echo is done), then 3000 bytes at once.");
    lab.sh(&format!("echo hello uring > /dev/tcp/127.0.0.1/{port}"))?;
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
    lab.look("the same lines as epoll_model's: each receive brought at most its buffer's 1024 bytes, and the model submitted the next until the receive completed with 0, end of file.");

    lab.step("idle");
    let pid = model.pid();
    lab.say("with no client, how much of a second the model spent on the CPU (utime and stime of /proc/PID/stat, in clock ticks):");
    lab.sh(&cpu_command(pid))?;
    if lab.need(&[&PS]) {
        lab.sh(&format!("ps -o pid,stat,cmd -p {pid}"))?;
    }
    lab.look("no tick: it sleeps (S) in io_uring_enter, waiting for its accept to complete.");
    drop(model);

    lab.step("strace");
    if lab.need(&[&STRACE]) {
        lab.say("the model under strace (-o writes the calls to a file; -e trace= keeps the ones named), and one client that sends a line and closes.");
        let calls = "io_uring_enter,getpeername,write,close";
        let (model, trace) = lab.strace("", "uring_model", calls)?;
        let port = model.port;
        lab.sh(&format!("echo hello uring > /dev/tcp/127.0.0.1/{port}"))?;
        model.wait_for(1, |line| line.contains("offline"));
        pause(300);
        lab.say("the trace, from the first io_uring_enter to the client's close:");
        lab.sh(&format!(
            "sed -n '/^io_uring_enter/,/^close(5)/{{p;/^close(5)/q}}' {trace}"
        ))?;
        lab.look("one io_uring_enter per turn: it submits what the last turn queued (its second number) and waits for one completion (its third). No accept, no recvfrom: the kernel made those calls. getpeername asks for the client's address, which the accept was given no memory to write.");
    }
    Ok(())
}
