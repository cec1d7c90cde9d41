use anyhow::{ensure, Context, Result};

use super::Chapter;
use crate::lab::{pause, until, Lab, Server, CURL, PS, SS};
use testkit::procs::children_of;

pub const CHAPTER: Chapter = Chapter {
    short: "prefork",
    crate_name: "prefork_server",
    what: "two workers, each with a listening socket of its own (ps, ss); 100 connections spread by the kernel; a worker killed and replaced, and the connections queued for it reset; one shared socket's herd against a socket each",
    run,
    varies: VARIES,
    // The master's line and its workers' come in any order, each worker
    // hearing SIGINT for itself.
    sort: &[r"^(\[worker <pid>\] stopping: |SIG(INT|TERM): stopping workers )"],
};

/// What varies: the workers' PIDs (the common rules know a PID only where
/// it says PID), how many connections the hash gave each worker, how many
/// waited in a queue, and how many times each worker was woken. What does
/// not vary is checked as the experiment runs: every worker served, the
/// counts add up, the reset connections are those that were queued, and
/// the herd woke every worker.
const VARIES: &[(&str, &str)] = &[
    (r"\[worker \d+\]", "[worker <pid>]"),
    (r"Workers: \d+( \d+)*", "Workers: <pids>"),
    (r"stopping workers \d+( \d+)*", "stopping workers <pids>"),
    (r"\bWorker \d+ in its place", "Worker <pid> in its place"),
    (
        r"accepted \d+ connections; the listening socket reported \d+ times, \d+ for nothing; woken \d+ times",
        "accepted <n> connections; the listening socket reported <n> times, <n> for nothing; woken <n> times",
    ),
    (r"(?m)^ *\d+ (000|200)$", "<n> $1"),
    (r"(?m)^LISTEN +\d+ ", "LISTEN <n> "),
    (r"kill -INT -- -\d+", "kill -INT -- -<pid>"),
];

/// How many connections the spread and the herd make, one after another.
const CONNECTIONS: usize = 100;

/// How many clients ask at once while a worker is stopped.
const QUEUED_CLIENTS: usize = 20;

