use anyhow::Result;

use super::Chapter;
use crate::lab::{Lab, CURL, PS, SS, STRACE};

pub const CHAPTER: Chapter = Chapter {
    short: "3a",
    crate_name: "webserver3a",
    what: "one curl; the server's print; ps, /proc/PID/fd and ss; one request under strace",
    run,
    // The request's size follows the length of its Host header, that is
    // of the port.
    varies: &[(r"(?m)^(recvfrom\(.*\) += )\d+", "$1<bytes>")],
    sort: &[],
};

fn run(lab: &mut Lab) -> Result<()> {
    lab.step("server");
    lab.say(
        "the iterative server; PORT=0 lets the kernel pick a free port, which the banner names.",
    );
    let server = lab.server("PORT=0 cargo run -q -p webserver3a")?;
    let port = server.port;

    lab.step("curl");
    if lab.need(&[&CURL]) {
        lab.say("a client; -v shows the request curl sends (>) and the head it receives (<); -s hides the progress meter.");
        lab.sh(&format!("curl -sv http://127.0.0.1:{port}/hello"))?;
        lab.look("the status line and a blank line, then the greeting; no Content-Length, so curl reads until the server closes.");

        lab.step("server-print");
        lab.say("the server printed the request as it read it:");
        server.wait_for(4, |_| true);
        lab.server_output(&server);
    }

    lab.step("proc");
    if lab.need(&[&PS, &SS]) {
        let pid = server.pid();
        lab.say("the process, its descriptors and its listening socket:");
        lab.sh(&format!("ps -o pid,ppid,stat,cmd -p {pid}"))?;
        lab.sh(&format!("ls -l /proc/{pid}/fd"))?;
        lab.sh(&format!("ss -tlnp 'sport = :{port}'"))?;
        lab.look("between clients the server holds one socket, the listening one, on descriptor 3; Send-Q 5 is the backlog. (Here 0 is /dev/null and 1 and 2 are a pipe to replay; in a terminal all three are the terminal, /dev/pts/N.)");
    }
    drop(server);

    lab.step("strace");
    if lab.need(&[&STRACE, &CURL]) {
        lab.say("the same request under strace, which writes the system calls to a file (-o); -e trace= keeps only the ones named.");
        let calls = "socket,setsockopt,bind,listen,accept4,recvfrom,sendto,close";
        let (server, trace) = lab.strace("", "webserver3a", calls)?;
        let port = server.port;
        lab.quietly(&format!("curl -s http://127.0.0.1:{port}/hello"))?;
        server.wait_for(4, |_| true);
        lab.say("after one curl, the trace from the first socket call on:");
        lab.sh(&format!("sed -n '/^socket(/,/^close(4)/p' {trace}"))?;
        lab.look("the four socket steps of serve_forever in the order of the source, then one iteration of its loop: accept4 returns descriptor 4, one recvfrom of at most 1024 bytes, one sendto, close(4).");
    }
    Ok(())
}
