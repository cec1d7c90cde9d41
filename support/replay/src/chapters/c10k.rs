use anyhow::{ensure, Result};

use super::nonblock_server::cpu_command;
use super::Chapter;
use crate::lab::{pause, until, Lab, PS, STEP_TIMEOUT};
use testkit::procs::children_of;
use testkit::run::Running;

pub const CHAPTER: Chapter = Chapter {
    short: "c10k",
    crate_name: "c10k",
    what: "500 idle connections held against webserver3g, nonblock_server and epoll_server: processes, descriptors, Pss and CPU from /proc",
    run,
    varies: VARIES,
    sort: &[],
};

/// What varies: the memory (a few KiB either way between runs), the CPU
/// ticks of the busy loop (see nonblock_server), and whether epoll_server's
/// once-a-second look for idle connections among 500 falls on a tick.
const VARIES: &[(&str, &str)] = &[
    (r"\b\d+ KiB\b", "<n> KiB"),
    (r"\b([5-9]\d|1\d\d) ticks of 100\b", "<most> ticks of 100"),
    (r"\b[01] ticks of 100\b", "<0 or 1> ticks of 100"),
];

/// How many idle connections: the chapter's figure.
const CONNECTIONS: usize = 500;

/// Shows the chapter's command of terminal 2, for the server on `port`,
/// and starts it in the background, kept open (as the learner's shell
/// stays open) until the returned handle is dropped. It counts the shell's
/// sockets, not all its descriptors: what else a shell holds varies (one
/// inherited from whatever started it, and the pipe of the command
/// substitution itself, whose write end the shell closes while `ls` runs,
/// so that `ls` may list it and then fail to read it: hence `2>/dev/null`).
fn hold(lab: &mut Lab, port: u16) -> Result<Running> {
    let command = format!(
        "for i in $(seq {CONNECTIONS}); do exec {{fd}}<>/dev/tcp/127.0.0.1/{port}; done; \
         echo \"holding $(ls -l /proc/$$/fd 2>/dev/null | grep -c socket:) sockets\""
    );
    let holder = lab.background(&format!("{command}; sleep 120"))?;
    let holding = |lines: &[String]| lines.iter().any(|line| line.starts_with("holding"));
    let held = holder.wait_for(STEP_TIMEOUT, holding);
    ensure!(
        held,
        "{command}: no `holding` line; it printed {:?}",
        holder.lines()
    );
    lab.transcript.command(&command);
    lab.transcript.lines(&holder.lines());
    Ok(holder)
}

fn run(lab: &mut Lab) -> Result<()> {
    if !lab.need(&[&PS]) {
        return Ok(());
    }
    lab.step("fork");
    lab.say(&format!("webserver3g, a process per connection, and {CONNECTIONS} idle connections held open by one bash in terminal 2 (the chapter's measurement, replayed):"));
    let server = lab.server("PORT=0 cargo run -q -p webserver3g")?;
    let pid = server.pid();
    let holder = hold(lab, server.port)?;
    until(|| children_of(pid).len() >= CONNECTIONS);
    pause(300);
    lab.say("the processes, and their memory with each shared page divided among the processes that share it (Pss):");
    lab.sh(&format!("ps -o pid= -p {pid} --ppid {pid} | wc -l"))?;
    lab.sh(&format!(
        "ps -o pid= -p {pid} --ppid {pid} | while read pid; do awk '/^Pss:/ {{ print $2 }}' /proc/$pid/smaps_rollup; done | awk '{{ kib += $1 }} END {{ print kib \" KiB\" }}'"
    ))?;
    lab.look("a process per connection, each waiting in recv for a request that never comes, and tens of KiB each.");
    drop(holder);
    drop(server);

    for (step, crate_name, what, look) in [
        (
            "poll",
            "nonblock_server",
            "nonblock_server, one process polling every socket in turn:",
            "one process and a descriptor per connection, a couple of MB, and most of every second on the CPU, asking 500 sockets whether they have anything to say.",
        ),
        (
            "epoll",
            "epoll_server",
            "epoll_server, one process sleeping on epoll:",
            "about the same memory, one descriptor more (the epoll instance), and no CPU at all.",
        ),
    ] {
        lab.step(step);
        lab.say(what);
        let server = lab.server(&format!("PORT=0 cargo run -q -p {crate_name} -- --quiet"))?;
        let pid = server.pid();
        let before = descriptors(pid);
        let holder = hold(lab, server.port)?;
        // Every connection accepted: one more descriptor each.
        until(|| descriptors(pid) >= before + CONNECTIONS);
        pause(100);
        lab.sh(&format!("ls /proc/{pid}/fd | wc -l"))?;
        lab.sh(&format!(
            "awk '/^Pss:/ {{ print $2 \" KiB\" }}' /proc/{pid}/smaps_rollup"
        ))?;
        lab.sh(&cpu_command(pid))?;
        lab.look(look);
        drop(holder);
        drop(server);
    }
    Ok(())
}

/// How many descriptors `pid` has open, from /proc.
fn descriptors(pid: i32) -> usize {
    testkit::procs::descriptors(pid).len()
}
