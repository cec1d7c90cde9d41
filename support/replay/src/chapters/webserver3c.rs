use anyhow::{bail, Result};

use super::Chapter;
use crate::lab::{until, Lab, CURL, PS, SS};
use testkit::procs::children_of;

pub const CHAPTER: Chapter = Chapter {
    short: "3c",
    crate_name: "webserver3c",
    what: "two curls, two children (ps, /proc/PID/fd, ss -p); the children exit and stay zombies; kill -9 does not remove one",
    run,
    varies: &[],
    sort: &[],
};

fn run(lab: &mut Lab) -> Result<()> {
    if !lab.need(&[&CURL, &PS, &SS]) {
        return Ok(());
    }
    lab.step("run");
    lab.say("a child per client; each child sleeps 60 s after answering, SLEEP_SECS=3 makes it 3 s here.");
    let server = lab.server("PORT=0 SLEEP_SECS=3 cargo run -q -p webserver3c")?;
    let port = server.port;
    let parent = server.pid();
    let curl = format!("curl -s http://127.0.0.1:{port}/hello");
    lab.say("two clients, in two terminals (their commands and output are below, where they end); each request is read by a child of its own, which prints it:");
    let first = lab.background(&curl)?;
    server.wait_for(1, |line| line.starts_with("Child PID"));
    let second = lab.background(&curl)?;
    server.wait_for(2, |line| line.starts_with("Child PID"));
    server.wait_for(2, |line| line.starts_with("Accept:"));
    lab.server_output(&server);

    lab.step("proc");
    let children = children_of(parent);
    if children.len() != 2 {
        bail!("expected two children of {parent}, found {children:?}");
    }
    let child = children[1].pid;
    lab.say("while the children sleep: the processes, and the descriptors of the parent and of one child.");
    lab.sh(&format!("ps -o pid,ppid,stat,cmd --ppid {parent}"))?;
    lab.sh(&format!("ls -l /proc/{parent}/fd"))?;
    lab.sh(&format!("ls -l /proc/{child}/fd"))?;
    lab.look("the parent holds only the listening socket (3); each child only its client's connection (4).");
    lab.say("ss -p says which process holds which socket:");
    lab.sh(&format!("ss -tanp 'sport = :{port}'"))?;

    lab.step("zombies");
    lab.say("3 s later both children answer, exit, and stay behind as zombies: state Z, <defunct>. Both curls end:");
    lab.finish(&curl, first)?;
    lab.finish(&curl, second)?;
    until(|| {
        let children = children_of(parent);
        children.len() == 2 && children.iter().all(|child| child.state == 'Z')
    });
    lab.sh(&format!("ps -o pid,ppid,stat,cmd --ppid {parent}"))?;
    lab.say("not even kill -9 removes one: a zombie has nothing left to kill.");
    lab.sh(&format!("kill -9 {child}"))?;
    lab.sh(&format!("ps -o pid,ppid,stat,cmd --ppid {parent}"))?;
    lab.sh(&format!("grep -E 'State|PPid' /proc/{child}/status"))?;
    lab.look("Z and <defunct>: what is left is the exit status, kept until the parent waits for it, which 3c never does.");
    lab.figure(
        "3c-zombies",
        crate::figures::tree_data("webserver3c", parent, Some(2), &children_of(parent)),
    );
    Ok(())
}
