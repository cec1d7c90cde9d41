use anyhow::Result;

use super::Chapter;
use crate::lab::{pause, Lab, CURL, PS};

pub const CHAPTER: Chapter = Chapter {
    short: "nonblock",
    crate_name: "nonblock_server",
    what: "the model and a client sending a line; curl -i for a file and a 404; the busy loop's CPU from /proc",
    run,
    varies: VARIES,
    sort: &[],
};

/// What varies: how many empty turns the model's loop makes between two
/// events (it turns twice a second), the files' ETags (inode and time),
/// and how many ticks of a second the busy loop got (most of them, on a
/// machine that has other work).
pub const VARIES: &[(&str, &str)] = &[
    (
        r"(?m)^(--- (no new client|\S+ sent nothing) ---\n)+",
        "--- <empty turns> ---\n",
    ),
    (r#"ETag: "[^"]*""#, r#"ETag: "<etag>""#),
    (r"\b([5-9]\d|1\d\d) ticks of 100\b", "<most> ticks of 100"),
];

/// The command that shows how much CPU `pid` used in one second: the
/// user and system time of /proc/PID/stat (fields 14 and 15), in clock
/// ticks, before and after.
pub fn cpu_command(pid: i32) -> String {
    format!(
        "t0=$(awk '{{print $14 + $15}}' /proc/{pid}/stat); sleep 1; \
         t1=$(awk '{{print $14 + $15}}' /proc/{pid}/stat); \
         echo \"$((t1 - t0)) ticks of $(getconf CLK_TCK) in 1 s\""
    )
}

fn run(lab: &mut Lab) -> Result<()> {
    lab.step("model");
    lab.say("the model; each turn of its loop sleeps half a second, then tries accept and a recv on every client, and says what it found.");
    let model = lab.server("PORT=0 cargo run -q -p nonblock_server --bin nonblock_model")?;
    let port = model.port;
    pause(1200);
    lab.say("in terminal 2, a client: bash's /dev/tcp connects (as nc would), waits a second, sends a line, waits a second, and closes.");
    lab.sh(&format!(
        "(exec 3>/dev/tcp/127.0.0.1/{port}; sleep 1; echo first line >&3; sleep 1)"
    ))?;
    model.wait_for(1, |line| line.contains("closing it too"));
    pause(1200);
    lab.say("terminal 1, after its banner:");
    lab.server_output(&model);
    lab.look("every \"no new client\" is an accept that returned EAGAIN, every \"sent nothing\" a recv that did; the loop turns whether or not anything happened.");
    drop(model);

    lab.step("server");
    lab.say("the server, serving ./html:");
    let server = lab.server("PORT=0 cargo run -q -p nonblock_server")?;
    let port = server.port;
    let pid = server.pid();

    lab.step("curl");
    if lab.need(&[&CURL]) {
        lab.say("terminal 2: the page, with its head (-i); head keeps the head and the first lines of the body.");
        lab.sh(&format!("curl -si http://127.0.0.1:{port}/ | head -n 12"))?;
        lab.look("Content-Length: the body's size, and Connection: keep-alive: the connection may carry another request.");
        lab.say("a file that is not there:");
        lab.sh(&format!("curl -si http://127.0.0.1:{port}/nothing-here"))?;
        lab.say("terminal 1:");
        server.wait_for(2, |line| line.ends_with(": closed"));
        lab.server_output(&server);
        lab.look("one line per client, one per request, one when the client closed.");
    }

    lab.step("cpu");
    lab.say("with no client at all, how much of a second the server spent on the CPU: the utime and stime of /proc/PID/stat, in clock ticks, before and after one second.");
    lab.sh(&cpu_command(pid))?;
    if lab.need(&[&PS]) {
        lab.sh(&format!("ps -o pid,stat,cmd -p {pid}"))?;
    }
    lab.look("most of the second's ticks (all of them on an idle machine): the loop never sleeps, and ps shows it running (R), as top would show it at 100% of a core.");
    Ok(())
}