fn run(lab: &mut Lab) -> Result<()> {
    if !lab.need(&[&CURL, &PS, &SS]) {
        return Ok(());
    }
    lab.step("start");
    lab.say("two workers:");
    let mut server = lab.server("PORT=0 cargo run -q -p prefork_server -- --workers 2")?;
    let port = server.port;
    let workers = workers_of(&server)?;
    let master = master_of(&server, workers[0])?;
    lab.look("the master printed the banner once both workers listened, and named them.");

    lab.step("workers");
    lab.say("terminal 2: the master and its two workers, then the listening sockets on the port (-l listening, -t TCP, -n numbers, -p the process holding each):");
    lab.sh(&format!(
        "ps -o pid,ppid,stat,cmd -p {master} --ppid {master}"
    ))?;
    lab.sh(&format!("ss -ltnp 'sport = :{port}'"))?;
    lab.look("two LISTEN lines on the same port, each held by one worker and no other process: a socket each, and the master holds none that listens.");
    let tree = children_of(master);
    lab.figure(
        "prefork-workers",
        crate::figures::tree_data("prefork_server", master, None, &tree),
    );

    lab.step("spread");
    lab.say(&format!(
        "{CONNECTIONS} connections, one after another, each a curl of its own (a new source port each time), then SIGTERM to the master:"
    ));
    lab.sh(&format!(
        "for i in $(seq {CONNECTIONS}); do curl -s -o /dev/null http://127.0.0.1:{port}/; done"
    ))?;
    server.wait_for(CONNECTIONS, |line| line.ends_with(": closed"));
    let mut shown = server.process.lines().len();
    lab.sh(&format!("kill {master}"))?;
    lab.say("terminal 1, after a line per client and per request:");
    let stopped = stop_and_show(lab, &mut server, &mut shown, workers.len())?;
    let accepted: Vec<usize> = stopped.iter().map(|counts| counts[0]).collect();
    ensure!(
        accepted.len() == 2 && accepted.iter().all(|&count| count > 0),
        "the spread: expected both workers to accept some of {CONNECTIONS}, got {accepted:?}"
    );
    ensure!(
        accepted.iter().sum::<usize>() == CONNECTIONS,
        "the spread: {accepted:?} do not add up to {CONNECTIONS}"
    );
    lab.sh(&format!(
        "ps -o pid,stat,cmd -p {} || echo none left",
        join(&workers)
    ))?;
    lab.look("both workers took some, and the counts add up to 100: the kernel hashed each connection (its addresses and ports) to one of the two sockets; the split differs from run to run. Then each worker stopped, the master reaped them and exited 0, and no worker is left, running or zombie.");
    drop(server);

    lab.step("crash");
    lab.say(
        "again, and a worker killed with SIGKILL, as a crash would end it (no chance to clean up):",
    );
    let mut server = lab.server("PORT=0 cargo run -q -p prefork_server -- --workers 2")?;
    let port = server.port;
    let master = master_of(&server, workers_of(&server)?[0])?;
    let mut shown = server.process.lines().len();
    lab.sh(&format!("kill -9 {}", workers_of(&server)?[0]))?;
    server.wait_for(1, |line| line.ends_with(" in its place"));
    lab.say("terminal 1:");
    show_new_lines(lab, &server, &mut shown);
    lab.sh(&format!("ss -ltnp 'sport = :{port}'"))?;
    lab.look("the master said how the worker died and forked another in its place, which has a listening socket of its own: two LISTEN lines again.");

    lab.step("queue");
    queued_then_reset(lab, &server, &current_workers(master))?;
    server.wait_for(2, |line| line.ends_with(" in its place"));
    lab.say("terminal 1 (its lines about each client left out):");
    show_new_lines(lab, &server, &mut shown);

    lab.step("ctrl-c");
    lab.say("Ctrl-C in terminal 1: the terminal sends SIGINT to the whole foreground process group, the master and its workers (replay sends it the same way):");
    lab.sh(&format!("kill -INT -- -{master}"))?;
    stop_and_show(lab, &mut server, &mut shown, 2)?;
    lab.look("the workers stopped on their own SIGINT, the master on its own, after reaping them: exit code 0.");
    drop(server);

    for (step, extra, what) in [
        (
            "herd",
            " --shared-listener",
            "four workers on one listening socket, made by the master before it forked, so that every worker holds it:",
        ),
        (
            "reuseport",
            "",
            "the same four workers, each with a listening socket of its own:",
        ),
    ] {
        lab.step(step);
        herd(lab, extra, what)?;
    }
    Ok(())
}

/// Waits for the `workers` stopping lines and the server's exit; shows the
/// lines since `shown` (but those about each client) and the exit code;
/// returns each worker's counts (accepted, reported, for nothing, woken).
fn stop_and_show(
    lab: &mut Lab,
    server: &mut Server,
    shown: &mut usize,
    workers: usize,
) -> Result<Vec<Vec<usize>>> {
    let status = server.process.wait_exit(crate::lab::STEP_TIMEOUT);
    show_new_lines(lab, server, shown);
    let stopped: Vec<Vec<usize>> = server
        .process
        .lines()
        .iter()
        .filter(|line| line.contains("] stopping: "))
        .map(|line| leading_numbers_after(line, "stopping: "))
        .collect();
    let code = status.and_then(|status| status.code());
    lab.transcript.command("echo \"exit code $?\"");
    lab.transcript.output(&format!(
        "exit code {}\n",
        code.map_or("none".to_owned(), |code| code.to_string())
    ));
    ensure!(code == Some(0), "the server did not exit 0: {code:?}");
    ensure!(
        stopped.len() == workers,
        "{} stopping lines for {workers} workers",
        stopped.len()
    );
    Ok(stopped)
}

