//! One check per exercise: it starts the student's binary and tries the
//! behaviour the lesson's own tests prove, printing each step; on failure it
//! returns what it saw, in a student's words.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::panic::{self, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use testkit::{ChildLine, RecordingListener};

use crate::probe::{
    connect, contains, get, get_request, poll, read_for, read_to_eof, read_until, send, shown,
    stderr_words, write, Exited, Probe, Server, IO_WAIT,
};

/// The greeting of every Part 3 stage (and webserver1).
const GREETING: &[u8] = b"HTTP/1.1 200 OK\r\n\r\nHello, World!\r\n";

/// How long a server has to show what a step expects (the reasons say 3 s).
const SHORT_WAIT: Duration = Duration::from_secs(3);

/// Fails the check, with `format!`'s words, unless `condition` holds.
macro_rules! ensure {
    ($condition:expr, $($reason:tt)+) => {
        if !$condition {
            return Err(format!($($reason)+));
        }
    };
}

/// Whether `condition` comes to hold within `within`.
fn soon(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    poll(within, || condition().then_some(())).is_some()
}

/// Fails with the server's exit if it is no longer running.
fn still_running(server: &Server, when: &str) -> Result<(), String> {
    match server.exited() {
        Some(exit) => Err(format!("{when}, your server {exit}")),
        None => Ok(()),
    }
}

/// `GET /hello`, read to end-of-file: must be exactly the greeting.
fn greeting_answered(probe: &Probe, server: &Server) -> Result<(), String> {
    let answer = get(server.address(), "/hello")
        .map_err(|err| format!("GET /hello: {err}{}", exit_words(server)))?;
    ensure!(
        answer == GREETING,
        "GET /hello was answered {}, not {}",
        shown(&answer),
        shown(GREETING)
    );
    probe.step("GET /hello: answered 'HTTP/1.1 200 OK ... Hello, World!', then end-of-file");
    Ok(())
}

/// `; your server exited with ...` when it has exited, or is exiting within
/// 300 ms (a reset connection may come just before the exit); else "".
fn exit_words(server: &Server) -> String {
    poll(Duration::from_millis(300), || server.exited())
        .map(|exit| format!("; your server {exit}"))
        .unwrap_or_default()
}

/// Waits until the server's stdout has a line containing `text`.
fn printed(server: &Server, text: &str, within: Duration) -> bool {
    soon(within, || {
        server.count_lines(|line| line.contains(text)) > 0
    })
}

/// How many descriptors the process has open (`/proc/PID/fd`).
fn open_descriptors(pid: i32) -> usize {
    testkit::procs::descriptors(pid).len()
}

/// A port that is free now: the kernel picks it for a socket that is then
/// closed (it never connected, so nothing of it lingers).
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|err| format!("could not find a free port: {err}"))
}

/// Whether another socket with SO_REUSEPORT may bind 0.0.0.0:`port` now.
/// Linux lets it only if every socket on the port set SO_REUSEPORT too (and
/// belongs to the same user): SO_REUSEADDR alone never lets two sockets
/// bind a port that one of them listens on.
fn port_shared_with_reuseport(port: u16) -> bool {
    use socket2::{Domain, Socket, Type};
    let Ok(other) = Socket::new(Domain::IPV4, Type::STREAM, None) else {
        return false;
    };
    let address = std::net::SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, port));
    // `other` is closed on return: bound, never listening, it took no client.
    other.set_reuse_port(true).is_ok() && other.bind(&address.into()).is_ok()
}

/// How many of `count` clients, connecting together while the server is
/// busy with another, complete their handshake within `within`: the ones
/// the listen queue holds. Linux queues backlog + 1 and drops the SYNs of
/// the others, whose kernels send them again only a second later.
fn clients_queued(address: std::net::SocketAddr, count: usize, within: Duration) -> usize {
    let clients: Vec<_> = (0..count)
        .map(|_| thread::spawn(move || TcpStream::connect_timeout(&address, within)))
        .collect();
    let connected: Vec<TcpStream> = clients
        .into_iter()
        .filter_map(|client| client.join().ok()?.ok())
        .collect();
    connected.len()
}

/// How many sockets the process has open (`/proc/PID/fd` links named
/// `socket:[inode]`).
fn open_sockets(pid: i32) -> usize {
    testkit::procs::descriptors_linked(pid, "socket:").len()
}

/// 01 (webserver1): the socket steps.
pub fn socket_steps(probe: &Probe) -> Result<(), String> {
    let port = free_port()?;
    let server = probe
        .start_http(probe.launch().env("PORT", &port.to_string()))
        .map_err(|err| format!("started with PORT={port}: {err}"))?;
    ensure!(
        server.port == port,
        "started with PORT={port}, your server bound port {}: bind server_address, which holds the port it was asked for (PORT=0: any free port)",
        server.port
    );
    let addresses = testkit::procs::listening_addresses(port);
    ensure!(
        addresses.is_empty() || addresses.iter().any(|address| address.is_unspecified()),
        "your server listens on {} only, so only this machine can reach it: bind server_address (0.0.0.0, every address of the machine: the Python's '')",
        addresses
            .iter()
            .map(|address| format!("{address}:{port}"))
            .collect::<Vec<_>>()
            .join(" and ")
    );
    probe.step(format!(
        "started with PORT={port}: it listens on 0.0.0.0:{port}, every address"
    ));
    ensure!(
        !port_shared_with_reuseport(port),
        "another socket could bind port {port} while your server listened on it: your server set SO_REUSEPORT, which lets any process of the same user share its port (and the kernel deals the clients out between them). Set SO_REUSEADDR: it lets a restart bind the port, never two listeners at once"
    );
    probe.step("no other socket could bind its port while it listened (no SO_REUSEPORT)");
    greeting_answered(probe, &server)?;
    ensure!(
        printed(&server, "GET /hello HTTP/1.1", IO_WAIT),
        "your server answered but did not print the request it read"
    );
    probe.step("it printed the request it read ('GET /hello HTTP/1.1 ...')");
    // A client that sends nothing keeps the server in its read; the
    // clients behind it wait in the listen queue, as many as the backlog.
    let silent = connect(server.address())?;
    let queued = clients_queued(server.address(), 5, Duration::from_millis(500));
    drop(silent);
    ensure!(
        queued <= 2,
        "while your server was busy reading from a client that sent nothing, {queued} of 5 more clients were queued at once: listen(REQUEST_QUEUE_SIZE) asks for a backlog of 1, and Linux queues one more than the backlog (2); did you pass another number to listen?"
    );
    probe.step(format!(
        "while it was busy with a silent client, {queued} of 5 more clients were queued: the backlog is REQUEST_QUEUE_SIZE"
    ));
    // The server closed first, so its end of the GET's connection is in
    // TIME_WAIT: binding the port again needs SO_REUSEADDR.
    drop(server);
    probe.step(format!(
        "stopped it, and started it again at once on the same port {port} (its last connection is in TIME_WAIT)"
    ));
    let again = probe
        .start_http(probe.launch().env("PORT", &port.to_string()))
        .map_err(|err| {
            format!(
                "restarting on port {port}: {err}. Without SO_REUSEADDR, bind refuses a port that still has connections in TIME_WAIT"
            )
        })?;
    greeting_answered(probe, &again)?;
    probe.step("the restarted server answered too: SO_REUSEADDR works");
    Ok(())
}

/// Why the server closed a connection without an answer: its exit, or else
/// what it said on stderr since `said_before` bytes (a server that lives
/// on says why it dropped a client there), or "".
fn exit_or_said_words(server: &Server, said_before: usize) -> String {
    let exit = exit_words(server);
    if !exit.is_empty() {
        return exit;
    }
    let said = poll(Duration::from_millis(300), || {
        let stderr = server.stderr();
        let new = stderr.get(said_before..).unwrap_or_default();
        (!new.trim().is_empty()).then(|| new.to_owned())
    });
    let first_line = said.as_deref().and_then(|said| said.lines().next());
    match first_line {
        Some(line) => format!("; your server said on stderr: {:?}", line.trim()),
        None => String::new(),
    }
}

/// Sends `METHOD target`, reads to end-of-file; returns the status line,
/// the whole head and the body.
fn http_exchange(
    server: &Server,
    method: &str,
    target: &str,
) -> Result<(String, String, String), String> {
    let said_before = server.stderr().len();
    let mut stream = connect(server.address())?;
    send(
        &mut stream,
        format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes(),
    )?;
    let answer = read_to_eof(&mut stream, IO_WAIT)
        .map_err(|err| format!("{method} {target}: {err}{}", exit_words(server)))?;
    ensure!(
        !answer.is_empty(),
        "{method} {target}: the connection was closed without an answer{}",
        exit_or_said_words(server, said_before)
    );
    let text = String::from_utf8_lossy(&answer).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(format!(
            "{method} {target} was answered {}: no blank line ends the head",
            shown(&answer)
        ));
    };
    let status = head.lines().next().unwrap_or_default().to_owned();
    Ok((status, head.to_owned(), body.to_owned()))
}

