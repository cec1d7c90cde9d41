//! The summary line: each client sends its counts to the parent through a
//! pipe. client3.py reports nothing; this is bookkeeping, not the lesson.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;

use anyhow::{Context, Result};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{write, Pid};

use crate::cli::Arguments;

/// Sends `<client> <opened>[ <error>]` with one write(2): at most PIPE_BUF
/// bytes (POSIX: 512 or more) into a pipe are atomic, so reports never mix.
/// Should it fail, the parent counts this client as one without a report.
pub fn send(pipe: &OwnedFd, client_num: u32, opened: usize, failure: Option<&str>) {
    let _ = write(pipe, report_line(client_num, opened, failure).as_bytes());
}

/// The report on one line of under 512 bytes: the error cut to 100 characters.
fn report_line(client_num: u32, opened: usize, failure: Option<&str>) -> String {
    let mut line = format!("{client_num} {opened}");
    if let Some(failure) = failure {
        line.push(' ');
        line.extend(failure.replace(char::is_control, " ").chars().take(100));
    }
    line + "\n"
}

/// Reads the reports to end-of-file (the last client exited), reaps each
/// client (waitpid: no zombie), prints the summary: were all connections opened?
pub fn summarize(reader: OwnedFd, clients: &[(u32, Pid)], arguments: &Arguments) -> Result<bool> {
    let mut reports = BTreeMap::new();
    for line in BufReader::new(File::from(reader)).lines() {
        let line = line.context("read the clients' reports")?;
        // A line that does not parse counts as no report from its client.
        let mut fields = line.splitn(3, ' ');
        let mut number = || fields.next().and_then(|field| field.parse::<u64>().ok());
        if let (Some(client_num), Some(opened)) = (number(), number()) {
            reports.insert(client_num, (opened, fields.next().map(str::to_owned)));
        }
    }
    let (mut opened, mut silent) = (0, 0);
    let mut failures = BTreeMap::<String, u64>::new();
    for &(client_num, pid) in clients {
        // No signal handler is installed, so nothing interrupts waitpid.
        let status = waitpid(pid, None).with_context(|| format!("waitpid for {pid}"))?;
        let Some((client_opened, failure)) = reports.remove(&u64::from(client_num)) else {
            let end = match status {
                WaitStatus::Signaled(_, signal, _) => format!("killed by {signal}"),
                other => format!("{other:?}"),
            };
            eprintln!("client3: client {client_num} ({pid}) ended without a report: {end}");
            silent += 1;
            continue;
        };
        opened += client_opened;
        if let Some(failure) = failure {
            *failures.entry(failure).or_default() += 1;
        }
    }
    let max_conns = u64::from(arguments.max_conns);
    let wanted = u64::from(arguments.max_clients) * max_conns;
    let plural = |count: u64| format!("{count} client{}", if count == 1 { "" } else { "s" });
    let started = plural(clients.len() as u64);
    let mut line = format!("{started} opened {opened} of {wanted} connections");
    if !failures.is_empty() {
        let failures: Vec<_> = failures.iter().map(|(e, n)| format!("{n} × {e}")).collect();
        line += &format!("; failed: {}", failures.join(", "));
    }
    // Those after each client's failure, and all those of clients never
    // started; a silent client's connections are unknown, so not counted.
    let failed = opened + failures.values().sum::<u64>() + silent * max_conns;
    let not_attempted = wanted.saturating_sub(failed);
    if not_attempted > 0 {
        line += &format!("; not attempted: {not_attempted}");
    }
    if silent > 0 {
        line += &format!("; no report from {}", plural(silent));
    }
    eprintln!("client3: {line}");
    Ok(opened == wanted)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_report_is_one_line_that_fits_an_atomic_pipe_write() {
        let failure = "é\nx".repeat(1000);
        let line = super::report_line(u32::MAX, usize::MAX, Some(&failure));
        assert!(line.len() < 512, "{} bytes", line.len());
        assert_eq!(line.find('\n'), Some(line.len() - 1));
    }
}