/// `1 2 3` as `1,2,3`.
fn join(pids: &[i32]) -> String {
    pids.iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Stops the second worker, lets clients connect while it cannot accept,
/// kills it, and counts what the clients got: those hashed to it waited in
/// its own accept queue, which closes with its listening socket.
fn queued_then_reset(lab: &mut Lab, server: &Server, workers: &[i32]) -> Result<()> {
    let port = server.port;
    let stopped = workers[1];
    lab.say("what a crash costs: the connections waiting in the worker's own accept queue. Is this kernel set to move them to another worker when a listening socket closes?");
    let migrate = lab.sh("sysctl net.ipv4.tcp_migrate_req")?;
    lab.say("worker stopped (SIGSTOP: it accepts no one, but the kernel still completes handshakes and queues them), then 20 clients at once, each giving up after 5 s:");
    lab.sh(&format!("kill -STOP {stopped}"))?;
    let codes = lab.scratch_file("codes.txt");
    let clients = format!(
        "for i in $(seq {QUEUED_CLIENTS}); do curl -s -m 5 -o /dev/null -w '%{{http_code}}\\n' http://127.0.0.1:{port}/ & done > {codes}"
    );
    lab.transcript.command(&clients);
    let mut running = lab.background(&format!("{clients}; wait"))?;
    pause(1000);
    let queues = lab.sh(&format!("ss -ltn 'sport = :{port}'"))?;
    let queued: usize = queues
        .lines()
        .filter(|line| line.starts_with("LISTEN"))
        .filter_map(|line| line.split_whitespace().nth(1)?.parse::<usize>().ok())
        .sum();
    lab.say("the stopped worker killed (`wait` waits for the curls):");
    lab.transcript.command(&format!("kill -9 {stopped}; wait"));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(stopped),
        nix::sys::signal::Signal::SIGKILL,
    )?;
    let ended = running.wait_exit(crate::lab::STEP_TIMEOUT).is_some();
    ensure!(ended, "the curls did not end");
    let answers = lab.sh(&format!("sort {codes} | uniq -c"))?;
    let reset = count_of(&answers, "000");
    let served = count_of(&answers, "200");
    ensure!(
        reset + served == QUEUED_CLIENTS,
        "the queue: {answers:?} is not {QUEUED_CLIENTS} answers"
    );
    if migrate.trim().ends_with("= 0") {
        ensure!(
            reset == queued,
            "the queue: {queued} waited in the stopped worker's queue, but {reset} were reset: {answers:?}"
        );
        lab.look("Recv-Q of a listening socket is its accept queue: the stopped worker's held the clients hashed to it. When it died, its socket closed and each of those connections was reset (curl prints 000): as many as had waited. The others were answered (200) by the other worker.");
    } else {
        lab.look("with tcp_migrate_req set, the connections queued for the dead worker moved to the other's queue and were answered too.");
    }
    Ok(())
}