/// 02 (hello_name): the name in the path.
pub fn greet_by_name(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch())?;
    for (target, expected, why) in [
        ("/Alice", "Hello, Alice!\n", ""),
        ("/", "Hello, World!\n", ""),
        ("/Zhuibing%20Dan", "Hello, Zhuibing Dan!\n", ""),
        ("/Bob?lang=en", "Hello, Bob!\n", " (the query string is not part of the name)"),
        ("/%E5%BC%A0%E4%B8%89", "Hello, 张三!\n", ""),
        (
            "/Al%3Fx",
            "Hello, Al?x!\n",
            ": %3F is a '?' of the name, not the start of a query; split the query off at '?' first, then percent-decode",
        ),
        (
            "/100%25",
            "Hello, 100%!\n",
            ": %25 is a '%' of the name; percent-decode once, as the client encoded once",
        ),
    ] {
        let (status, _, body) = http_exchange(&server, "GET", target)?;
        ensure!(
            status == "HTTP/1.1 200 OK" && body == expected,
            "GET {target} was answered {status:?} with body {body:?}; expected \"HTTP/1.1 200 OK\" and {expected:?}{why}"
        );
        probe.step(format!("GET {target}: 200, {:?}", body.trim_end()));
    }
    for target in [
        "/%1B%5B31mred",
        "/a%0Ab",
        "/a%7Fb",
        "/%C2%9B31m",
        "/%FF",
        "/%zz",
    ] {
        let (status, _, _) = http_exchange(&server, "GET", target)?;
        ensure!(
            status.starts_with("HTTP/1.1 400"),
            "GET {target} was answered {status:?}; a name with a control character (DEL, %7F, and U+0080 to U+009F are control characters too: char::is_control), bytes that are not UTF-8 or a broken %-escape must get 400 Bad Request"
        );
        probe.step(format!("GET {target}: 400, refused"));
    }
    Ok(())
}

/// 03 (webserver2): an application for the WSGI-like interface.
pub fn wsgi_app(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch())?;
    for (target, expected) in [
        ("/Alice", "Hello, Alice! (visit number 1)\n"),
        ("/", "Hello, World! (visit number 2)\n"),
        ("/Bob", "Hello, Bob! (visit number 3)\n"),
    ] {
        let (status, head, body) = http_exchange(&server, "GET", target)?;
        ensure!(
            status == "HTTP/1.1 200 OK",
            "GET {target} was answered {status:?}: your application's status should be \"200 OK\""
        );
        let typed = head
            .to_ascii_lowercase()
            .contains("\r\ncontent-type: text/plain");
        ensure!(
            typed,
            "GET {target} was answered with the head {head:?}: no Content-Type: text/plain header (pass it to start_response, for every answer: each client reads only its own)"
        );
        ensure!(
            body == expected,
            "GET {target} was answered with the body {body:?}, not {expected:?}"
        );
        probe.step(format!("GET {target}: 200, {:?}", body.trim_end()));
    }
    for method in ["POST", "PUT"] {
        let (status, _, _) = http_exchange(&server, method, "/")?;
        ensure!(
            status.starts_with("HTTP/1.1 405"),
            "{method} / was answered {status:?}; only GET is counted: every other method gets 405 Method Not Allowed"
        );
        probe.step(format!("{method} /: 405 Method Not Allowed"));
    }
    let (_, _, body) = http_exchange(&server, "GET", "/Carol")?;
    ensure!(
        body == "Hello, Carol! (visit number 4)\n",
        "after a POST and a PUT, GET /Carol was answered {body:?}: a refused request must not count as a visit"
    );
    probe.step("GET /Carol after them: visit number 4, the refused requests were not counted");
    Ok(())
}

/// A client as curl is one: it connects, waits a moment (nothing may come
/// before it asks), sends `GET /hello` and keeps its side open while it
/// reads the answer to end-of-file, which must be exactly the greeting.
fn asked_then_answered(probe: &Probe, server: &Server) -> Result<(), String> {
    let mut client = connect(server.address())?;
    let (early, early_end) = read_for(&mut client, Duration::from_millis(500), |received| {
        !received.is_empty()
    });
    ensure!(
        early.is_empty(),
        "your server sent {} before the request arrived: it answered before reading. Read the request first, then answer it",
        shown(&early)
    );
    ensure!(
        matches!(early_end, Ok(false)),
        "your server closed the connection before the request arrived{}",
        exit_words(server)
    );
    probe.step("nothing came before the request was sent");
    send(&mut client, &get_request("/hello"))?;
    let (answer, ended) = read_for(&mut client, IO_WAIT, |_| false);
    if answer.is_empty() && matches!(ended, Ok(false)) {
        // Nothing in 5 s, the connection open: does the server wait for
        // the end-of-file that a waiting client never sends?
        client.shutdown(std::net::Shutdown::Write).ok();
        let (late, _) = read_for(&mut client, SHORT_WAIT, |received| {
            contains(received, b"Hello, World!")
        });
        ensure!(
            late.is_empty(),
            "GET /hello was answered only once the client shut down its sending side: your server reads until end-of-file (read_to_end), which a client like curl never sends while it waits for the answer. Read once, at most 1024 bytes"
        );
        return Err(format!(
            "GET /hello: after sending the request, nothing came back within {} s{}",
            IO_WAIT.as_secs(),
            exit_words(server)
        ));
    }
    ensure!(
        !answer.is_empty(),
        "GET /hello: the connection was closed without an answer{}",
        exit_words(server)
    );
    match ended {
        Ok(true) => {}
        Ok(false) => {
            return Err(format!(
                "GET /hello: after receiving {}, the connection stayed open for {} s: the client never saw end-of-file",
                shown(&answer),
                IO_WAIT.as_secs()
            ))
        }
        Err(err) => {
            return Err(format!(
                "GET /hello: reading the answer failed after {}: {err}{}",
                shown(&answer),
                exit_words(server)
            ))
        }
    }
    ensure!(
        answer == GREETING,
        "GET /hello was answered {}, not {}",
        shown(&answer),
        shown(GREETING)
    );
    probe.step("GET /hello: answered 'HTTP/1.1 200 OK ... Hello, World!', then end-of-file");
    Ok(())
}

/// 04 (webserver3a): read the request and answer.
pub fn read_and_answer(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch())?;
    asked_then_answered(probe, &server)?;
    ensure!(
        printed(&server, "GET /hello HTTP/1.1", IO_WAIT),
        "your server answered but did not print the request it read"
    );
    ensure!(
        !server.stdout().contains('\0'),
        "your server printed the request followed by NUL characters: it printed the whole 1024-byte buffer. read() says how many bytes it received: print only those (&request[..received])"
    );
    probe.step("it printed the request ('GET /hello HTTP/1.1 ...'), and nothing after it");
    greeting_answered(probe, &server)?;
    probe.step("a second client was answered too: the server loops");
    Ok(())
}

/// A new connection that has sent `GET /hello`.
fn hello_sent(server: &Server) -> Result<TcpStream, String> {
    let mut client = connect(server.address())?;
    send(&mut client, &get_request("/hello"))?;
    Ok(client)
}

/// 05 (webserver3b): the sleep after answering; the next client waits.
pub fn sleep_after_answer(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch().env("SLEEP_SECS", "2"))?;
    probe.step("started with SLEEP_SECS=2");
    let asked = Instant::now();
    let mut first = hello_sent(&server)?;
    read_until(&mut first, b"Hello, World!", IO_WAIT)
        .map_err(|err| format!("the first client: {err}"))?;
    let answered = Instant::now();
    let answer_took = answered - asked;
    ensure!(
        answer_took < Duration::from_millis(1500),
        "the first client got its greeting {:.1} s after its request: your server slept before answering. Answer at once, then sleep SLEEP_SECS with the connection still open",
        answer_took.as_secs_f32()
    );
    probe.step("the first client got the greeting at once");
    // The second client is timed from its own connect, in a thread of its
    // own: while the server sleeps with the first, nobody accepts it.
    let address = server.address();
    let second = thread::spawn(move || {
        let mut client = connect(address)?;
        let connected = Instant::now();
        send(&mut client, &get_request("/hello"))?;
        read_until(&mut client, b"Hello, World!", IO_WAIT + SHORT_WAIT)?;
        Ok::<Duration, String>(connected.elapsed())
    });
    match read_for(&mut first, IO_WAIT, |_| false) {
        (_, Ok(true)) => {}
        (_, Ok(false)) => {
            return Err(format!(
                "with SLEEP_SECS=2, your server kept the first connection open more than {} s after answering: does it read SLEEP_SECS? common::sleep_duration(SLEEP_SECONDS) does",
                IO_WAIT.as_secs()
            ))
        }
        (_, Err(err)) => return Err(format!("the first client: reading failed: {err}")),
    }
    let first_closed = answered.elapsed();
    ensure!(
        first_closed >= Duration::from_millis(1500),
        "your server closed the first connection {:.1} s after answering: after answering it should sleep SLEEP_SECS (2 s) with the connection still open, then close it",
        first_closed.as_secs_f32()
    );
    probe.step(format!(
        "the first connection was closed {:.1} s after the greeting: the server slept",
        first_closed.as_secs_f32()
    ));
    let waited = second
        .join()
        .map_err(|_| "the second client's thread panicked".to_owned())?
        .map_err(|err| format!("the second client: {err}"))?;
    ensure!(
        waited >= Duration::from_millis(1500),
        "the second client, connected while your server slept with the first, was answered {:.1} s after it connected: it should have waited in the listen queue, since a server that sleeps accepts nobody",
        waited.as_secs_f32()
    );
    probe.step(format!(
        "the second client, connected meanwhile, was answered {:.1} s after it connected: it waited in the listen queue",
        waited.as_secs_f32()
    ));
    Ok(())
}

