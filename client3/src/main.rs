//! client3: many clients at once, each holding many connections to the server.
//!
//! Ports `part3/client3.py` of "Let's Build A Web Server, Part 3": the test
//! client the chapter turns on webserver3d, 3e, 3f and 3g to show what
//! happens to a server when hundreds of clients arrive together.
//!
//! Each client is a process of its own (`fork`). It opens its connections
//! one after another, sends `GET /hello` on each, keeps every one of them
//! open, prints each connection's number, and exits when it has opened them
//! all; only then does the kernel close them. The parent waits for every
//! client and prints one line: how many connections were opened, and why the
//! others were not.
//!
//! Changed from client3.py:
//!
//! - Each client opens `--max-conns` connections, as the article's text says.
//!   In client3.py, `os._exit(0)` is indented inside the inner loop, so each
//!   child opens one connection and exits. We follow the text, not that
//!   indentation. The article's runs were made with the Python, so they
//!   opened one connection per client: `--max-conns=1` repeats them exactly.
//! - `--host` and `--port` replace the fixed `localhost, 8888`, and the
//!   `Host` header names the server as given on the command line. The request ends its lines
//!   with CRLF, as HTTP wants; the Python's triple-quoted string has bare LF.
//! - A connection that cannot be made (refused, no descriptor left, timed
//!   out) ends that client with one line on stderr,
//!   `client N: connection M failed: <error>`, where the Python would die
//!   with a traceback. Its later connections are not attempted: they would
//!   fail the same way and flood the terminal.
//! - Every connect has a time limit (`--connect-timeout`, 10 s). When the
//!   server's listen queue is full, the server's kernel drops the SYN and the
//!   client's kernel resends it for about two minutes (Linux's
//!   `tcp_syn_retries`); a client waiting that long would look hung.
//! - The parent waits for every child with `waitpid`, and each child sends
//!   it its counts through a pipe, so the parent can print a summary and exit
//!   non-zero when any connection failed. The Python's parent returns at
//!   once, leaving its children to be adopted by init, and reports nothing.
//! - Before forking, the soft limit on open files is raised to the hard
//!   limit, so that a client can hold its 1024 connections next to its
//!   stdin, stdout and stderr. client3.py raises nothing; a client of it that
//!   really held 1024 connections would stop at the usual soft limit of 1024
//!   with "Too many open files".
//! - Each printed line names its client, `client 2: connection 17`, since 300
//!   clients print at once; connections count from 1, so the last number is
//!   `--max-conns`. The Python prints the bare number, counting from 0.
//!
//! Try it:
//!
//! ```text
//! cargo run -p webserver3a                   # one terminal
//! cargo run -p client3 -- --max-clients=3 --max-conns=10
//!
//! # The server runs out of descriptors and dies, as in the article:
//! ulimit -n 256; cargo run -p webserver3d    # one terminal
//! cargo run -p client3 -- --max-clients=300 >/dev/null
//!
//! # 128 children exit at once: zombies with 3f, none with 3g.
//! cargo run -p webserver3f                   # one terminal (then 3g)
//! cargo run -p client3 -- --max-clients=128 --max-conns=1
//! ps -o pid,stat,cmd --ppid "$(pgrep -o webserver3f)" | grep -c defunct
//! ```
//!
//! The summary goes to stderr with the failures, so `>/dev/null` hides the
//! connection numbers and keeps what matters. The article's 3f/3g run is
//! made with `--max-conns=1`: without it, 128 clients would open 131072
//! connections, and the server would fork a child for each.
//!
//! A process per client is what the lesson needs: many separate clients
//! arriving at once, as users would. A production load generator (wrk, ab)
//! drives thousands of connections from one process with non-blocking
//! sockets and epoll, and reads every response; this client never reads
//! the answers, it only holds the connections.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{value_parser, Parser};
use nix::errno::Errno;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, ForkResult, Pid};
use socket2::{Domain, Socket, Type};

/// Test client for LSBAWS: many processes, each holding many connections.
#[derive(Parser, Debug)]
#[command(name = "client3")]
struct Arguments {
    /// Maximum number of clients (processes).
    #[arg(long, default_value_t = 1, value_parser = value_parser!(u32).range(1..))]
    max_clients: u32,

    /// Maximum number of connections per client.
    #[arg(long, default_value_t = 1024, value_parser = value_parser!(u32).range(1..))]
    max_conns: u32,

    /// The server's host name or IP address.
    #[arg(long, default_value = "localhost")]
    host: String,

