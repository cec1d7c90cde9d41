use anyhow::Result;

use super::{burst, Chapter};
use crate::lab::{Lab, CURL, STEP_TIMEOUT, STRACE};

pub const CHAPTER: Chapter = Chapter {
    short: "3g",
    crate_name: "webserver3g",
    what: "the same burst of 128: every child reaped, no zombie; under strace, fewer SIGCHLD than children",
    run,
    // How many signals the 128 exits took varies, and so where one that
    // stood for several exits is in the trace.
    varies: &[
        (r"(?m)^(\$ grep -c SIGCHLD .*\n)\d+", "$1<count>"),
        (r"\d+ signals for 128 children", "<n> signals for 128 children"),
        (r"sed -n \d+,\d+p", "sed -n <lines>p"),
    ],
    sort: &[],
};

fn run(lab: &mut Lab) -> Result<()> {
    burst(lab, "webserver3g", "3g-no-zombies")?;

    lab.step("strace");
    if !lab.need(&[&STRACE, &CURL]) {
        return Ok(());
    }
    lab.say("how many signals did that take? strace without -f follows only the parent; -o writes the trace to a file, so that it can be searched.");
    let (server, trace) = lab.strace("", "webserver3g", "wait4")?;
    lab.client3(server.port, 128, 1, STEP_TIMEOUT)?;
    server.wait_for(128, |line| line.contains("terminated"));
    drop(server);
    let signals = lab.sh(&format!("grep -c SIGCHLD {trace}"))?;
    lab.sh(&format!("grep -c 'wait4.*= [1-9]' {trace}"))?;
    let signals = signals.trim();
    lab.say(&format!("{signals} signals for 128 children."));
    // The first handler run that reaped at least two children: from its
    // SIGCHLD line to the second wait4 that returned a PID. With fewer
    // signals than children, there is one.
    let text = std::fs::read_to_string(&trace)?;
    let (mut signal, mut reaped, mut excerpt) = (None, 0, None);
    for (number, line) in (1..).zip(text.lines()) {
        if line.starts_with("--- SIGCHLD") {
            (signal, reaped) = (Some(number), 0);
        } else if line.starts_with("wait4(") && !line.contains("= -1") && !line.ends_with("= 0") {
            reaped += 1;
            if let (Some(first), 2) = (signal, reaped) {
                excerpt = Some((first, number));
                break;
            }
        }
    }
    if let Some((first, last)) = excerpt {
        lab.say("one of the signals that stood for several exits, and the first two children its handler reaped:");
        lab.sh(&format!("sed -n {first},{last}p {trace}"))?;
        lab.look("one SIGCHLD, two children reaped (si_pid names only one): the handler's loop calls waitpid until no exited child is left.");
    } else {
        lab.say("in this run, no signal stood for two exits.");
    }
    Ok(())
}