/// The herd's experiment: `extra` after `--quiet --workers 4`, then
/// [`CONNECTIONS`] connections one after another, 50 ms apart so that every
/// worker is asleep when each arrives, then SIGTERM and the workers' counts.
fn herd(lab: &mut Lab, extra: &str, what: &str) -> Result<()> {
    const WORKERS: usize = 4;
    lab.say(what);
    let mut server = lab.server(&format!(
        "PORT=0 cargo run -q -p prefork_server -- --quiet --workers {WORKERS}{extra}"
    ))?;
    let port = server.port;
    let master = master_of(&server, workers_of(&server)?[0])?;
    lab.say(&format!(
        "terminal 2: {CONNECTIONS} connections, one after another, 50 ms apart, then SIGTERM to the master:"
    ));
    lab.sh(&format!(
        "for i in $(seq {CONNECTIONS}); do curl -s -o /dev/null http://127.0.0.1:{port}/; sleep 0.05; done"
    ))?;
    let mut shown = server.process.lines().len();
    lab.sh(&format!("kill {master}"))?;
    let stopped = stop_and_show(lab, &mut server, &mut shown, WORKERS)?;
    // accepted, reported, for nothing, woken
    let accepted: usize = stopped.iter().map(|counts| counts[0]).sum();
    ensure!(
        stopped.len() == WORKERS && accepted == CONNECTIONS,
        "the herd: {stopped:?} do not add up to {CONNECTIONS} connections"
    );
    let most = CONNECTIONS * 3 / 4;
    let woken: Vec<usize> = stopped.iter().map(|counts| counts[3]).collect();
    if extra.is_empty() {
        ensure!(
            woken.iter().sum::<usize>() < WORKERS * most,
            "a socket each: the workers were woken {woken:?} times, as often as a herd"
        );
        lab.look("each worker was woken about twice per connection it accepted (the connection with its request, then its end), and for no other: the kernel put each connection in one worker's queue, and woke that worker only.");
    } else {
        ensure!(
            woken.iter().all(|&times| times >= most),
            "the herd: some worker was woken fewer than {most} times for {CONNECTIONS} connections: {woken:?}"
        );
        lab.look("every worker was woken for every connection, whichever accepted it (about 100 times, plus twice for each of its own): the herd. Few of those wakeups reached the loop (for nothing): epoll looked at the socket again before returning, found its queue emptied by another worker, and put the process back to sleep. The cost is in the wakeups themselves.");
    }
    Ok(())
}

/// The workers' PIDs from the master's `Workers: 1 2, ...` line.
fn workers_of(server: &Server) -> Result<Vec<i32>> {
    let lines = server.process.lines();
    let line = lines
        .iter()
        .find_map(|line| line.strip_prefix("Workers: "))
        .context("no Workers line")?;
    let (pids, _) = line
        .split_once(", ")
        .context("a Workers line without a comma")?;
    Ok(pids.split(' ').filter_map(|pid| pid.parse().ok()).collect())
}

/// The master: the parent of the workers. replay starts the server with
/// bash, which execs a lone command but forks both sides of a pipe.
fn master_of(server: &Server, worker: i32) -> Result<i32> {
    let is_parent = |pid: i32| children_of(pid).iter().any(|child| child.pid == worker);
    let bash = server.pid();
    if is_parent(bash) {
        return Ok(bash);
    }
    children_of(bash)
        .into_iter()
        .map(|child| child.pid)
        .find(|&child| is_parent(child))
        .context("no parent of the workers under the server's shell")
}

/// The master's children that run (not zombies), by PID.
fn current_workers(master: i32) -> Vec<i32> {
    until(|| children_of(master).iter().all(|child| child.state != 'Z'));
    children_of(master)
        .into_iter()
        .filter(|child| child.state != 'Z')
        .map(|child| child.pid)
        .collect()
}

/// Shows what the server printed since line `shown`, but the workers'
/// lines about each client, and moves `shown`.
fn show_new_lines(lab: &mut Lab, server: &Server, shown: &mut usize) {
    let lines = server.process.lines();
    let about_a_client =
        |line: &String| line.starts_with("[worker ") && !line.contains("] stopping: ");
    let new: Vec<String> = lines[(*shown).min(lines.len())..]
        .iter()
        .filter(|line| !about_a_client(line))
        .cloned()
        .collect();
    lab.transcript.lines(&new);
    *shown = lines.len();
}

/// Every number in `line` after `marker`.
fn leading_numbers_after(line: &str, marker: &str) -> Vec<usize> {
    let after = line.split_once(marker).map_or("", |(_, after)| after);
    after
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|word| word.parse().ok())
        .collect()
}

/// The count `uniq -c` gives `value` in `answers`, or 0.
fn count_of(answers: &str, value: &str) -> usize {
    answers
        .lines()
        .filter_map(|line| {
            let (count, what) = line.trim().split_once(' ')?;
            (what.trim() == value).then(|| count.parse::<usize>().ok())?
        })
        .sum()
}
