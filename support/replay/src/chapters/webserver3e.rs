use anyhow::Result;

use super::Chapter;
use crate::lab::{Lab, CURL, STEP_TIMEOUT, STRACE};

pub const CHAPTER: Chapter = Chapter {
    short: "3e",
    crate_name: "webserver3e",
    what: "one curl; the child reaped, then accept: Interrupted system call, exit 1; the parent under strace",
    run,
    varies: &[],
    sort: &[],
};

fn run(lab: &mut Lab) -> Result<()> {
    if !lab.need(&[&CURL]) {
        return Ok(());
    }
    lab.step("run");
    lab.say("the child sleeps 3 s before it exits, so that the parent is back in accept; SLEEP_SECS=1 makes it 1 s here.");
    let mut server = lab.server("PORT=0 SLEEP_SECS=1 cargo run -q -p webserver3e")?;
    let port = server.port;
    lab.sh(&format!("curl -s http://127.0.0.1:{port}/hello"))?;
    lab.say("a second later, terminal 1:");
    lab.last_words(&mut server);
    lab.look("the handler did its job (terminated with status 0), and then accept failed with EINTR and the server exited with code 1.");
    drop(server);

    lab.step("strace");
    if !lab.need(&[&STRACE]) {
        return Ok(());
    }
    lab.say("the parent's system calls (strace without -f follows only the parent); rt_sigreturn is the return from the handler.");
    let calls = "accept4,clone,close,wait4,rt_sigreturn";
    let (mut server, trace) = lab.strace("SLEEP_SECS=1 ", "webserver3e", calls)?;
    let port = server.port;
    lab.quietly(&format!("curl -s http://127.0.0.1:{port}/hello"))?;
    server.process.wait_exit(STEP_TIMEOUT);
    lab.say("after one curl, from the first accept4 on:");
    lab.sh(&format!("sed -n '/^accept4/,$p' {trace}"))?;
    lab.look("accept4 abandoned with ERESTARTSYS when SIGCHLD arrives; the handler's wait4; rt_sigreturn, and since the handler was installed without SA_RESTART the kernel turns ERESTARTSYS into EINTR: accept4 returns -1, errno 4.");
    Ok(())
}