/// The processes under `pid` (children, their children, ...) that still run:
/// every state but `Z` (a zombie has exited).
fn running_descendants(pid: i32) -> Vec<i32> {
    let mut running = Vec::new();
    let mut parents = vec![pid];
    while let Some(parent) = parents.pop() {
        for child in testkit::procs::children_of(parent) {
            if child.state != 'Z' {
                running.push(child.pid);
            }
            parents.push(child.pid);
        }
    }
    running.sort_unstable();
    running
}

/// 06 (webserver3c): a child per client.
pub fn fork_per_client(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch().env("SLEEP_SECS", "3"))?;
    probe.step("started with SLEEP_SECS=3: each client is served for 3 s");
    let mut clients = [hello_sent(&server)?, hello_sent(&server)?];
    probe.step("2 clients connected and sent a request at once");
    for (number, client) in clients.iter_mut().enumerate() {
        read_until(client, b"Hello, World!", Duration::from_millis(1500)).map_err(|_| {
            format!(
                "client {} got no greeting within 1.5 s while client 1 was being served: one process serves one client at a time; fork a child per client",
                number + 1
            )
        })?;
    }
    probe.step("both were greeted within 1.5 s");
    let lines: Vec<ChildLine> = poll(IO_WAIT, || {
        let lines: Vec<ChildLine> = server
            .stdout_lines()
            .iter()
            .filter_map(|line| ChildLine::parse(line))
            .collect();
        (lines.len() >= 2).then_some(lines)
    })
    .ok_or("your server did not print two 'Child PID: N. Parent PID M' lines")?;
    let server_pid = server.pid();
    ensure!(
        lines[0].pid != lines[1].pid,
        "both clients were served by PID {}: they should each have a child of their own",
        lines[0].pid
    );
    for line in &lines[..2] {
        ensure!(
            line.parent == server_pid && line.pid != server_pid,
            "a client was served by PID {} whose parent is {}: it should be a child of your server (PID {server_pid})",
            line.pid,
            line.parent
        );
    }
    probe.step(format!(
        "answered by PIDs {} and {}, both children of your server (PID {server_pid})",
        lines[0].pid, lines[1].pid
    ));
    // While they serve (3 s), a child that kept the listening socket shows
    // it in /proc/PID/fd; said after the count below, a bigger mistake.
    let listening = testkit::procs::listening_inode(server.port);
    let kept_listening = lines[..2].iter().map(|line| line.pid).find(|&pid| {
        listening.is_some_and(|inode| testkit::procs::socket_inodes(pid).contains(&inode))
    });
    const MORE: usize = 6;
    for number in 1..=MORE {
        let mut client = hello_sent(&server)?;
        read_until(&mut client, b"Hello, World!", IO_WAIT).map_err(|err| {
            format!(
                "client {} of {MORE} more, one after another: {err}{}",
                number,
                exit_words(&server)
            )
        })?;
    }
    probe.step(format!(
        "{MORE} more clients, one after another: each greeted"
    ));
    let mut running = Vec::new();
    let all_exited = soon(Duration::from_secs(3) + SHORT_WAIT, || {
        running = running_descendants(server_pid);
        running.is_empty()
    });
    still_running(&server, "after 8 clients")?;
    ensure!(
        all_exited,
        "each child serves its client for 3 s, and 6 s after the last greeting {} processes under your server are still running (PIDs {running:?}): a child that does not exit after serving falls back into the accept loop and becomes one more server. End the child with process::exit(0)",
        running.len()
    );
    probe.step(format!(
        "3 s later all {} children had exited: no process left but the server",
        2 + MORE
    ));
    if let Some(pid) = kept_listening {
        return Err(format!(
            "while it served client 1 or 2, child PID {pid} still holds the listening socket: fork copied it, and only the child can close its copy (drop(listen_socket), first thing). Until every such child exits, the port stays held: stop the server, and it cannot be started again on that port"
        ));
    }
    probe.step("the children had closed their copy of the listening socket");
    Ok(())
}

/// 07: `GET /hello` on a new connection: the greeting, then end-of-file
/// within [`SHORT_WAIT`].
fn greeted_then_closed(server: &Server) -> Result<(), String> {
    let mut client = hello_sent(server)?;
    let (mut answer, end) = read_for(&mut client, IO_WAIT, |received| {
        contains(received, b"Hello, World!")
    });
    if !contains(&answer, b"Hello, World!") {
        return Err(match end {
            Ok(false) => format!(
                "GET /hello: no greeting within {} s{}",
                IO_WAIT.as_secs(),
                exit_words(server)
            ),
            _ => format!(
                "GET /hello: the connection ended after {}, before the greeting{}. Did the parent call shutdown? shutdown(2) ends the connection itself, for every process that holds it, the child too; close (drop) ends only the parent's descriptor",
                shown(&answer),
                exit_words(server)
            ),
        });
    }
    let rest = read_to_eof(&mut client, SHORT_WAIT).map_err(|_| {
        "you received the greeting, but the connection stayed open for 3 s: the child closed its copy of the client socket, but another process still holds one (the parent's), so no FIN is sent"
            .to_owned()
    })?;
    answer.extend_from_slice(&rest);
    ensure!(
        answer == GREETING,
        "the answer was {}, not {}",
        shown(&answer),
        shown(GREETING)
    );
    Ok(())
}

/// How many children of the server still run (not zombies).
fn running_children(server: &Server) -> usize {
    server
        .children()
        .iter()
        .filter(|child| child.state != 'Z')
        .count()
}

/// A client that connects and sends nothing: once the server has forked its
/// child, that child waits in recv, as a slow client's would.
fn slow_client(probe: &Probe, server: &Server) -> Result<TcpStream, String> {
    let already = running_children(server);
    let slow = connect(server.address())?;
    ensure!(
        soon(IO_WAIT, || running_children(server) > already),
        "a client connected, and within 5 s your server forked no child for it{}",
        exit_words(server)
    );
    probe.step("a slow client connected and sent nothing: its child waits for its request");
    Ok(slow)
}

/// The slow client sends its request at last and must be answered.
fn slow_client_answered(mut slow: TcpStream) -> Result<(), String> {
    send(&mut slow, &get_request("/hello"))?;
    read_to_eof(&mut slow, IO_WAIT).map_err(|err| format!("the slow client: {err}"))?;
    Ok(())
}

/// 07 (webserver3d): the parent closes its copy.
pub fn close_parents_copy(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch())?;
    greeted_then_closed(&server)?;
    probe.step("GET /hello: the greeting, then end-of-file: the connection was really closed");
    let before = open_descriptors(server.pid());
    for _ in 0..10 {
        greeted_then_closed(&server)?;
    }
    let after = open_descriptors(server.pid());
    ensure!(
        after < before + 10,
        "after 10 more clients your server holds {after} descriptors, {before} before: one more per client"
    );
    probe.step(format!(
        "10 more clients answered; the server holds {after} descriptors, as before ({before})"
    ));
    let slow = slow_client(probe, &server)?;
    greeted_then_closed(&server).map_err(|err| {
        format!(
            "while the slow client's child waited for its request, another client was not served ({err}): your server waits for the child before accepting the next client. Close the parent's copy at once: the child's copy keeps the connection open"
        )
    })?;
    probe.step("meanwhile another client was answered, and its connection closed");
    slow_client_answered(slow)?;
    probe.step("the slow client was answered too");
    Ok(())
}

/// Waits until the server has no zombie child, for at most [`SHORT_WAIT`];
/// returns how many are left.
fn zombies_left(server: &Server) -> usize {
    let mut left = 0;
    soon(SHORT_WAIT, || {
        left = server.zombie_children().len();
        left == 0
    });
    left
}

/// The PID of the child that printed the `number`th (from 1) `Child PID: N.
/// Parent PID M` line.
fn child_of_line(server: &Server, number: usize) -> Result<i32, String> {
    poll(IO_WAIT, || {
        server
            .stdout_lines()
            .iter()
            .filter_map(|line| ChildLine::parse(line))
            .nth(number - 1)
            .map(|line| line.pid)
    })
    .ok_or_else(|| {
        format!("a child answered, but your server did not print its 'Child PID: N. Parent PID M' line (number {number})")
    })
}

/// The child `pid` (`who`) has exited: within [`SHORT_WAIT`] it must be
/// reaped, the server still running, and `Child PID terminated ...` printed.
fn reaped_with_status(server: &Server, pid: i32, who: &str) -> Result<(), String> {
    let reaped = soon(SHORT_WAIT, || testkit::procs::process_state(pid).is_none());
    still_running(server, &format!("after {who} exited"))?;
    ensure!(
        reaped,
        "{who} (PID {pid}) exited, and 3 s later it is still a zombie (state Z in /proc, <defunct> in ps): nobody waited for it. Only a SIGCHLD handler runs when a child exits: it should wait for it; {} zombie(s) in all",
        server.zombie_children().len()
    );
    ensure!(
        printed(server, &format!("Child {pid} terminated"), SHORT_WAIT),
        "{who} (PID {pid}) was reaped, but your server did not print 'Child {pid} terminated with status 0'. Is SIGCHLD ignored? Then the kernel reaps each child itself, and its exit status is lost; the handler should wait for the child and print the status wait returned"
    );
    Ok(())
}