    /// The server's port.
    #[arg(long, default_value_t = common::DEFAULT_PORT, value_parser = value_parser!(u16).range(1..))]
    port: u16,

    /// Seconds a connect may take before it counts as failed.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = value_parser!(u64).range(1..))]
    connect_timeout: u64,
}

/// Descriptors a client holds besides its connections: stdin, stdout,
/// stderr and its end of the report pipe.
const DESCRIPTORS_BESIDES_CONNECTIONS: u64 = 4;

/// A report line stays far below PIPE_BUF (POSIX guarantees at least 512
/// bytes), so the kernel writes each one into the pipe in one piece and the
/// lines of children writing at the same moment never interleave. An error
/// text longer than this is cut.
const MAX_FAILURE_TEXT: usize = 200;

/// What every client does: where it connects, what it sends, how often.
struct Plan {
    server: SocketAddr,
    request: Vec<u8>,
    connections_per_client: u32,
    connect_timeout: Duration,
}

/// The request of client3.py, with the `Host` header naming the server as
/// the user did (`localhost:8888`), not the address it resolved to.
fn hello_request(host: &str, port: u16) -> Vec<u8> {
    // An IPv6 address in a Host header is written in brackets: [::1]:8888.
    let host_header = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    format!("GET /hello HTTP/1.1\r\nHost: {host_header}\r\n\r\n").into_bytes()
}

/// Looks the host up once, in the parent, so that 300 children do not make
/// 300 lookups. An IPv4 address is preferred: the Python opens an AF_INET
/// socket, and the Part 3 servers listen on IPv4 only, while `localhost` may
/// also resolve to `::1`, where nobody listens.
fn resolve_server(host: &str, port: u16) -> Result<SocketAddr> {
    let addresses: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("resolve {host}"))?
        .collect();
    addresses
        .iter()
        .find(|address| address.is_ipv4())
        .or(addresses.first())
        .copied()
        .with_context(|| format!("resolve {host}: no address"))
}

/// Raises the soft limit on open descriptors (RLIMIT_NOFILE) to the hard
/// limit and returns the soft limit now in force. The children inherit it
/// through `fork`.
///
/// The soft limit is what `open`, `socket` and `accept` check; a process
/// may raise it up to the hard limit without privileges (only the hard
/// limit needs root to go up). Linux refuses a limit above
/// `/proc/sys/fs/nr_open`, so when the hard limit is "unlimited" the call
/// fails; then the old soft limit stays, and the check in
/// [`warn_if_connections_do_not_fit`] says what to expect.
fn raise_open_file_limit() -> Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("getrlimit RLIMIT_NOFILE")?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return Ok(hard);
    }
    Ok(soft)
}

/// Says, in one line, when a client cannot hold all its connections: the
/// connect past the limit will fail with "Too many open files" (EMFILE).
fn warn_if_connections_do_not_fit(connections_per_client: u32, open_file_limit: u64) {
    let needed = u64::from(connections_per_client) + DESCRIPTORS_BESIDES_CONNECTIONS;
    if needed > open_file_limit {
        eprintln!(
            "{}: each client needs at least {needed} descriptors for {connections_per_client} connections, \
             but the open-file limit is {open_file_limit}: expect \"Too many open files\"",
            env!("CARGO_BIN_NAME")
        );
    }
}

/// Opens one connection and sends the request on it, as client3.py does:
/// socket, connect, sendall.
fn open_connection(plan: &Plan) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(plan.server), Type::STREAM, None)?;
    // A plain connect(2) would wait as long as the kernel keeps resending
    // the SYN (about two minutes on Linux); this one gives up after
    // `connect_timeout`, with the error "timed out".
    socket.connect_timeout(&plan.server.into(), plan.connect_timeout)?;
    let mut connection = TcpStream::from(socket);
    // Like Python's sendall: write_all loops until every byte is sent, and
    // retries a write interrupted by a signal (EINTR). A write to a
    // connection the server has reset fails with EPIPE instead of killing
    // the process with SIGPIPE, as it would in C: std sends with
    // MSG_NOSIGNAL (strace shows it), and its runtime ignores SIGPIPE too.
    connection.write_all(&plan.request)?;
    Ok(connection)
}

/// What one client tells the parent: how many connections it opened, and
/// the error that stopped it, if one did.
#[derive(Debug, PartialEq, Eq)]
struct ClientReport {
    client_number: u32,
    opened: u32,
    failure: Option<String>,
}

