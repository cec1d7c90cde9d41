use std::collections::BTreeMap;

use anyhow::{bail, ensure, Context, Result};
use nix::sys::signal::Signal;

use super::epoll_server::model_takes_a_line_then_3000_bytes;
use super::nonblock_server::cpu_command;
use super::Chapter;
use crate::lab::{pause, Lab, CURL, PS, STEP_TIMEOUT, STRACE};

pub const CHAPTER: Chapter = Chapter {
    short: "uring",
    crate_name: "uring_server",
    what: "the io_uring model with a line and 3000 bytes at once; 0 CPU while idle; one client's exchange under strace: one io_uring_enter per turn; the server and curl; epoll_server and uring_server under strace -c on the same keep-alive load (loadgen keep, 32 connections x 100 requests): system calls per request",
    run,
    varies: VARIES,
    sort: &[r"^<row> "],
};

/// What varies: the files' ETags (inode and time), and in the rows of
/// `strace -c` every figure (times, and counts that depend on how many
/// requests each wakeup found), so that a row is its call's name alone.
/// What does not vary is checked as the experiment runs: every request
/// answered, epoll_server at 2 system calls per request or more,
/// uring_server below 0.5, none of them readiness I/O's.
const VARIES: &[(&str, &str)] = &[
    (r#"ETag: "[^"]*""#, r#"ETag: "<etag>""#),
    (
        r"(?m)^ *\d+\.\d+ +\d+\.\d+ +\d+ +\d+( +\d+)? +(\w+)$",
        "<row> $2",
    ),
    (
        r"\b\d+\.\d\d system calls per request",
        "<n> system calls per request",
    ),
    // loadgen's timings.
    (r"(?m)^seconds: [\d.]+$", "seconds: <time>"),
    (r"(?m)^requests_per_s: [\d.]+$", "requests_per_s: <n>"),
    (r"(?m)^latency_ms: .*$", "latency_ms: <times>"),
];

/// The rows of strace's table the chapter shows, by name: its header, the
/// calls that wait and that move the bytes of requests and answers, and
/// the total.
const SHOWN_ROWS: &str = "calls|epoll_wait|accept4|recvfrom|sendto|sendfile|io_uring_enter|total";

/// The load of the comparison: this many keep-alive connections at once
/// (loadgen's `keep`), each making [`REQUESTS`] requests one after the other.
const CONNECTIONS: usize = 32;
const REQUESTS: usize = 100;

fn run(lab: &mut Lab) -> Result<()> {
    lab.step("model");
    lab.say("the model: it submits an accept and sleeps in io_uring_enter until an operation completes.");
    let model = model_takes_a_line_then_3000_bytes(
        lab,
        "PORT=0 cargo run -q -p uring_server --bin uring_model",
        "hello uring",
    )?;
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

    lab.step("server");
    lab.say("the server: the site of epoll_server, on io_uring.");
    let server = lab.server("PORT=0 cargo run -q -p uring_server")?;
    let port = server.port;
    if lab.need(&[&CURL]) {
        lab.say("terminal 2: a file, and one that is not there (-i shows the head):");
        lab.sh(&format!(
            "curl -si http://127.0.0.1:{port}/style.css | head -n 10"
        ))?;
        // The first client's close logged before the second connects, so
        // that the log's order is the same on every run.
        server.wait_for(1, |line| line.ends_with(": closed"));
        lab.sh(&format!("curl -si http://127.0.0.1:{port}/nothing-here"))?;
        lab.say("terminal 1:");
        server.wait_for(2, |line| line.ends_with(": closed"));
        lab.server_output(&server);
        lab.look("the same answers and the same log as epoll_server's, line for line.");
    }
    drop(server);

    for (step, name, options, look) in [
        (
            "epoll-calls",
            "epoll_server",
            " --trigger edge",
            "a recvfrom that brings each request and a sendto that answers it, and more recvfroms that say EAGAIN (the errors column), as edge-triggered mode demands. epoll_wait, less than once per request: slowed down by strace, the server often found the next request already there when it read again after an answer. At least 2 system calls per request however busy the server is: one to receive, one to send.",
        ),
        (
            "uring-calls",
            "uring_server",
            "",
            "io_uring_enter alone, a few hundred times: no epoll_wait, accept4, recvfrom or sendto, which the kernel made itself. The rest of the total is the start (mmap, the socket steps, io_uring_setup), a few calls per connection (fcntl, getpeername, close) and the file cache's look at the disk once a second. Far below one system call per request: each io_uring_enter submitted the answers to every request the last one brought.",
        ),
    ] {
        lab.step(step);
        if lab.need(&[&STRACE]) {
            count_calls(lab, name, options, look)?;
        }
    }
    Ok(())
}

/// Runs the server `name` under `strace -f -c`, with `options`, puts the
/// comparison's keep-alive load on it, stops it as Ctrl-C would, and shows
/// the top of strace's table and the calls per request; checks what the
/// chapter says of them.
fn count_calls(lab: &mut Lab, name: &str, options: &str, look: &str) -> Result<()> {
    let table = lab.scratch_file(&format!("{name}.calls"));
    let binary = lab.binary(name);
    lab.say(&format!("{name} under strace, which counts its system calls (-c) in every thread (-f), sorted by count (-S calls), into a file (-o); the binary built beforehand (cargo build -p {name}), so that strace counts the server and not cargo; --quiet: no line per request."));
    let mut server = lab.server(&format!(
        "PORT=0 strace -f -c -S calls -o {table} {binary}{options} --quiet"
    ))?;
    // The banner's last line: under strace, it may come a while after the
    // port's, which is all `server` waits for. Shown wherever it came.
    let last = if options.contains("--trigger") {
        "Trigger: "
    } else {
        "Document root: "
    };
    let complete = server.process.wait_for(STEP_TIMEOUT, |lines| {
        lines.iter().any(|line| line.starts_with(last))
    });
    ensure!(complete, "{name}: no line {last:?} in its banner");
    lab.server_output(&server);
    let port = server.port;
    let requests = CONNECTIONS * REQUESTS;
    lab.say(&format!("terminal 2: the project's load tool, loadgen: {CONNECTIONS} keep-alive connections at once, each asking {REQUESTS} times for the same file, the next request as soon as an answer is in; it checks each answer and counts them:"));
    let report = lab.sh(&format!(
        "cargo run -q -p loadgen -- keep --port {port} --path /style.css --connections {CONNECTIONS} --requests {REQUESTS}"
    ))?;
    ensure!(
        report.contains(&format!("\nanswered: {requests}\n")) && report.contains("\nfailed: 0\n"),
        "{name}: expected {requests} answers and no failure, got {report:?}"
    );
    lab.say("Ctrl-C in terminal 1: the server dies of SIGINT, and strace, which keeps it blocked while it writes to a file, writes its table. Its header, the rows of the calls that wait and that move requests and answers, and the total:");
    server.process.signal_group(Signal::SIGINT);
    let stopped = server.process.wait_exit(STEP_TIMEOUT).is_some();
    ensure!(stopped, "{name}: strace did not exit after SIGINT");
    lab.sh(&format!("grep -wE '{SHOWN_ROWS}' {table}"))?;
    lab.sh(&format!(
        "awk '$NF == \"total\" {{ printf \"%.2f system calls per request\\n\", $4 / {requests} }}' {table}"
    ))?;
    let calls = calls_by_name(&std::fs::read_to_string(&table).context("strace's table")?)?;
    check_calls(name, &calls, requests)?;
    lab.look(look);
    Ok(())
}

/// What the chapter says of each server's calls, on [`CONNECTIONS`] ×
/// [`REQUESTS`] requests.
fn check_calls(name: &str, calls: &BTreeMap<String, u64>, requests: usize) -> Result<()> {
    let per_request = |call: &str| calls.get(call).copied().unwrap_or(0) as f64 / requests as f64;
    let total = calls.values().sum::<u64>() as f64 / requests as f64;
    if name == "uring_server" {
        ensure!(
            total < 0.5,
            "{name}: {total:.2} system calls per request, not below 0.5: {calls:?}"
        );
        ensure!(
            ["recvfrom", "sendto", "accept4", "epoll_wait", "sendfile"]
                .iter()
                .all(|call| !calls.contains_key(*call)),
            "{name}: readiness I/O's calls among {calls:?}"
        );
        let others = total - per_request("io_uring_enter");
        ensure!(
            others * (requests as f64) < 10.0 * CONNECTIONS as f64 + 200.0,
            "{name}: more than the start and a few calls per connection besides io_uring_enter: {calls:?}"
        );
    } else {
        // A recvfrom and a sendto per request: at least 2 system calls each.
        ensure!(
            per_request("recvfrom") >= 1.0 && per_request("sendto") >= 1.0,
            "{name}: not a recvfrom and a sendto per request ({total:.2} system calls per request): {calls:?}"
        );
    }
    Ok(())
}

/// The calls by name in the table `strace -c` writes: the rows between its
/// two rules, whose fourth field is the count and last the name (the errors
/// column is empty for a call that never failed).
fn calls_by_name(table: &str) -> Result<BTreeMap<String, u64>> {
    let mut lines = table.lines().map(str::trim);
    if !lines.any(|line| line.starts_with("------")) {
        bail!("no strace -c table in {table:?}");
    }
    let mut calls = BTreeMap::new();
    for line in lines.take_while(|line| !line.starts_with("------")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(count), Some(name)) = (fields.get(3), fields.last()) else {
            bail!("a row of strace -c not understood: {line:?}");
        };
        let count: u64 = count
            .parse()
            .with_context(|| format!("a row of strace -c not understood: {line:?}"))?;
        *calls.entry((*name).to_owned()).or_default() += count;
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::Rules;

    const TABLE: &str = "\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 98.10    0.031227          24      1291         2 io_uring_enter
  0.61    0.000194           6        32           getpeername
  0.40    0.000127           3        33           close
------ ----------- ----------- --------- --------- ----------------
100.00    0.031831          23      1356         2 total
";

    #[test]
    fn reads_the_calls_of_a_strace_c_table() {
        let calls = calls_by_name(TABLE).unwrap();
        assert_eq!(calls["io_uring_enter"], 1291);
        assert_eq!(calls["close"], 33);
        assert_eq!(calls.len(), 3);
        assert!(calls_by_name("nothing").is_err());
    }

    #[test]
    fn a_tables_rows_normalize_to_their_names_in_any_order() {
        let rules = Rules::new(VARIES, CHAPTER.sort);
        let shown = "\
% time     seconds  usecs/call     calls    errors syscall
 34.40    0.024744           6      4045       813 recvfrom
 61.22    0.044035          13      3200           sendto
  0.71    0.000508          10        47         2 epoll_wait
  0.46    0.000332           8        40           accept4
100.00    0.071927           9      7613       826 total
2.38 system calls per request
";
        let other_run = "\
% time     seconds  usecs/call     calls    errors syscall
 33.29    0.026037           7      3494       262 recvfrom
 60.96    0.047681          14      3200           sendto
  0.46    0.000332           8       140         8 accept4
  0.71    0.000508          10       147           epoll_wait
100.00    0.078218          10      7120       356 total
2.23 system calls per request
";
        assert_eq!(rules.apply(shown), rules.apply(other_run));
        let normalized = rules.apply(shown);
        assert!(normalized.contains("<row> epoll_wait\n"), "{normalized}");
        assert!(normalized.contains("<row> total\n"), "{normalized}");
        let without_epoll_wait: String = shown
            .lines()
            .filter(|line| !line.ends_with("epoll_wait"))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_ne!(rules.apply(shown), rules.apply(&without_epoll_wait));
        let other_call = shown.replace("sendto", "sendfile");
        assert_ne!(rules.apply(shown), rules.apply(&other_call));
    }

    #[test]
    fn the_claims_hold_only_for_the_counts_that_make_them() {
        let requests = CONNECTIONS * REQUESTS;
        let uring = calls_by_name(TABLE).unwrap();
        check_calls("uring_server", &uring, requests).unwrap();
        let mut busy = uring.clone();
        busy.insert("io_uring_enter".into(), requests as u64);
        assert!(check_calls("uring_server", &busy, requests).is_err());
        let mut chatty = uring.clone();
        chatty.insert("io_uring_enter".into(), 100);
        chatty.insert("futex".into(), 600);
        assert!(check_calls("uring_server", &chatty, requests).is_err());
        let mut readiness = uring.clone();
        readiness.insert("recvfrom".into(), 1);
        assert!(check_calls("uring_server", &readiness, requests).is_err());
        let epoll: BTreeMap<String, u64> =
            [("recvfrom", 6400), ("sendto", 3200), ("epoll_wait", 3000)]
                .into_iter()
                .map(|(call, count)| (call.to_owned(), count))
                .collect();
        check_calls("epoll_server", &epoll, requests).unwrap();
        let mut fewer = epoll.clone();
        fewer.insert("recvfrom".into(), 100);
        assert!(check_calls("epoll_server", &fewer, requests).is_err());
    }
}