/// 08 (webserver3e): a SIGCHLD handler that waits.
pub fn sigchld_handler(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch())?;
    greeting_answered(probe, &server)?;
    let first = child_of_line(&server, 1)?;
    reaped_with_status(&server, first, "the child that answered")?;
    probe.step(format!(
        "its child (PID {first}) exited and was reaped: no zombie, and 'Child {first} terminated with status 0'"
    ));
    let slow = slow_client(probe, &server)?;
    greeting_answered(&probe.quiet(), &server).map_err(|err| {
        format!(
            "while the slow client's child waited for its request, a second client was not answered ({err}): your server is waiting for a child instead of accepting. Only the handler should wait, when SIGCHLD says a child has exited"
        )
    })?;
    let second = child_of_line(&server, 2)?;
    reaped_with_status(&server, second, "the second client's child")?;
    probe.step(format!(
        "meanwhile a second client was answered; its child (PID {second}) exited and was reaped, with its status line"
    ));
    greeting_answered(&probe.quiet(), &server).map_err(|err| {
        format!(
            "after the second client's child was reaped, the slow client's child still running, a third client was not answered ({err}): is your handler blocked in wait, waiting for a child that has not exited? One wait per SIGCHLD is enough here"
        )
    })?;
    // Its child is reaped before the slow client's is let go: two children
    // exiting together make one SIGCHLD, and one wait per signal (the
    // lesson's handler) would leave one of them a zombie: exercise 11.
    let third = child_of_line(&server, 3)?;
    reaped_with_status(&server, third, "the third client's child")?;
    probe.step("and a third client too, the slow client's child still running");
    slow_client_answered(slow)?;
    let left = zombies_left(&server);
    still_running(&server, "after the slow client's child exited")?;
    ensure!(
        left == 0,
        "the children exited, and {left} are still zombies 3 s later"
    );
    probe.step(
        "the slow client was answered too; every child was reaped, and the server still runs",
    );
    Ok(())
}

/// 09 (webserver3f): accept restarted after EINTR.
pub fn restart_accept(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch().env("SLEEP_SECS", "0.5"))?;
    probe.step("started with SLEEP_SECS=0.5: each child exits 0.5 s after answering");
    // Its descriptors before any client: the lowest number not open is the
    // one accept would give the next connection (descriptors inherited from
    // whoever started the check may sit above it).
    let open: Vec<u64> = testkit::procs::descriptors(server.pid())
        .iter()
        .map(|(number, _)| *number as u64)
        .collect();
    let next_descriptor = (0..).find(|fd| !open.contains(fd)).unwrap_or(0);
    greeting_answered(probe, &server)?;
    let reaped = soon(SHORT_WAIT, || server.children().is_empty());
    thread::sleep(Duration::from_millis(300));
    if let Some(exit) = server.exited() {
        return Err(format!(
            "when its child exited, your server {exit}. SIGCHLD interrupted accept, which failed with EINTR (Interrupted system call): restart accept instead of giving up"
        ));
    }
    ensure!(
        reaped,
        "the child that answered was not reaped within 3 s: keep the SIGCHLD handler"
    );
    probe.step(
        "its child exited and was reaped (SIGCHLD interrupted accept), and the server still runs",
    );
    greeting_answered(probe, &server)?;
    probe.step("it answered the next client too");
    interrupted_again_and_again(probe, &server)?;
    does_not_spin_on_emfile(probe, next_descriptor)
}

/// 09: three children exit in turn while the server waits in one accept.
fn interrupted_again_and_again(probe: &Probe, server: &Server) -> Result<(), String> {
    ensure!(
        soon(SHORT_WAIT, || server.children().is_empty()),
        "the child that answered the second client was not reaped within 3 s"
    );
    const IN_TURN: usize = 3;
    let mut slow = Vec::new();
    for _ in 0..IN_TURN {
        slow.push(connect(server.address())?);
    }
    ensure!(
        soon(IO_WAIT, || server.children().len() >= IN_TURN),
        "{IN_TURN} clients connected, and within 5 s your server forked a child for only {} of them",
        server.children().len()
    );
    probe.step(format!(
        "{IN_TURN} slow clients connected and sent nothing: their children wait for their requests, the server waits in accept"
    ));
    for (number, client) in slow.iter_mut().enumerate() {
        send(client, &get_request("/hello"))?;
        read_to_eof(client, IO_WAIT)
            .map_err(|err| format!("slow client {}: {err}{}", number + 1, exit_words(server)))?;
        // The child has closed the connection and is exiting: wait until it
        // is reaped (so that the next exit interrupts accept anew), or until
        // the server has died.
        let left = IN_TURN - number - 1;
        let outcome = poll(SHORT_WAIT, || match server.exited() {
            Some(exit) => Some(Err(exit)),
            None => (server.children().len() <= left).then_some(Ok(())),
        });
        match outcome {
            Some(Ok(())) => {}
            Some(Err(exit)) => {
                return Err(format!(
                    "{IN_TURN} children exited in turn while your server waited for its next client, and when child {} exited your server {exit}. Each SIGCHLD interrupts the accept in progress, and the same accept can be interrupted again and again: restart it every time it fails with EINTR, not once",
                    number + 1
                ))
            }
            None => {
                return Err(format!(
                    "slow client {}'s child exited, and was not reaped within 3 s",
                    number + 1
                ))
            }
        }
    }
    probe.step(format!(
        "they were answered in turn, and the {IN_TURN} children exited one by one, each SIGCHLD interrupting the same accept: the server survived them all"
    ));
    greeting_answered(&probe.quiet(), server)?;
    probe.step("and it answered a new client");
    Ok(())
}

/// 09: with no descriptor to spare, accept fails with EMFILE, again and
/// again (Linux takes the descriptor before it waits for a connection): the
/// server must not retry it at full speed.
fn does_not_spin_on_emfile(probe: &Probe, limit: u64) -> Result<(), String> {
    // Spawned, not started: it may be gone before its banner is read.
    let tight = probe
        .launch()
        .env("SLEEP_SECS", "0.5")
        .open_file_limit(limit)
        .spawn();
    let started = Instant::now();
    probe.step(format!(
        "started it again with no descriptor to spare (ulimit -n {limit}): accept, which takes a descriptor for the next connection before it waits, fails with EMFILE"
    ));
    // It may give up (return the error) or wait; it must not spin. Its CPU
    // time counts from its start: starting takes a few milliseconds.
    let spun = poll(IO_WAIT, || {
        if tight.exited().is_some() {
            return Some(None);
        }
        let used = testkit::procs::cpu_time(tight.pid())?;
        (used >= Duration::from_millis(500)).then_some(Some(used))
    });
    if let Some(Some(used)) = spun {
        return Err(format!(
            "started with no descriptor to spare (ulimit -n {limit}), accept failed with EMFILE (Too many open files), and your server called it again at once, for ever: {:.1} s of CPU in {:.1} s, serving nobody. Restart accept only when it was interrupted (EINTR): another error will fail again the same way",
            used.as_secs_f32(),
            started.elapsed().as_secs_f32()
        ));
    }
    match tight.exited() {
        Some(exit) => probe.step(format!(
            "accept failed with EMFILE, and your server {exit}: it did not retry blindly"
        )),
        None => probe.step("accept failed with EMFILE, and your server did not spin"),
    }
    Ok(())
}

/// Makes `count` children exit while the server is stopped, so their
/// SIGCHLDs merge into one (testkit's exit_children_while_server_is_stopped,
/// without its panics); returns their PIDs.
fn exit_children_while_stopped(server: &Server, count: usize) -> Result<Vec<i32>, String> {
    // Children already there (a slow client's) are not part of the burst.
    let already: Vec<i32> = server.children().iter().map(|child| child.pid).collect();
    let mut clients = Vec::new();
    for _ in 0..count {
        clients.push(connect(server.address())?);
    }
    let burst = || -> Vec<i32> {
        server
            .children()
            .iter()
            .map(|child| child.pid)
            .filter(|pid| !already.contains(pid))
            .collect()
    };
    ensure!(
        soon(IO_WAIT, || burst().len() >= count),
        "{count} clients connected, but within 5 s your server forked a child for only {} of them: is it stuck somewhere, such as a SIGCHLD handler waiting for a child that is still running?",
        burst().len()
    );
    let pids = burst();
    server.signal(Signal::SIGSTOP);
    let stopped = soon(IO_WAIT, || server.state() == Some('T'));
    let result = (|| {
        ensure!(stopped, "your server did not stop on SIGSTOP");
        for client in &mut clients {
            send(client, &get_request("/hello"))?;
        }
        for client in &mut clients {
            read_to_eof(client, IO_WAIT)?;
        }
        // Exited: a zombie, or gone if the kernel reaped it (SIGCHLD ignored).
        let exited = |pid: &i32| matches!(testkit::procs::process_state(*pid), Some('Z') | None);
        ensure!(
            soon(IO_WAIT, || pids.iter().all(exited)),
            "the {count} children did not all exit"
        );
        Ok(pids)
    })();
    server.signal(Signal::SIGCONT);
    result
}