impl ClientReport {
    /// `<client> <opened>[ <error text>]` and a newline.
    fn to_line(&self) -> String {
        let mut line = format!("{} {}", self.client_number, self.opened);
        if let Some(failure) = &self.failure {
            line.push(' ');
            line.push_str(&one_short_line(failure));
        }
        line.push('\n');
        line
    }

    fn from_line(line: &str) -> Option<ClientReport> {
        let mut fields = line.splitn(3, ' ');
        let client_number = fields.next()?.parse().ok()?;
        let opened = fields.next()?.parse().ok()?;
        let failure = fields.next().map(str::to_owned);
        Some(ClientReport {
            client_number,
            opened,
            failure,
        })
    }
}

/// The text on one line, cut to [`MAX_FAILURE_TEXT`] bytes.
fn one_short_line(text: &str) -> String {
    let mut flat: String = text
        .chars()
        .map(|character| {
            if character.is_control() {
                ' '
            } else {
                character
            }
        })
        .collect();
    let mut end = flat.len().min(MAX_FAILURE_TEXT);
    while !flat.is_char_boundary(end) {
        end -= 1;
    }
    flat.truncate(end);
    flat
}

/// Writes `line` and its newline with a single write(2), so that the lines
/// of clients printing at the same moment never mix. `eprintln!` would not
/// do: it hands its format to stderr piece by piece, and stderr, being
/// unbuffered, writes each piece as it comes (under strace, one
/// `eprintln!` of the summary line makes eight writes). A write of at most
/// PIPE_BUF bytes to a pipe is atomic; to a terminal, in practice, too.
///
/// Errors are ignored: a client whose stdout is gone (`client3 | head`)
/// goes on with its experiment, where `println!` would panic, and there is
/// nowhere left to report them.
fn write_line_at_once(mut output: impl Write, line: &str) {
    let _ = output.write_all(format!("{line}\n").as_bytes());
}

/// Opens the plan's connections one after another and puts each into
/// `open_connections`, which the caller keeps until it exits. Stops at the
/// first failure.
fn open_connections(
    client_number: u32,
    plan: &Plan,
    open_connections: &mut Vec<TcpStream>,
) -> ClientReport {
    for connection_number in 1..=plan.connections_per_client {
        match open_connection(plan) {
            Ok(connection) => {
                open_connections.push(connection);
                let opened = format!("client {client_number}: connection {connection_number}");
                write_line_at_once(io::stdout(), &opened);
            }
            Err(err) => {
                write_line_at_once(
                    io::stderr(),
                    &format!(
                        "client {client_number}: connection {connection_number} failed: {err}"
                    ),
                );
                return ClientReport {
                    client_number,
                    opened: connection_number - 1,
                    failure: Some(err.to_string()),
                };
            }
        }
    }
    ClientReport {
        client_number,
        opened: plan.connections_per_client,
        failure: None,
    }
}

/// Writes the report into the pipe with a single write(2): a write of at
/// most PIPE_BUF bytes to a pipe is atomic, so it cannot mix with another
/// child's. nix's write does not retry on EINTR; no signal handler is
/// installed here, so nothing can interrupt it.
fn send_report(report_writer: &OwnedFd, report: &ClientReport) {
    let line = report.to_line();
    match nix::unistd::write(report_writer, line.as_bytes()) {
        Ok(written) if written == line.len() => {}
        Ok(written) => write_line_at_once(
            io::stderr(),
            &format!(
                "client {}: report cut short after {written} bytes",
                report.client_number
            ),
        ),
        Err(errno) => write_line_at_once(
            io::stderr(),
            &format!("client {}: report: {errno}", report.client_number),
        ),
    }
}

/// The whole life of a forked client. It never returns: it ends the
/// process, holding its connections open to the very end.
fn run_client(client_number: u32, plan: &Plan, report_writer: OwnedFd) -> ! {
    let mut connections = Vec::new();
    let report = open_connections(client_number, plan, &mut connections);
    send_report(&report_writer, &report);
    let _ = io::stdout().flush();
    let exit_code = if report.failure.is_none() { 0 } else { 1 };
    // Python ends its children with os._exit, and so do we (nix 0.31 has
    // no wrapper, so we call libc's, which nix re-exports). Unlike exit(3)
    // it runs no atexit handlers and flushes no buffers the child copied
    // from the parent, so nothing the parent set up runs twice, and no Rust
    // destructor runs either: `connections` is still open here, and the
    // kernel closes every descriptor of a process as it exits. That is the
    // moment the server sees each connection's FIN.
    //
    // SAFETY: _exit(2) takes a plain integer and ends the process; it is
    // async-signal-safe and touches no state of this program.
    unsafe { nix::libc::_exit(exit_code) }
}

