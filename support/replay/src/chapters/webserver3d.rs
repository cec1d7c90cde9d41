use std::fs;
use std::os::unix::fs::PermissionsExt;

use anyhow::{Context, Result};
use nix::unistd::{Uid, User};

use super::Chapter;
use crate::lab::{free_port, pause, Lab, Server, CURL, PS, SETPRIV, SS};

pub const CHAPTER: Chapter = Chapter {
    short: "3d",
    crate_name: "webserver3d",
    what: "curl gets the greeting and no end of file (ps, /proc/PID/fd, ss); ulimit -n 32 and 50 connections: Too many open files; as root, ulimit -u 40 as nobody: fork EAGAIN",
    run,
    // Where the server dies depends on how far it got when client3
    // connected: the connections waiting in its listen queue are counted
    // by the client, and which connection fails varies by a few.
    varies: &[
        (r"connection \d+ failed", "connection <n> failed"),
        (r"opened \d+ of", "opened <n> of"),
        (r"not attempted: \d+", "not attempted: <n>"),
        (r"ulimit -u \d+", "ulimit -u <n>"),
        // The parent's count of clients comes before or after the child's
        // lines, as they run: left out of the comparison.
        (r"(?m)^\d+\n", ""),
    ],
    sort: &[],
};

/// The bound on a run of client3 against a server that accepts slower
/// than it connects.
const LONG_RUN: std::time::Duration = std::time::Duration::from_secs(90);

fn run(lab: &mut Lab) -> Result<()> {
    if !lab.need(&[&CURL, &PS, &SS]) {
        return Ok(());
    }

    lab.step("hang");
    lab.say("the parent keeps a copy of each client socket; the client gets the greeting and then waits for an end of file that never comes. curl starts in terminal 2, and --max-time 3 makes it give up after 3 s (-N: it prints what it receives at once); its command and output are below, where it ends.");
    let server = lab.server("PORT=0 cargo run -q -p webserver3d")?;
    let port = server.port;
    let parent = server.pid();
    let curl =
        format!("curl -sSN --max-time 3 http://127.0.0.1:{port}/hello; echo \"exit code $?\"");
    let client = lab.background(&curl)?;
    server.wait_for(1, |line| line.starts_with("Accept:"));
    pause(300);
    lab.say("while curl waits, in another terminal: the child has already exited (it is a zombie), yet the parent holds a socket on 4, and ss says who keeps the connection established.");
    lab.sh(&format!("ps -o pid,ppid,stat,cmd --ppid {parent}"))?;
    lab.sh(&format!("ls -l /proc/{parent}/fd"))?;
    lab.sh(&format!("ss -tanp 'sport = :{port} or dport = :{port}'"))?;
    lab.look(
        "descriptor 4 in the parent, and the ESTAB row of the server's side held by the parent.",
    );
    lab.say("curl gives up after 3 s:");
    lab.finish(&curl, client)?;
    lab.look("the greeting, then error 28, a timeout: the body never ended.");
    pause(300);
    lab.say("curl's exit closed its end: its kernel sent FIN, the server's kernel acknowledged it and waits for the server to close, which it never will.");
    lab.sh(&format!("ss -tnp 'sport = :{port} or dport = :{port}'"))?;
    lab.say("terminal 1 printed:");
    lab.server_output(&server);
    drop(server);

    lab.step("nofile");
    lab.say("running out of descriptors: the article lowers the limit on open files to 256 and opens 300 connections; 32 and 50 show the same in less time. The limit is set in a subshell, for the server only (cargo itself needs more descriptors), and the server's standard output goes to /dev/null, so that its error does not come interleaved with its children's prints.");
    let binary_shown = lab.binary("webserver3d");
    lab.transcript.command("cargo build -q -p webserver3d");
    let port = free_port()?;
    let mut server = lab.quiet_server(
        &format!("(ulimit -n 32; PORT={port} exec {binary_shown} > /dev/null)"),
        &format!("ulimit -n 32; PORT={port} exec {binary_shown} > /dev/null"),
        port,
    )?;
    lab.say("in another terminal, one client that opens 50 connections and holds them all:");
    // When the client connects faster than the server accepts, the listen
    // queue (5) overflows and the kernel drops SYNs, which the client sends
    // again a second later: on a busy machine this run takes a while.
    lab.client3(port, 1, 50, LONG_RUN)?;
    died(lab, &mut server);
    lab.look("the server died at accept, Too many open files, after its 28th client: 32 descriptors, less 0, 1, 2 and the listening socket. client3 may count a few more connections opened: those the kernel had completed in the listen queue when the server died.");
    drop(server);

    lab.step("nproc");
    if !Uid::effective().is_root() {
        lab.transcript.skip("needs root. RLIMIT_NPROC (ulimit -u) counts every process of the user, so as a normal user the limit cannot be made exact; root runs the server as the user nobody with setpriv (root itself is exempt from the limit).");
        return Ok(());
    }
    if !lab.need(&[&SETPRIV]) {
        return Ok(());
    }
    let Some(nobody) = User::from_name("nobody")? else {
        lab.transcript
            .skip("there is no user nobody to run the server as.");
        return Ok(());
    };
    lab.say("running out of processes: 3d reaps no child, every exited child stays a zombie, and zombies count against ulimit -u. Root is exempt, so the server runs as the user nobody, with 40 processes (the article: 400; on top of any that nobody already runs, which count too) and 100 files; one client holds 60 connections.");
    // RLIMIT_NPROC counts what nobody already runs (other programs, other
    // tests): the limit is 40 on top of that, as `ulimit -u` shows it.
    let limit = 40 + testkit::procs::tasks_of_user(nobody.uid.as_raw());
    let port = free_port()?;
    let shown = format!(
        "sudo setpriv --reuid=nobody --regid=nogroup --clear-groups bash -c 'ulimit -u {limit}; ulimit -n 100; PORT={port} exec {} > /dev/null'",
        lab.binary("webserver3d")
    );
    // nobody must be able to reach the binary and its working directory,
    // and the checkout may sit in a directory only root may enter (`mktemp
    // -d` makes it 0700): run a copy, from a directory everyone may enter.
    let shared = lab.scratch.join("for-nobody");
    fs::create_dir_all(&shared).context("create a directory for nobody")?;
    fs::set_permissions(&lab.scratch, fs::Permissions::from_mode(0o755))
        .and_then(|()| fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)))
        .context("open the directory for nobody")?;
    fs::copy(lab.binaries.join("webserver3d"), shared.join("webserver3d"))
        .context("copy webserver3d for nobody")?;
    let actual = format!(
        "cd {} && setpriv --reuid=nobody --regid=nogroup --clear-groups bash -c 'ulimit -u {limit}; ulimit -n 100; PORT={port} exec ./webserver3d > /dev/null'",
        shared.display()
    );
    let mut server = lab.quiet_server(&shown, &actual, port)?;
    lab.client3(port, 1, 60, LONG_RUN)?;
    died(lab, &mut server);
    lab.look("fork: EAGAIN, after the 39th child: the server and its 39 zombies are the 40 processes nobody may have. client3 may again count a few more connections, those in the listen queue.");
    Ok(())
}

/// Waits for the server to die of its error, and shows that error (its
/// standard error: all that is not sent to /dev/null) and its exit code.
fn died(lab: &mut Lab, server: &mut Server) {
    server.wait_for(1, |line| line.starts_with("webserver3d:"));
    lab.say("terminal 1 (standard output to /dev/null) printed:");
    lab.last_words(server);
}