/// 10 (webserver3g): reap every child.
pub fn reap_every_child(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch())?;
    greeting_answered(probe, &server)?;
    let first = child_of_line(&server, 1)?;
    reaped_with_status(&server, first, "the child that answered GET /hello")?;
    // A client that has sent nothing yet: its child stays, blocked in recv,
    // through the burst, as a slow client's would.
    let slow = slow_client(probe, &server)?;
    const BURST: usize = 8;
    let burst = exit_children_while_stopped(&server, BURST)?;
    probe.step(format!(
        "{BURST} clients served; their {BURST} children exited while your server was stopped (SIGSTOP), so their SIGCHLDs merged into one; then SIGCONT"
    ));
    let left = zombies_left(&server);
    still_running(&server, "after the burst")?;
    ensure!(
        left != BURST,
        "after {BURST} children exited, all {BURST} are still zombies 3 s later: nothing reaped them. Only a SIGCHLD handler runs when a child exits; reaping anywhere else waits for something else to happen, such as a new client"
    );
    ensure!(
        left == 0,
        "after {BURST} children exited, {left} are still zombies 3 s later: your handler reaped {}. One SIGCHLD can stand for many exited children: wait for them all",
        BURST - left
    );
    let said = |pid: &i32| {
        server.count_lines(|line| line.starts_with(&format!("Child {pid} terminated"))) > 0
    };
    let all_said = soon(SHORT_WAIT, || burst.iter().all(said));
    ensure!(
        all_said,
        "all {BURST} were reaped, but your server printed 'Child N terminated with status 0' for {} of them: print the status of every child you reap",
        burst.iter().filter(|pid| said(pid)).count()
    );
    probe.step(format!(
        "all {BURST} were reaped, each with its 'Child N terminated' line: no zombie left"
    ));
    greeting_answered(probe, &server).map_err(|err| {
        format!(
            "after the burst, with the slow client's child still running, your server stopped answering ({err}): does the handler block in wait while a child runs?"
        )
    })?;
    probe.step("and, the slow client's child still running, it answered a new client");
    slow_client_answered(slow)?;
    probe.step("the slow client was answered too");
    Ok(())
}

/// 11 (client3): the connection loop.
pub fn client_connections(probe: &Probe) -> Result<(), String> {
    let listener = RecordingListener::start();
    let (clients, connections) = (3, 4);
    let mut client = probe
        .launch()
        .env("PORT", &listener.port().to_string())
        .args([
            format!("--max-clients={clients}"),
            format!("--max-conns={connections}"),
        ])
        .spawn();
    probe.step(format!(
        "started your client: --max-clients={clients} --max-conns={connections}, against a listener on port {} that records what arrives",
        listener.port()
    ));
    let status = poll(Duration::from_secs(10), || client.try_exit_status()).ok_or(
        "your client did not exit within 10 s: do the children exit, and does the parent wait for each?",
    )?;
    ensure!(
        status.success(),
        "your client exited with {status}{}",
        stderr_words(&client.stderr())
    );
    probe.step("it exited with code 0");
    // The listener panics when a wait runs out; say it as a reason.
    let recorded = panic::catch_unwind(AssertUnwindSafe(|| listener.connections_so_far()))
        .map_err(|_| "the connections your client made did not all end".to_owned())?;
    let expected = clients * connections;
    ensure!(
        recorded.len() == expected,
        "{clients} clients x {connections} connections should make {expected} connections; {} arrived{}. Each request goes on a connection of its own: one connect per request",
        recorded.len(),
        stderr_words(&client.stderr()).replacen("; its", "; your client's", 1)
    );
    probe.step(format!("{expected} connections arrived"));
    if let Some(bad) = recorded
        .iter()
        .find(|received| !received.starts_with(b"GET /") || !contains(received, b"\r\n\r\n"))
    {
        return Err(format!(
            "every connection should carry a whole GET request; one carried {}",
            shown(bad)
        ));
    }
    probe.step("each carried a GET request");
    let lines = client.count_lines(|line| line.contains(": connection "));
    ensure!(
        lines == expected,
        "your client printed {lines} 'client N: connection M' lines, not {expected}"
    );
    probe.step(format!(
        "and it printed {expected} 'client N: connection M' lines"
    ));
    connections_held_together(probe)
}

/// 11's proof that a client holds its connections open together, not one
/// after the other: each open connection takes a descriptor, so with fewer
/// descriptors than connections a client that keeps them all must run out
/// (EMFILE, "Too many open files"); one that makes them all did not keep them.
fn connections_held_together(probe: &Probe) -> Result<(), String> {
    const LIMIT: u64 = 16;
    const CONNECTIONS: usize = 40;
    let listener = RecordingListener::start();
    let mut client = probe
        .launch()
        .env("PORT", &listener.port().to_string())
        .args([
            "--max-clients=1".to_owned(),
            format!("--max-conns={CONNECTIONS}"),
        ])
        .open_file_limit(LIMIT)
        .spawn();
    probe.step(format!(
        "started it again with at most {LIMIT} descriptors (ulimit -n {LIMIT}): --max-clients=1 --max-conns={CONNECTIONS}"
    ));
    poll(Duration::from_secs(10), || client.try_exit_status()).ok_or(
        "with ulimit -n 16, your client did not exit within 10 s: does its child exit when a connect fails?",
    )?;
    let recorded = panic::catch_unwind(AssertUnwindSafe(|| listener.connections_so_far()))
        .map_err(|_| {
            "with ulimit -n 16, the connections your client made did not all end".to_owned()
        })?;
    ensure!(
        recorded.len() < CONNECTIONS,
        "with at most {LIMIT} descriptors (ulimit -n {LIMIT}), your client made all {CONNECTIONS} connections: each open connection takes a descriptor, so it never held more than {LIMIT} at once. client3 holds every connection open until it exits, and a TcpStream is closed when it is dropped: keep them all (in a Vec, say)"
    );
    probe.step(format!(
        "it made {} connections, then ran out of descriptors{}: it holds its connections open together",
        recorded.len(),
        stderr_words(&client.stderr())
    ));
    Ok(())
}

/// The lines the model servers print about a client, by its port.
fn lines_about(server: &Server, client: &TcpStream) -> Vec<String> {
    let address = client
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    server
        .stdout_lines()
        .into_iter()
        .filter(|line| line.contains(&address))
        .collect()
}

/// Whether the server prints a line about `client` containing `text`
/// within [`SHORT_WAIT`].
fn said_about(server: &Server, client: &TcpStream, text: &str) -> bool {
    soon(SHORT_WAIT, || {
        lines_about(server, client)
            .iter()
            .any(|line| line.contains(text))
    })
}

/// Whether the server has closed this connection: reading it would give
/// end-of-file (or a reset) at once. Peeks, without waiting or consuming.
fn closed_by_server(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    let closed = match stream.peek(&mut byte) {
        Ok(count) => count == 0,
        Err(err) => !matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted),
    };
    stream.set_nonblocking(false).ok();
    closed
}

/// 12 (nonblock_server): the non-blocking accept and read loop.
pub fn nonblock_loop(probe: &Probe) -> Result<(), String> {
    let server = probe.start(
        probe.launch().env("SLEEP_SECS", "0.02"),
        "Listening on port ",
    )?;
    let said = |client: &TcpStream, text: &str| said_about(&server, client, text);
    // Why a line was not printed, when it can be seen: the server exited,
    // or it closed a client that is still connected (recv's WouldBlock
    // taken for a disconnect); else `otherwise`.
    let unheard = |clients: &[(&TcpStream, &str)], otherwise: String| -> String {
        if let Some(exit) = server.exited() {
            return format!("{otherwise}; your server {exit}");
        }
        match clients.iter().find(|(client, _)| closed_by_server(client)) {
            Some((_, name)) => format!(
                "your server closed client {name}'s connection, though {name} is still connected and sent nothing to end it: a non-blocking recv with nothing to read fails with WouldBlock (EAGAIN), which means \"nothing now\", not a disconnect: keep the client and read it again next turn"
            ),
            None => otherwise,
        }
    };
    let mut alice = connect(server.address())?;
    write(&mut alice, b"one\n")?;
    ensure!(
        said(&alice, "one"),
        "{}",
        unheard(
            &[(&alice, "A")],
            "client A connected and sent 'one', but your server did not print it within 3 s"
                .to_owned()
        )
    );
    probe.step("client A connected and sent 'one': printed");
    let mut bob = connect(server.address())?;
    write(&mut bob, b"two\n")?;
    ensure!(
        said(&bob, "two"),
        "{}",
        unheard(
            &[(&alice, "A"), (&bob, "B")],
            "client B connected while A stayed connected, and sent 'two': your server did not print it within 3 s; is it stuck waiting for A (a blocking recv)?".to_owned()
        )
    );
    probe.step("client B connected while A stayed, and sent 'two': printed");
    // A write to a connection the server closed may fail (reset): then
    // the reason is the closing, not the write.
    let sent = write(&mut alice, b"three\n");
    ensure!(
        sent.is_ok() && said(&alice, "three"),
        "{}",
        unheard(
            &[(&alice, "A"), (&bob, "B")],
            "client A then sent 'three', and your server did not print it within 3 s: is it stuck in accept, waiting for a new client? (A blocking accept waits; a non-blocking one says EAGAIN at once)".to_owned()
        )
    );
    probe.step("client A sent 'three': printed");
    let sent = write(&mut bob, b"four\n");
    ensure!(
        sent.is_ok() && said(&bob, "four"),
        "{}",
        unheard(
            &[(&alice, "A"), (&bob, "B")],
            "client B then sent 'four', and your server did not print it within 3 s".to_owned()
        )
    );
    probe.step("client B sent 'four': printed");
    ensure!(
        server.children().is_empty(),
        "your server forked: this exercise serves every client from one process"
    );
    probe.step("all by one process, no child");
    drop(alice);
    let closed = printed(&server, "closed", SHORT_WAIT);
    still_running(&server, "after client A closed its connection")?;
    ensure!(
        closed,
        "client A closed its connection, and your server did not print that it closed it (recv returning 0 bytes means end-of-file)"
    );
    probe.step("client A closed: your server noticed and closed it too");
    let sent = write(&mut bob, b"five\n");
    ensure!(
        sent.is_ok() && said(&bob, "five"),
        "{}",
        unheard(
            &[(&bob, "B")],
            "after A left, B sent 'five', and your server did not print it".to_owned()
        )
    );
    probe.step("B is still served after A left");
    Ok(())
}