/// A client process the parent started.
struct StartedClient {
    client_number: u32,
    pid: Pid,
}

/// Forks one process per client, and returns the clients started and the
/// reading end of the report pipe.
///
/// The parent's writing end is closed when this returns (it is dropped
/// here): from then on only the children hold a writing end, so the reader
/// sees end-of-file exactly when the last child has exited.
///
/// Stops at the first failed fork (EAGAIN once the user's process limit,
/// `ulimit -u`, is reached) and says so: the clients started before it are
/// running and still have to be waited for.
fn start_clients(
    max_clients: u32,
    plan: &Plan,
    report_reader: OwnedFd,
    report_writer: OwnedFd,
) -> (Vec<StartedClient>, OwnedFd) {
    let mut started = Vec::new();
    for client_number in 1..=max_clients {
        // SAFETY: this process has a single thread (none was ever spawned),
        // so the child is a complete copy of a consistent process: no lock
        // is held by a thread that does not exist in the child, and the
        // child may allocate and print. (After fork in a multi-threaded
        // process, only async-signal-safe calls are allowed until exec.)
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                // The child only writes: it closes its copy of the reading
                // end, and holds nothing it does not use.
                drop(report_reader);
                run_client(client_number, plan, report_writer) // never returns
            }
            Ok(ForkResult::Parent { child }) => started.push(StartedClient {
                client_number,
                pid: child,
            }),
            Err(errno) => {
                let message = format!(
                    "{}: fork for client {client_number}: {errno}; \
                     the clients after it are not started",
                    env!("CARGO_BIN_NAME")
                );
                write_line_at_once(io::stderr(), &message);
                break;
            }
        }
    }
    (started, report_reader)
}

/// Reads the children's reports until every child has closed its writing
/// end of the pipe, by exiting. std's reads retry when a signal interrupts
/// them (EINTR). A line that does not parse is skipped; its client then
/// counts as one that did not report.
fn collect_reports(report_reader: OwnedFd) -> Result<BTreeMap<u32, ClientReport>> {
    let mut reports = BTreeMap::new();
    for line in BufReader::new(File::from(report_reader)).lines() {
        let line = line.context("read the clients' reports")?;
        if let Some(report) = ClientReport::from_line(&line) {
            reports.insert(report.client_number, report);
        }
    }
    Ok(reports)
}

/// Waits for one child with waitpid(2), so that it does not stay a zombie,
/// and returns how it ended. nix does not retry on EINTR, so we do.
fn wait_for_client(client: &StartedClient) -> Result<WaitStatus> {
    loop {
        match waitpid(client.pid, None) {
            Err(Errno::EINTR) => continue,
            result => {
                return result.with_context(|| {
                    format!(
                        "waitpid for client {} ({})",
                        client.client_number, client.pid
                    )
                })
            }
        }
    }
}

/// How a child ended, for a person: "exit code 1", "killed by SIGKILL".
fn describe_end(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exit code {code}"),
        WaitStatus::Signaled(_, signal, _) => format!("killed by {signal}"),
        other => format!("{other:?}"),
    }
}

/// The counts of the parent's one-line summary.
#[derive(Debug, Default, PartialEq, Eq)]
struct Summary {
    clients_started: u32,
    connections_wanted: u64,
    opened: u64,
    /// How many connections failed, by error text.
    failures: BTreeMap<String, u64>,
    /// Connections no client tried: those after a client's failure, and all
    /// of the clients that could not be started.
    not_attempted: u64,
    /// Clients that ended without sending their counts (killed by a signal).
    clients_without_report: u32,
}

impl Summary {
    fn new(max_clients: u32, connections_per_client: u32) -> Summary {
        Summary {
            connections_wanted: u64::from(max_clients) * u64::from(connections_per_client),
            not_attempted: u64::from(max_clients) * u64::from(connections_per_client),
            ..Summary::default()
        }
    }

    /// Counts a client that was started: all of its connections leave the
    /// "not attempted" count, and go where its report says.
    fn count_client(&mut self, connections_per_client: u32, report: Option<&ClientReport>) {
        self.clients_started += 1;
        self.not_attempted -= u64::from(connections_per_client);
        let Some(report) = report else {
            self.clients_without_report += 1;
            return;
        };
        self.opened += u64::from(report.opened);
        let mut tried = report.opened;
        if let Some(failure) = &report.failure {
            *self.failures.entry(failure.clone()).or_default() += 1;
            tried += 1;
        }
        self.not_attempted += u64::from(connections_per_client.saturating_sub(tried));
    }