/// 13 (epoll_server): edge-triggered: accept and read until EAGAIN.
pub fn epoll_edge(probe: &Probe) -> Result<(), String> {
    let server = probe.start(probe.launch(), "Listening on port ")?;
    // Three clients arrive while the server is stopped: one edge for three.
    server.signal(Signal::SIGSTOP);
    ensure!(
        soon(IO_WAIT, || server.state() == Some('T')),
        "your server did not stop on SIGSTOP"
    );
    let mut clients = Vec::new();
    for number in 1..=3 {
        let mut client = connect(server.address())?;
        write(&mut client, format!("hello from {number}\n").as_bytes())?;
        clients.push(client);
    }
    server.signal(Signal::SIGCONT);
    probe.step("3 clients connected and each sent a line while your server was stopped (SIGSTOP): one edge for three clients; then SIGCONT");
    let lines_printed = || {
        (1..=3)
            .filter(|number| {
                let line = format!("hello from {number}");
                server.count_lines(|printed| printed.contains(&line)) > 0
            })
            .count()
    };
    let all_printed = soon(SHORT_WAIT, || lines_printed() == 3);
    still_running(&server, "after three clients arrived at once")?;
    ensure!(
        all_printed,
        "3 clients arrived together; your server accepted {} and printed the lines of {} within 3 s. In edge-triggered mode one event may announce several clients: accept until EAGAIN",
        server.count_lines(|line| line.starts_with("new client")),
        lines_printed()
    );
    probe.step("all 3 accepted and their lines printed");
    // Every client is still connected: a server that closed one took the
    // WouldBlock that ends its reading loop for a disconnect.
    let dropped_by_server = |clients: &[TcpStream]| -> Option<String> {
        let number = clients.iter().position(closed_by_server)? + 1;
        Some(format!(
            "your server closed client {number}'s connection after reading its line, though the client is still connected: in a loop that reads until EAGAIN, WouldBlock (EAGAIN) always comes at the end; it means \"all read for now\", not a disconnect: keep the client, registered, for its next edge"
        ))
    };
    let big = vec![b'x'; 3000];
    if write(&mut clients[0], &big).is_err() {
        return Err(dropped_by_server(&clients)
            .unwrap_or_else(|| "client 1 could not send 3000 bytes to your server".to_owned()));
    }
    // The model prints `... (N bytes)` for each read: the bytes so far.
    let received = || -> usize {
        lines_about(&server, &clients[0])
            .iter()
            .filter_map(|line| line.split_once(" bytes)"))
            .filter_map(|(before, _)| before.rsplit_once('(')?.1.parse::<usize>().ok())
            .sum()
    };
    let before = "hello from 1\n".len();
    let all_received = soon(SHORT_WAIT, || received() >= before + big.len());
    if let Some(reason) = dropped_by_server(&clients) {
        return Err(reason);
    }
    ensure!(
        all_received,
        "client 1 sent 3000 bytes in one write; your server printed {} of them within 3 s. One edge, one read of 1024 bytes, and the rest waits unreported: read until EAGAIN",
        received().saturating_sub(before)
    );
    probe.step("client 1 sent 3000 bytes at once: all 3000 printed (more than one read)");
    let offline = || server.count_lines(|line| line.contains("offline"));
    let offline_before = offline();
    clients.truncate(2);
    ensure!(
        soon(SHORT_WAIT, || offline() > offline_before),
        "client 3 closed its connection, and your server did not print '--- offline ---' for it"
    );
    probe.step("client 3 closed: your server said it is offline");
    // Its close follows its offline line: let it happen first, so that
    // the count below is of the listener and clients 1 and 2.
    soon(SHORT_WAIT, || open_sockets(server.pid()) <= 3);
    let offline_before = offline();
    let sockets_before = open_sockets(server.pid());
    reset(clients.remove(1));
    let gone = soon(SHORT_WAIT, || {
        offline() > offline_before && open_sockets(server.pid()) < sockets_before
    });
    still_running(&server, "after client 2 reset its connection")?;
    let said_offline = offline() > offline_before;
    let sockets_after = open_sockets(server.pid());
    let held = format!(
        "still holds its descriptor ({sockets_before} sockets open before, {sockets_after} now)"
    );
    ensure!(
        gone,
        "client 2 reset its connection (RST), and within 3 s your server {}. Its read failed with ECONNRESET, an error that is not WouldBlock: the client is gone; report it offline and close it (edge-triggered epoll will not report it again)",
        match (said_offline, sockets_after < sockets_before) {
            (false, false) => format!("did not say it is offline, and {held}"),
            (true, _) => format!("said it is offline but {held}"),
            (false, true) => "closed its descriptor but did not say it is offline".to_owned(),
        }
    );
    probe.step("client 2 reset its connection (RST): your server said it is offline and closed its descriptor");
    Ok(())
}

/// Closes `stream` with a reset (RST) instead of end-of-file (FIN), as a
/// client that crashes or gives up does: SO_LINGER with a zero timeout.
fn reset(stream: TcpStream) {
    let linger = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let _ = nix::sys::socket::setsockopt(&stream, nix::sys::socket::sockopt::Linger, &linger);
    drop(stream);
}

/// EPOLLET, edge-triggered, in a registration's event flags.
const EPOLLET: u32 = 1 << 31;

/// One descriptor registered with an epoll instance, as the kernel keeps
/// it: a line `tfd: FD events: HEX data: HEX ...` of the instance's
/// `/proc/PID/fdinfo/EPFD`.
struct Registration {
    fd: i32,
    events: u32,
    data: u64,
}

/// Every registration in every epoll instance the process holds.
fn epoll_registrations(pid: i32) -> Vec<Registration> {
    testkit::procs::descriptors_linked(pid, "anon_inode:[eventpoll]")
        .into_iter()
        .filter_map(|epfd| std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{epfd}")).ok())
        .flat_map(|info| {
            info.lines()
                .filter_map(|line| {
                    let words: Vec<&str> = line.split_whitespace().collect();
                    match words[..] {
                        ["tfd:", fd, "events:", events, "data:", data, ..] => Some(Registration {
                            fd: fd.parse().ok()?,
                            events: u32::from_str_radix(events, 16).ok()?,
                            data: u64::from_str_radix(data, 16).ok()?,
                        }),
                        _ => None,
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What is wrong with how the server registered its sockets, if anything
/// can be seen: each socket it holds (the listening one, `listener`, and
/// each client) must be registered for EPOLLIN | EPOLLET, with its own
/// descriptor as the event's data.
fn registration_problem(server: &Server, listener: i32) -> Option<String> {
    let registrations = epoll_registrations(server.pid());
    for fd in testkit::procs::descriptors_linked(server.pid(), "socket:") {
        let what = if fd == listener {
            format!("the listening socket (fd {fd})")
        } else {
            format!("a client (fd {fd})")
        };
        let Some(registration) = registrations.iter().find(|r| r.fd == fd) else {
            return Some(format!(
                "{what} is not registered with epoll (its registrations are in /proc/{}/fdinfo of the epoll descriptor): epoll_wait reports only what is registered; {}",
                server.pid(),
                if fd == listener {
                    "register the listening socket before the loop"
                } else {
                    "register each client as it is accepted"
                }
            ));
        };
        if registration.data != fd as u64 {
            let whose = if registration.data == listener as u64 {
                " (the listening socket's)"
            } else {
                ""
            };
            return Some(format!(
                "{what} is registered with {}{whose} as its data: epoll_wait hands back the data, and the loop takes it for the descriptor of the socket that is ready. Register each socket with its own descriptor as the data",
                registration.data
            ));
        }
        if registration.events & 1 == 0 {
            return Some(format!(
                "{what} is registered with events {:#x}, without EPOLLIN: register it for input",
                registration.events
            ));
        }
        if registration.events & EPOLLET == 0 {
            return Some(format!(
                "{what} is registered with events {:#x}: EPOLLIN without EPOLLET, level-triggered, so epoll_wait reports it on every call while it is readable. This chapter's server is edge-triggered: register for EPOLLIN | EPOLLET",
                registration.events
            ));
        }
    }
    None
}

/// 14 (epoll_server): register the listening socket and each client.
pub fn epoll_register(probe: &Probe) -> Result<(), String> {
    let server = probe.start(probe.launch(), "Listening on port ")?;
    // Before any client, the one socket is the listening one (bound and
    // listening before the banner).
    let listener = match testkit::procs::descriptors_linked(server.pid(), "socket:")[..] {
        [fd] => fd,
        _ => -1,
    };
    // A reason from the registrations when they show one, else `otherwise`.
    let unseen = |otherwise: &str| -> String {
        registration_problem(&server, listener).unwrap_or_else(|| otherwise.to_owned())
    };
    let mut alice = connect(server.address())?;
    let accepted = soon(SHORT_WAIT, || {
        server.count_lines(|line| line.starts_with("new client")) > 0
    });
    still_running(&server, "after a client connected")?;
    ensure!(
        accepted,
        "a client connected, and within 3 s your server did not print 'new client ...': {}",
        unseen("epoll_wait never reported the listening socket; is it registered?")
    );
    probe.step("a client connected: your server accepted it");
    write(&mut alice, b"hello from A\n")?;
    ensure!(
        printed(&server, "hello from A", SHORT_WAIT),
        "the client sent 'hello from A', and within 3 s your server did not print it: {}",
        unseen("epoll_wait never reported the client; is it registered?")
    );
    probe.step("it sent a line: printed");
    let mut bob = connect(server.address())?;
    write(&mut bob, b"hello from B\n")?;
    write(&mut alice, b"again from A\n")?;
    ensure!(
        printed(&server, "hello from B", SHORT_WAIT)
            && printed(&server, "again from A", SHORT_WAIT),
        "a second client sent a line and the first another: your server did not print both within 3 s{}",
        registration_problem(&server, listener)
            .map(|problem| format!(": {problem}"))
            .unwrap_or_default()
    );
    probe.step("a second client and the first both sent lines: both printed");
    // Both clients' lines were printed, so both are registered by now.
    if let Some(problem) = registration_problem(&server, listener) {
        return Err(format!("the kernel's registrations show it: {problem}"));
    }
    probe.step(format!(
        "in /proc/{}/fdinfo of its epoll descriptor: the listening socket and both clients registered for EPOLLIN | EPOLLET, each with its own descriptor as the data",
        server.pid()
    ));
    drop(alice);
    ensure!(
        printed(&server, "offline", SHORT_WAIT),
        "the first client closed its connection, and your server did not print '--- offline ---' for it"
    );
    probe.step("the first client closed: reported offline");
    Ok(())
}

/// 15 (webserver1's hello_name): read the whole head.
pub fn read_whole_head(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch())?;
    let (status, _, body) = http_exchange(&server, "GET", "/Alice")?;
    ensure!(
        status == "HTTP/1.1 200 OK" && body == "Hello, Alice!\n",
        "GET /Alice in one piece was answered {status:?}, {body:?}; expected 200 and \"Hello, Alice!\\n\""
    );
    probe.step("GET /Alice in one piece: 200, \"Hello, Alice!\"");
    for (place, first, rest, advice) in [
        (
            "inside the request line",
            "GET /Al",
            "ice HTTP/1.1\r\nHost: localhost\r\n\r\n",
            "",
        ),
        (
            "inside a header",
            "GET /Alice HTTP/1.1\r\nHost: local",
            "host\r\n\r\n",
            "",
        ),
        (
            "inside the blank line",
            "GET /Alice HTTP/1.1\r\nHost: localhost\r\n",
            "\r\n",
            " Look for \"\\r\\n\\r\\n\" in all that has arrived, not in the last read: it may be cut too.",
        ),
    ] {
        let mut stream = connect(server.address())?;
        send(&mut stream, first.as_bytes())?;
        thread::sleep(Duration::from_millis(300));
        // The server may have answered already and closed: a failed send
        // is then not the point; the answer is.
        let _ = write(&mut stream, rest.as_bytes());
        let (answer, ended) = read_for(&mut stream, IO_WAIT, |_| false);
        let text = String::from_utf8_lossy(&answer);
        let how = match ended {
            Ok(true) => String::new(),
            Ok(false) => format!(", and the connection stayed open for {} s", IO_WAIT.as_secs()),
            Err(err) => format!(", then the read failed: {err}"),
        };
        ensure!(
            text.starts_with("HTTP/1.1 200 OK") && text.ends_with("Hello, Alice!\n"),
            "GET /Alice sent in two pieces, cut {place} ({first:?}, then 0.3 s later {rest:?}), was answered {}{how}{}: read until the blank line that ends the head, however many reads it takes, and take the whole head.{advice}",
            shown(&answer),
            exit_words(&server)
        );
        probe.step(format!(
            "GET /Alice sent in two pieces, cut {place}: 200, \"Hello, Alice!\""
        ));
    }
    let mut cut = connect(server.address())?;
    send(&mut cut, b"GET /Alice HTTP/1.1\r\nHost: localhost\r\n")?;
    cut.shutdown(std::net::Shutdown::Write)
        .map_err(|err| format!("shutting down the sending side: {err}"))?;
    let (answer, _) = read_for(&mut cut, IO_WAIT, |_| false);
    ensure!(
        answer.starts_with(b"HTTP/1.1 400"),
        "a client sent \"GET /Alice HTTP/1.1\\r\\nHost: localhost\\r\\n\", no blank line, then end-of-file (it shut down its sending side), and was answered {}{}: end-of-file before the blank line means the head was cut, not that it is whole: refuse it (400)",
        shown(&answer),
        exit_words(&server)
    );
    probe.step("a head cut by end-of-file before its blank line: 400, refused");
    let mut stream = connect(server.address())?;
    let mut huge = b"GET /Alice HTTP/1.1\r\n".to_vec();
    while huge.len() < 20 * 1024 {
        huge.extend_from_slice(b"X-Filler: 0123456789012345678901234567890123456789\r\n");
    }
    let _ = write(&mut stream, &huge);
    // The server refuses without reading the rest, so its close may reset
    // the connection (RST) after the answer: keep what came before.
    let (answer, _) = read_for(&mut stream, IO_WAIT, |_| false);
    ensure!(
        answer.starts_with(b"HTTP/1.1 400"),
        "a head of 20 KiB without its blank line was answered {}: past MAX_REQUEST_HEAD_BYTES, stop reading and refuse it (400)",
        shown(&answer)
    );
    probe.step("a 20 KiB head without its blank line: 400, refused");
    let mut cut = connect(server.address())?;
    send(&mut cut, b"GET /Ali")?;
    drop(cut);
    let (status, _, _) = http_exchange(&server, "GET", "/Bob")
        .map_err(|err| format!("after a client left mid-request: {err}"))?;
    ensure!(
        status == "HTTP/1.1 200 OK",
        "after a client left mid-request, GET /Bob was answered {status:?}"
    );
    probe.step("a client that left mid-request did not stop the server");
    Ok(())
}

/// The master's children that run (not zombies), by PID.
fn running_children_of(master: i32) -> Vec<i32> {
    testkit::procs::children_of(master)
        .into_iter()
        .filter(|child| child.state != 'Z')
        .map(|child| child.pid)
        .collect()
}

/// The master's running children that each hold one listening socket of
/// `port`, which no other process of the server holds: the workers with a
/// listening socket of their own.
fn workers_with_own_listener(master: i32, port: u16) -> Vec<i32> {
    let listening = testkit::procs::listening_inodes(port);
    let children = running_children_of(master);
    let processes: Vec<i32> = children.iter().copied().chain([master]).collect();
    let holders = |inode: &u64| {
        processes
            .iter()
            .filter(|pid| testkit::procs::socket_inodes(**pid).contains(inode))
            .count()
    };
    children
        .into_iter()
        .filter(|child| {
            let its: Vec<u64> = testkit::procs::socket_inodes(*child)
                .into_iter()
                .filter(|inode| listening.contains(inode))
                .collect();
            its.len() == 1 && holders(&its[0]) == 1
        })
        .collect()
}

/// Why the server does not have `workers` workers, each listening on a
/// socket of its own, in a student's words.
fn why_not_own_listeners(server: &Server, workers: usize) -> String {
    let (master, port) = (server.pid(), server.port);
    if server.stderr().contains("Address already in use") {
        return format!(
            "a worker could not bind port {port}: Address already in use. Only sockets that all set SO_REUSEPORT before its bind may share a port (the kernel decides at bind, and the master's socket is on the port first): set SO_REUSEPORT before its bind, in bind_socket, for every socket"
        );
    }
    let children = running_children_of(master);
    let listening = testkit::procs::listening_inodes(port);
    let holds = |pid: i32| testkit::procs::socket_inodes(pid).contains(&listening[0]);
    if listening.len() == 1 && children.len() > 1 && children.iter().all(|&child| holds(child)) {
        return format!(
            "port {port} has one listening socket, and all {} workers hold it: made before the fork, it was inherited, and every worker waits on the same one (the herd). Each worker must make a listening socket of its own, after the fork",
            children.len()
        );
    }
    if children.is_empty() {
        return format!(
            "your master has no worker running: it must fork its {workers} workers once, at start, each to live on and accept its own clients (a child per connection is webserver3g's model)"
        );
    }
    format!(
        "3 s after the start, {} of your master's {} running children listen on port {port} with a socket of their own ({} listening sockets on the port): it must fork {workers} workers once, at start, each with a listening socket of its own",
        workers_with_own_listener(master, port).len(),
        children.len(),
        listening.len()
    )
}

/// 16 (prefork_server): SO_REUSEPORT before bind, the workers forked once,
/// and reaped.
pub fn reuseport_workers(probe: &Probe) -> Result<(), String> {
    const WORKERS: usize = 3;
    const CLIENTS: usize = 30;
    let server = probe.start_http(probe.launch())?;
    let (master, port) = (server.pid(), server.port);
    let settled = soon(SHORT_WAIT, || {
        workers_with_own_listener(master, port).len() == WORKERS
            && testkit::procs::listening_inodes(port).len() == WORKERS
    });
    still_running(&server, "at the start")?;
    ensure!(settled, "{}", why_not_own_listeners(&server, WORKERS));
    let workers = workers_with_own_listener(master, port);
    probe.step(format!(
        "{WORKERS} workers (PIDs {workers:?}), each with a listening socket of its own on port {port}, and the master none (in /proc)"
    ));

    let mut answered_by: Vec<i32> = Vec::new();
    for _ in 0..CLIENTS {
        let answer = get(server.address(), "/")?;
        let text = String::from_utf8_lossy(&answer);
        let pid = text
            .trim_end()
            .rsplit(' ')
            .next()
            .and_then(|pid| pid.parse::<i32>().ok())
            .filter(|_| text.starts_with("HTTP/1.1 200 OK\r\n\r\nHello from worker "))
            .ok_or_else(|| {
                format!(
                    "GET / was answered {}, not the greeting with a worker's PID",
                    shown(&answer)
                )
            })?;
        ensure!(
            workers.contains(&pid),
            "a client was answered by PID {pid}, which is not one of the {WORKERS} workers the master forked at start ({workers:?}): fork the workers once, at start, not a process per connection"
        );
        answered_by.push(pid);
    }
    answered_by.sort_unstable();
    answered_by.dedup();
    ensure!(
        answered_by.len() > 1,
        "{CLIENTS} clients were all answered by worker {}: the kernel spreads connections over the listening sockets of a port, so the others should have had some; are they listening?",
        answered_by[0]
    );
    probe.step(format!(
        "{CLIENTS} clients: answered by {} of the workers, as the kernel spread them",
        answered_by.len()
    ));

    let killed = workers[0];
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(killed), Signal::SIGKILL);
    let zombie = || {
        testkit::procs::children_of(master)
            .iter()
            .any(|child| child.pid == killed)
    };
    let replaced = soon(SHORT_WAIT, || {
        !zombie() && workers_with_own_listener(master, port).len() == WORKERS
    });
    still_running(&server, &format!("after worker {killed} was killed"))?;
    ensure!(
        !zombie(),
        "worker {killed} was killed (SIGKILL), and 3 s later it is still a zombie: when SIGCHLD comes, the master must reap every worker that has exited, with waitpid"
    );
    ensure!(
        replaced,
        "worker {killed} was killed and reaped, and 3 s later {} workers listen with a socket of their own, not {WORKERS}: fork another in its place",
        workers_with_own_listener(master, port).len()
    );
    let said = format!("Child {killed} terminated by SIGKILL");
    ensure!(
        printed(&server, &said, SHORT_WAIT),
        "worker {killed} was killed and replaced, but your master did not print '{said}': print how each worker ended (common::print_child_status)"
    );
    probe.step(format!(
        "worker {killed} killed: reaped, '{said}' printed, and another forked in its place, with a socket of its own"
    ));

    server.signal(Signal::SIGTERM);
    let stopped = soon(SHORT_WAIT, || {
        server.exited().is_some() && running_descendants(master).is_empty()
    });
    ensure!(
        stopped,
        "SIGTERM to the master: 3 s later, it or a worker still runs"
    );
    probe.step("SIGTERM: the master stopped its workers and exited");
    Ok(())
}

/// The lines the model servers print about the client at `address`.
fn lines_about_address(server: &Server, address: &str) -> Vec<String> {
    server
        .stdout_lines()
        .into_iter()
        .filter(|line| line.contains(address))
        .collect()
}

/// 17 (uring_server): submit a receive and handle its completion.
pub fn uring_receive(probe: &Probe) -> Result<(), String> {
    let server = probe.start(probe.launch(), "Listening on port ")?;
    let address_of = |client: &TcpStream| {
        client
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    };
    // The line the model prints for `bytes` received from `client`.
    let line_of = |client: &TcpStream, bytes: &str| -> String {
        format!(
            "recv from {} ({} bytes): {}",
            address_of(client),
            bytes.len(),
            bytes.trim_end()
        )
    };
    // Whether the model printed exactly `line` within [`SHORT_WAIT`].
    let printed_line = |line: &str| soon(SHORT_WAIT, || server.count_lines(|l| l == line) > 0);
    // Why `wanted` was not printed: the server's exit, a line that holds
    // the bytes but is not the one asked for, or else `otherwise`.
    let unheard = |client: &TcpStream, text: &str, wanted: &str, otherwise: &str| -> String {
        if let Some(exit) = poll(Duration::from_millis(300), || server.exited()) {
            return format!("your server {exit}");
        }
        match lines_about(&server, client)
            .into_iter()
            .find(|line| line.contains(text))
        {
            Some(line) => format!(
                "your server printed {line:?}, not {wanted:?}: N is the completion's result, the count of bytes the kernel wrote into the buffer; print those, through common::printable, trimmed at the end"
            ),
            None => otherwise.to_owned(),
        }
    };

    let mut one = connect(server.address())?;
    write(&mut one, b"hello from 1\n")?;
    let wanted = line_of(&one, "hello from 1\n");
    ensure!(
        printed_line(&wanted),
        "client 1 connected and sent 'hello from 1': {}",
        unheard(
            &one,
            "hello from 1",
            &wanted,
            "within 3 s your server printed nothing of it. Was a receive submitted for the client (an opcode::Recv into its buffer, pushed on the submission queue), with the client's descriptor as its user_data? The loop finds the client by the completion's user_data, and ignores a completion it cannot match"
        )
    );
    probe.step("client 1 connected and sent a line: printed");

    write(&mut one, b"second line\n")?;
    let wanted = line_of(&one, "second line\n");
    ensure!(
        printed_line(&wanted),
        "client 1's first line was printed, then it sent 'second line': {}",
        unheard(
            &one,
            "second line",
            &wanted,
            "within 3 s your server did not print it. A receive operation receives once, as recv(2) does: after each completion that brought bytes, submit the next receive"
        )
    );
    probe.step("client 1 sent a second line: printed (the next receive was submitted)");

    let mut two = connect(server.address())?;
    let big = vec![b'x'; 3000];
    write(&mut two, &big)?;
    // The model prints `... (N bytes)` for each completion: the bytes so far.
    let received = || -> usize {
        lines_about(&server, &two)
            .iter()
            .filter_map(|line| line.split_once(" bytes)"))
            .filter_map(|(before, _)| before.rsplit_once('(')?.1.parse::<usize>().ok())
            .sum()
    };
    let all = soon(SHORT_WAIT, || received() >= big.len());
    still_running(&server, "after client 2 sent 3000 bytes")?;
    ensure!(
        all,
        "client 2 sent 3000 bytes in one write; within 3 s your server printed {} of them: each receive brings at most the buffer's 1024 bytes, and the next receives bring the rest",
        received()
    );
    probe.step("client 2 sent 3000 bytes at once: all printed, in several receives");

    // Client 3 connects and closes (FIN): its receive completes with 0.
    let three = connect(server.address())?;
    let three_address = address_of(&three);
    ensure!(
        soon(SHORT_WAIT, || !lines_about(&server, &three).is_empty()),
        "client 3 connected, and your server did not print 'new client ...' for it{}",
        exit_words(&server)
    );
    let sockets_before = open_sockets(server.pid());
    drop(three);
    let offline_line = format!("{three_address} --- offline ---");
    let zero_bytes = || {
        lines_about_address(&server, &three_address)
            .iter()
            .any(|line| line.contains("(0 bytes)"))
    };
    let offline = soon(SHORT_WAIT, || {
        zero_bytes() || server.count_lines(|line| line == offline_line) > 0
    });
    still_running(&server, "after client 3 closed its connection")?;
    ensure!(
        !zero_bytes(),
        "client 3 closed its connection, and your server printed 'recv from {three_address} (0 bytes)': a receive that completes with 0 is end of file, as recv(2)'s 0 is, not 0 bytes of data; return false, and the loop takes the client offline (submitted again, the receive would complete with 0 again and again)"
    );
    ensure!(
        offline,
        "client 3 closed its connection, and within 3 s your server did not print '--- offline ---' for it: its receive completes with 0, end of file; return false for it"
    );
    let closed = soon(SHORT_WAIT, || open_sockets(server.pid()) < sockets_before);
    ensure!(
        closed,
        "client 3 is offline, but your server still holds its socket ({sockets_before} sockets open before it closed, {} now)",
        open_sockets(server.pid())
    );
    probe.step("client 3 closed: its receive completed with 0, offline, socket closed");

    // Client 2 resets (RST): its receive completes with -ECONNRESET.
    let two_address = address_of(&two);
    let sockets_before = open_sockets(server.pid());
    reset(two);
    let offline_line = format!("{two_address} --- offline ---");
    let gone = soon(SHORT_WAIT, || {
        server.count_lines(|line| line == offline_line) > 0
            && open_sockets(server.pid()) < sockets_before
    });
    if let Some(exit) = poll(Duration::from_millis(300), || server.exited()) {
        return Err(format!(
            "client 2 reset its connection (RST), and your server {exit}. Its receive completed with a negative result, -ECONNRESET: an error as -errno, not a count of bytes; print it (io::Error::from_raw_os_error(-result)) and return false"
        ));
    }
    let told = lines_about_address(&server, &two_address)
        .iter()
        .any(|line| line.contains("reset"));
    ensure!(
        gone && told,
        "client 2 reset its connection (RST): its receive completed with a negative result, -ECONNRESET. Within 3 s your server {}; print the error (io::Error::from_raw_os_error(-result)), as `ADDRESS: ERROR`, and return false",
        if told {
            "printed the reason but did not take the client offline and close its socket"
        } else {
            "did not print the reason, 'Connection reset by peer'"
        }
    );
    probe.step("client 2 reset its connection: the error printed, offline, socket closed");

    // Client 1 is still served.
    write(&mut one, b"still here\n")?;
    let wanted = line_of(&one, "still here\n");
    ensure!(
        printed_line(&wanted),
        "after the others left, client 1 sent 'still here': {}",
        unheard(
            &one,
            "still here",
            &wanted,
            "within 3 s your server did not print it"
        )
    );
    probe.step("client 1 is still served");
    Ok(())
}