    fn all_opened(&self) -> bool {
        self.opened == self.connections_wanted
    }
}

/// "1 client", "3 clients".
fn count_of(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} opened {} of {} connections",
            count_of(self.clients_started.into(), "client"),
            self.opened,
            self.connections_wanted
        )?;
        if !self.failures.is_empty() {
            let failures: Vec<String> = self
                .failures
                .iter()
                .map(|(error, count)| format!("{count} × {error}"))
                .collect();
            write!(formatter, "; failed: {}", failures.join(", "))?;
        }
        if self.not_attempted > 0 {
            write!(formatter, "; not attempted: {}", self.not_attempted)?;
        }
        if self.clients_without_report > 0 {
            write!(
                formatter,
                "; no report from {}",
                count_of(self.clients_without_report.into(), "client")
            )?;
        }
        Ok(())
    }
}

fn run(arguments: &Arguments) -> Result<Summary> {
    let plan = Plan {
        server: resolve_server(&arguments.host, arguments.port)?,
        request: hello_request(&arguments.host, arguments.port),
        connections_per_client: arguments.max_conns,
        connect_timeout: Duration::from_secs(arguments.connect_timeout),
    };
    let open_file_limit = raise_open_file_limit()?;
    warn_if_connections_do_not_fit(plan.connections_per_client, open_file_limit);

    let (report_reader, report_writer) = pipe().context("pipe")?;
    let (started, report_reader) =
        start_clients(arguments.max_clients, &plan, report_reader, report_writer);
    let reports = collect_reports(report_reader)?;

    let mut summary = Summary::new(arguments.max_clients, plan.connections_per_client);
    for client in &started {
        let status = wait_for_client(client)?;
        let report = reports.get(&client.client_number);
        if report.is_none() {
            eprintln!(
                "{}: client {} ({}) ended without a report: {}",
                env!("CARGO_BIN_NAME"),
                client.client_number,
                client.pid,
                describe_end(status)
            );
        }
        summary.count_client(plan.connections_per_client, report);
    }
    Ok(summary)
}

fn main() {
    let arguments = Arguments::parse();
    match run(&arguments) {
        Ok(summary) => {
            eprintln!("{}: {summary}", env!("CARGO_BIN_NAME"));
            std::process::exit(if summary.all_opened() { 0 } else { 1 });
        }
        Err(err) => {
            eprintln!("{}: {err:#}", env!("CARGO_BIN_NAME"));
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_survives_the_pipe() {
        for report in [
            ClientReport {
                client_number: 7,
                opened: 1024,
                failure: None,
            },
            ClientReport {
                client_number: 300,
                opened: 0,
                failure: Some("Connection refused (os error 111)".to_owned()),
            },
        ] {
            let line = report.to_line();
            assert_eq!(ClientReport::from_line(line.trim_end()), Some(report));
        }
    }

    #[test]
    fn a_report_line_stays_short_and_single() {
        let report = ClientReport {
            client_number: u32::MAX,
            opened: u32::MAX,
            failure: Some("é\nx".repeat(1000)),
        };
        let line = report.to_line();
        assert!(line.len() < 512, "{} bytes", line.len());
        assert_eq!(line.matches('\n').count(), 1);
    }

    #[test]
    fn the_summary_adds_up_failures_and_connections_not_attempted() {
        let mut summary = Summary::new(4, 10);
        let refused = "Connection refused (os error 111)".to_owned();
        summary.count_client(
            10,
            Some(&ClientReport {
                client_number: 1,
                opened: 10,
                failure: None,
            }),
        );
        summary.count_client(
            10,
            Some(&ClientReport {
                client_number: 2,
                opened: 3,
                failure: Some(refused),
            }),
        );
        summary.count_client(10, None);
        // Client 4 was never started.
        assert_eq!(
            summary.to_string(),
            "3 clients opened 13 of 40 connections; failed: 1 × Connection refused (os error 111); \
             not attempted: 16; no report from 1 client"
        );
        assert!(!summary.all_opened());
    }

    #[test]
    fn the_host_header_names_the_server_as_asked() {
        assert_eq!(
            hello_request("localhost", 8888),
            b"GET /hello HTTP/1.1\r\nHost: localhost:8888\r\n\r\n"
        );
        assert_eq!(
            hello_request("::1", 80),
            b"GET /hello HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"
        );
    }
}
