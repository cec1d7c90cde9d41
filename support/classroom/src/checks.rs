//! One check per exercise: it starts the student's binary and tries the
//! behaviour the lesson's own tests prove, printing each step; on failure it
//! returns what it saw, in a student's words.

use std::io::Write;
use std::net::TcpStream;
use std::panic::{self, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use testkit::{ChildLine, RecordingListener};

use crate::probe::{
    connect, contains, get, get_request, poll, read_to_eof, read_until, send, shown, stderr_words,
    Exited, Probe, Running, IO_WAIT,
};

/// The greeting of every Part 3 stage (and webserver1).
const GREETING: &[u8] = b"HTTP/1.1 200 OK\r\n\r\nHello, World!\r\n";

/// Fails with the server's exit if it is no longer running.
fn still_running(server: &Running, when: &str) -> Result<(), String> {
    match server.exited() {
        Some(exit) => Err(format!("{when}, your server {exit}")),
        None => Ok(()),
    }
}

/// `GET /hello`, read to end-of-file: must be exactly the greeting.
fn greeting_answered(probe: &Probe, server: &Running) -> Result<(), String> {
    let answer = get(server.address(), "/hello")
        .map_err(|err| format!("GET /hello: {err}{}", exit_words(server)))?;
    if answer != GREETING {
        return Err(format!(
            "GET /hello was answered {}, not {}",
            shown(&answer),
            shown(GREETING)
        ));
    }
    probe.step("GET /hello: answered 'HTTP/1.1 200 OK ... Hello, World!', then end-of-file");
    Ok(())
}

/// `; your server exited with ...` when it has exited, or is exiting within
/// 300 ms (a reset connection may come just before the exit); else "".
fn exit_words(server: &Running) -> String {
    poll(Duration::from_millis(300), || server.exited())
        .map(|exit| format!("; your server {exit}"))
        .unwrap_or_default()
}

/// Waits until the server's stdout has a line containing `text`.
fn printed(server: &Running, text: &str, within: Duration) -> bool {
    poll(within, || {
        server
            .stdout_lines()
            .iter()
            .any(|line| line.contains(text))
            .then_some(())
    })
    .is_some()
}

/// How many descriptors the process has open (`/proc/PID/fd`).
fn open_descriptors(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| entries.count())
        .unwrap_or(0)
}

/// 01 (webserver1): the socket steps.
pub fn socket_steps(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch())?;
    greeting_answered(probe, &server)?;
    if !printed(&server, "GET /hello HTTP/1.1", IO_WAIT) {
        return Err("your server answered but did not print the request it read".to_owned());
    }
    probe.step("it printed the request it read ('GET /hello HTTP/1.1 ...')");
    // The server closed first, so its end of that connection is in
    // TIME_WAIT: binding the port again needs SO_REUSEADDR.
    let port = server.port;
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

/// Sends `METHOD target`, reads to end-of-file; returns the status line,
/// the whole head and the body.
fn http_exchange(
    server: &Running,
    method: &str,
    target: &str,
) -> Result<(String, String, String), String> {
    let exit_words = || exit_words(server);
    let mut stream = connect(server.address())?;
    send(
        &mut stream,
        format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes(),
    )?;
    let answer = read_to_eof(&mut stream, IO_WAIT)
        .map_err(|err| format!("{method} {target}: {err}{}", exit_words()))?;
    if answer.is_empty() {
        return Err(format!(
            "{method} {target}: the connection was closed without an answer{}",
            exit_words()
        ));
    }
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
    for (target, expected) in [
        ("/Alice", "Hello, Alice!\n"),
        ("/", "Hello, World!\n"),
        ("/Zhuibing%20Dan", "Hello, Zhuibing Dan!\n"),
        ("/Bob?lang=en", "Hello, Bob!\n"),
        ("/%E5%BC%A0%E4%B8%89", "Hello, 张三!\n"),
    ] {
        let (status, _, body) = http_exchange(&server, "GET", target)?;
        if status != "HTTP/1.1 200 OK" || body != expected {
            return Err(format!(
                "GET {target} was answered {status:?} with body {body:?}; expected \"HTTP/1.1 200 OK\" and {expected:?}"
            ));
        }
        probe.step(format!("GET {target}: 200, {:?}", body.trim_end()));
    }
    for target in ["/%1B%5B31mred", "/a%0Ab", "/%FF", "/%zz"] {
        let (status, _, _) = http_exchange(&server, "GET", target)?;
        if !status.starts_with("HTTP/1.1 400") {
            return Err(format!(
                "GET {target} was answered {status:?}; a name with a control character, bytes that are not UTF-8 or a broken %-escape must get 400 Bad Request"
            ));
        }
        probe.step(format!("GET {target}: 400, refused"));
    }
    Ok(())
}

/// 03 (webserver2): an application for the WSGI-like interface.
pub fn wsgi_app(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch())?;
    for (number, (target, expected)) in [
        ("/Alice", "Hello, Alice! (visit number 1)\n"),
        ("/", "Hello, World! (visit number 2)\n"),
        ("/Bob", "Hello, Bob! (visit number 3)\n"),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, head, body) = http_exchange(&server, "GET", target)?;
        if status != "HTTP/1.1 200 OK" {
            return Err(format!(
                "GET {target} was answered {status:?}: your application's status should be \"200 OK\""
            ));
        }
        if number == 0
            && !head
                .to_ascii_lowercase()
                .contains("\r\ncontent-type: text/plain")
        {
            return Err(format!(
                "GET {target} was answered with the head {head:?}: no Content-Type: text/plain header (pass it to start_response)"
            ));
        }
        if body != expected {
            return Err(format!(
                "GET {target} was answered with the body {body:?}, not {expected:?}"
            ));
        }
        probe.step(format!("GET {target}: 200, {:?}", body.trim_end()));
    }
    let (status, _, _) = http_exchange(&server, "POST", "/")?;
    if !status.starts_with("HTTP/1.1 405") {
        return Err(format!(
            "POST / was answered {status:?}; only GET is counted: answer 405 Method Not Allowed"
        ));
    }
    probe.step("POST /: 405 Method Not Allowed");
    let (_, _, body) = http_exchange(&server, "GET", "/Carol")?;
    if body != "Hello, Carol! (visit number 4)\n" {
        return Err(format!(
            "after a POST, GET /Carol was answered {body:?}: a POST must not count as a visit"
        ));
    }
    probe.step("GET /Carol after the POST: visit number 4, the POST was not counted");
    Ok(())
}

/// 04 (webserver3a): read the request and answer.
pub fn read_and_answer(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch())?;
    greeting_answered(probe, &server)?;
    if !printed(&server, "GET /hello HTTP/1.1", IO_WAIT) {
        return Err("your server answered but did not print the request it read".to_owned());
    }
    probe.step("it printed the request ('GET /hello HTTP/1.1 ...')");
    greeting_answered(probe, &server)?;
    probe.step("a second client was answered too: the server loops");
    Ok(())
}

/// 05 (webserver3b): the sleep after answering; the next client waits.
pub fn sleep_after_answer(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch().env("SLEEP_SECS", "2"))?;
    probe.step("started with SLEEP_SECS=2");
    let mut first = connect(server.address())?;
    send(&mut first, &get_request("/hello"))?;
    read_until(&mut first, b"Hello, World!", IO_WAIT)
        .map_err(|err| format!("the first client: {err}"))?;
    let answered = Instant::now();
    probe.step("the first client got the greeting");
    let mut second = connect(server.address())?;
    send(&mut second, &get_request("/hello"))?;
    read_to_eof(&mut first, IO_WAIT).map_err(|err| format!("the first client: {err}"))?;
    let first_closed = answered.elapsed();
    if first_closed < Duration::from_millis(1500) {
        return Err(format!(
            "your server closed the first connection {:.1} s after answering: it should sleep SLEEP_SECS (2 s) first",
            first_closed.as_secs_f32()
        ));
    }
    probe.step(format!(
        "the first connection was closed {:.1} s after the greeting: the server slept",
        first_closed.as_secs_f32()
    ));
    read_until(&mut second, b"Hello, World!", IO_WAIT)
        .map_err(|err| format!("the second client: {err}"))?;
    let waited = answered.elapsed();
    if waited < Duration::from_millis(1500) {
        return Err(format!(
            "the second client was answered {:.1} s after the first: it should have waited in the listen queue while the server slept",
            waited.as_secs_f32()
        ));
    }
    probe.step(format!(
        "the second client, connected meanwhile, was answered {:.1} s after the first: it waited in the listen queue",
        waited.as_secs_f32()
    ));
    Ok(())
}

/// 06 (webserver3c): a child per client.
pub fn fork_per_client(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch().env("SLEEP_SECS", "3"))?;
    probe.step("started with SLEEP_SECS=3: each client is served for 3 s");
    let mut clients: Vec<TcpStream> = Vec::new();
    for _ in 0..2 {
        let mut client = connect(server.address())?;
        send(&mut client, &get_request("/hello"))?;
        clients.push(client);
    }
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
    if lines[0].pid == lines[1].pid {
        return Err(format!(
            "both clients were served by PID {}: they should each have a child of their own",
            lines[0].pid
        ));
    }
    for line in &lines[..2] {
        if line.parent != server_pid || line.pid == server_pid {
            return Err(format!(
                "a client was served by PID {} whose parent is {}: it should be a child of your server (PID {server_pid})",
                line.pid, line.parent
            ));
        }
    }
    probe.step(format!(
        "answered by PIDs {} and {}, both children of your server (PID {server_pid})",
        lines[0].pid, lines[1].pid
    ));
    Ok(())
}

/// 07 (webserver3d): the parent closes its copy.
pub fn close_parents_copy(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch())?;
    let mut client = connect(server.address())?;
    send(&mut client, &get_request("/hello"))?;
    let answer = read_until(&mut client, b"Hello, World!", IO_WAIT)?;
    probe.step("GET /hello: the greeting arrived");
    match read_to_eof(&mut client, Duration::from_secs(3)) {
        Ok(rest) => {
            let mut whole = answer;
            whole.extend_from_slice(&rest);
            if whole != GREETING {
                return Err(format!("the answer was {}, not {}", shown(&whole), shown(GREETING)));
            }
        }
        Err(_) => {
            return Err(
                "you received the greeting, but the connection stayed open for 3 s: the child closed its copy of the client socket, but another process still holds one (the parent's), so no FIN is sent"
                    .to_owned(),
            )
        }
    }
    probe.step("then end-of-file: the connection was really closed");
    let before = open_descriptors(server.pid());
    for _ in 0..10 {
        greeting_answered(
            &Probe {
                binary: probe.binary.clone(),
                verbose: false,
            },
            &server,
        )?;
    }
    let after = open_descriptors(server.pid());
    if after >= before + 10 {
        return Err(format!(
            "after 10 more clients your server holds {after} descriptors, {before} before: one more per client"
        ));
    }
    probe.step(format!(
        "10 more clients answered; the server holds {after} descriptors, as before ({before})"
    ));
    Ok(())
}

/// Waits until the server has no zombie child, for at most `within`;
/// returns how many are left.
fn zombies_left(server: &Running, within: Duration) -> usize {
    let mut left = server.zombie_children().len();
    poll(within, || {
        left = server.zombie_children().len();
        (left == 0).then_some(())
    });
    left
}

/// 08 (webserver3e): a SIGCHLD handler that waits.
pub fn sigchld_handler(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch())?;
    greeting_answered(probe, &server)?;
    let left = zombies_left(&server, Duration::from_secs(3));
    still_running(&server, "after its child exited")?;
    if left > 0 {
        return Err(format!(
            "the child that answered exited, and 3 s later it is still a zombie (state Z in /proc, <defunct> in ps): nobody waited for it; {left} zombie(s) in all"
        ));
    }
    probe.step("the child that answered exited and was reaped: no zombie");
    greeting_answered(probe, &server)?;
    let left = zombies_left(&server, Duration::from_secs(3));
    still_running(&server, "after its second child exited")?;
    if left > 0 {
        return Err(format!(
            "the second child is still a zombie 3 s after it exited ({left} zombie(s))"
        ));
    }
    probe.step("a second child: reaped too, and the server still runs");
    Ok(())
}

/// 09 (webserver3f): accept restarted after EINTR.
pub fn restart_accept(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch().env("SLEEP_SECS", "0.5"))?;
    probe.step("started with SLEEP_SECS=0.5: each child exits 0.5 s after answering");
    greeting_answered(probe, &server)?;
    let reaped = poll(Duration::from_secs(3), || {
        (server.children().is_empty()).then_some(())
    });
    thread::sleep(Duration::from_millis(300));
    if let Some(exit) = server.exited() {
        return Err(format!(
            "when its child exited, your server {exit}. SIGCHLD interrupted accept, which failed with EINTR (Interrupted system call): restart accept instead of giving up"
        ));
    }
    if reaped.is_none() {
        return Err(
            "the child that answered was not reaped within 3 s: keep the SIGCHLD handler"
                .to_owned(),
        );
    }
    probe.step(
        "its child exited and was reaped (SIGCHLD interrupted accept), and the server still runs",
    );
    greeting_answered(probe, &server)?;
    probe.step("it answered the next client too");
    Ok(())
}

/// Makes `count` children exit while the server is stopped, so their
/// SIGCHLDs merge into one (testkit's exit_children_while_server_is_stopped,
/// without its panics).
fn exit_children_while_stopped(server: &Running, count: usize) -> Result<(), String> {
    // Children already there (a slow client's) are not part of the burst.
    let already = server.children().len();
    let mut clients = Vec::new();
    for _ in 0..count {
        clients.push(connect(server.address())?);
    }
    poll(IO_WAIT, || {
        (server.children().len() >= already + count).then_some(())
    })
    .ok_or_else(|| {
        format!(
            "{count} clients connected, but within 5 s your server forked a child for only {} of them: is it stuck somewhere, such as a SIGCHLD handler waiting for a child that is still running?",
            server.children().len().saturating_sub(already)
        )
    })?;
    server.signal(Signal::SIGSTOP);
    let stopped = poll(IO_WAIT, || (server.state() == Some('T')).then_some(()));
    let result = (|| {
        stopped.ok_or("your server did not stop on SIGSTOP")?;
        for client in &mut clients {
            send(client, &get_request("/hello"))?;
        }
        for client in &mut clients {
            read_to_eof(client, IO_WAIT)?;
        }
        poll(IO_WAIT, || {
            (server.zombie_children().len() >= count).then_some(())
        })
        .ok_or_else(|| format!("the {count} children did not all exit"))
    })();
    server.signal(Signal::SIGCONT);
    result
}

/// 10 (webserver3g): reap every child.
pub fn reap_every_child(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch())?;
    greeting_answered(probe, &server)?;
    poll(Duration::from_secs(3), || {
        server.children().is_empty().then_some(())
    })
    .ok_or("the child that answered GET /hello was not reaped within 3 s")?;
    // A client that has sent nothing yet: its child stays, blocked in recv,
    // through the burst, as a slow client's would.
    let mut slow = connect(server.address())?;
    poll(IO_WAIT, || (!server.children().is_empty()).then_some(()))
        .ok_or("a client connected, and your server forked no child for it")?;
    probe.step("a slow client connected and sent nothing: its child waits for its request");
    const BURST: usize = 8;
    exit_children_while_stopped(&server, BURST)?;
    probe.step(format!(
        "{BURST} clients served; their {BURST} children exited while your server was stopped (SIGSTOP), so their SIGCHLDs merged into one; then SIGCONT"
    ));
    let left = zombies_left(&server, Duration::from_secs(3));
    still_running(&server, "after the burst")?;
    if left > 0 {
        return Err(format!(
            "after {BURST} children exited, {left} are still zombies 3 s later: your handler reaped {}. One SIGCHLD can stand for many exited children: wait for them all",
            BURST - left
        ));
    }
    probe.step(format!("all {BURST} were reaped: no zombie left"));
    greeting_answered(probe, &server).map_err(|err| {
        format!(
            "after the burst, with the slow client's child still running, your server stopped answering ({err}): does the handler block in wait while a child runs?"
        )
    })?;
    probe.step("and, the slow client's child still running, it answered a new client");
    send(&mut slow, &get_request("/hello"))?;
    read_to_eof(&mut slow, IO_WAIT).map_err(|err| format!("the slow client: {err}"))?;
    probe.step("the slow client was answered too");
    Ok(())
}

/// 11 (client3): the connection loop.
pub fn client_connections(probe: &Probe) -> Result<(), String> {
    let listener = RecordingListener::start();
    let (clients, connections) = (3, 4);
    let mut client = Running {
        process: probe
            .launch()
            .env("PORT", &listener.port().to_string())
            .args([
                format!("--max-clients={clients}"),
                format!("--max-conns={connections}"),
            ])
            .spawn(),
        port: 0,
    };
    probe.step(format!(
        "started your client: --max-clients={clients} --max-conns={connections}, against a listener on port {} that records what arrives",
        listener.port()
    ));
    let status = poll(Duration::from_secs(10), || client.process.try_exit_status());
    let Some(status) = status else {
        return Err("your client did not exit within 10 s: do the children exit, and does the parent wait for each?".to_owned());
    };
    if !status.success() {
        return Err(format!(
            "your client exited with {status}{}",
            stderr_words(&client.stderr())
        ));
    }
    probe.step("it exited with code 0");
    // The listener panics when a wait runs out; say it as a reason.
    let recorded = panic::catch_unwind(AssertUnwindSafe(|| listener.connections_so_far()))
        .map_err(|_| "the connections your client made did not all end".to_owned())?;
    let expected = clients * connections;
    if recorded.len() != expected {
        return Err(format!(
            "{clients} clients x {connections} connections should make {expected} connections; {} arrived{}",
            recorded.len(),
            stderr_words(&client.stderr()).replacen("; its", "; your client's", 1)
        ));
    }
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
    if lines != expected {
        return Err(format!(
            "your client printed {lines} 'client N: connection M' lines, not {expected}"
        ));
    }
    probe.step(format!(
        "and it printed {expected} 'client N: connection M' lines"
    ));
    Ok(())
}

/// The lines the model servers print about a client, by its port.
fn lines_about(server: &Running, client: &TcpStream) -> Vec<String> {
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

/// 12 (nonblock_server): the non-blocking accept and read loop.
pub fn nonblock_loop(probe: &Probe) -> Result<(), String> {
    let server = probe.start(
        probe.launch().env("SLEEP_SECS", "0.02"),
        "Listening on port ",
    )?;
    let wait = Duration::from_secs(3);
    let said = |client: &TcpStream, text: &str| {
        poll(wait, || {
            lines_about(&server, client)
                .iter()
                .any(|line| line.contains(text))
                .then_some(())
        })
        .is_some()
    };
    let mut alice = connect(server.address())?;
    alice.write_all(b"one\n").map_err(|err| err.to_string())?;
    if !said(&alice, "one") {
        return Err(format!(
            "client A connected and sent 'one', but your server did not print it within 3 s{}",
            server
                .exited()
                .map(|exit| format!("; it {exit}"))
                .unwrap_or_default()
        ));
    }
    probe.step("client A connected and sent 'one': printed");
    let mut bob = connect(server.address())?;
    bob.write_all(b"two\n").map_err(|err| err.to_string())?;
    if !said(&bob, "two") {
        return Err("client B connected while A stayed connected, and sent 'two': your server did not print it within 3 s; is it stuck waiting for A (a blocking recv)?".to_owned());
    }
    probe.step("client B connected while A stayed, and sent 'two': printed");
    alice.write_all(b"three\n").map_err(|err| err.to_string())?;
    if !said(&alice, "three") {
        return Err("client A then sent 'three', and your server did not print it within 3 s: is it stuck in accept, waiting for a new client? (A blocking accept waits; a non-blocking one says EAGAIN at once)".to_owned());
    }
    probe.step("client A sent 'three': printed");
    bob.write_all(b"four\n").map_err(|err| err.to_string())?;
    if !said(&bob, "four") {
        return Err(
            "client B then sent 'four', and your server did not print it within 3 s".to_owned(),
        );
    }
    probe.step("client B sent 'four': printed");
    if !server.children().is_empty() {
        return Err(
            "your server forked: this exercise serves every client from one process".to_owned(),
        );
    }
    probe.step("all by one process, no child");
    drop(alice);
    let closed = poll(wait, || {
        server
            .stdout_lines()
            .iter()
            .any(|line| line.contains("closed"))
            .then_some(())
    });
    still_running(&server, "after client A closed its connection")?;
    if closed.is_none() {
        return Err("client A closed its connection, and your server did not print that it closed it (recv returning 0 bytes means end-of-file)".to_owned());
    }
    probe.step("client A closed: your server noticed and closed it too");
    bob.write_all(b"five\n").map_err(|err| err.to_string())?;
    if !said(&bob, "five") {
        return Err("after A left, B sent 'five', and your server did not print it".to_owned());
    }
    probe.step("B is still served after A left");
    Ok(())
}

/// 13 (epoll_server): edge-triggered: accept and read until EAGAIN.
pub fn epoll_edge(probe: &Probe) -> Result<(), String> {
    let server = probe.start(probe.launch(), "Listening on port ")?;
    // Three clients arrive while the server is stopped: one edge for three.
    server.signal(Signal::SIGSTOP);
    poll(IO_WAIT, || (server.state() == Some('T')).then_some(()))
        .ok_or("your server did not stop on SIGSTOP")?;
    let mut clients = Vec::new();
    for number in 1..=3 {
        let mut client = connect(server.address())?;
        client
            .write_all(format!("hello from {number}\n").as_bytes())
            .map_err(|err| err.to_string())?;
        clients.push(client);
    }
    server.signal(Signal::SIGCONT);
    probe.step("3 clients connected and each sent a line while your server was stopped (SIGSTOP): one edge for three clients; then SIGCONT");
    let all_printed = poll(Duration::from_secs(3), || {
        (1..=3)
            .all(|number| {
                server
                    .stdout_lines()
                    .iter()
                    .any(|line| line.contains(&format!("hello from {number}")))
            })
            .then_some(())
    });
    still_running(&server, "after three clients arrived at once")?;
    if all_printed.is_none() {
        let accepted = server.count_lines(|line| line.starts_with("new client"));
        return Err(format!(
            "3 clients arrived together; your server accepted {accepted} and printed the lines of {} within 3 s. In edge-triggered mode one event may announce several clients: accept until EAGAIN",
            (1..=3)
                .filter(|number| server.stdout_lines().iter().any(|line| line.contains(&format!("hello from {number}"))))
                .count()
        ));
    }
    probe.step("all 3 accepted and their lines printed");
    let big = vec![b'x'; 3000];
    clients[0].write_all(&big).map_err(|err| err.to_string())?;
    let received = |server: &Running, client: &TcpStream| -> usize {
        lines_about(server, client)
            .iter()
            .filter_map(|line| line.split_once(" bytes)"))
            .filter_map(|(before, _)| before.rsplit_once('(')?.1.parse::<usize>().ok())
            .sum()
    };
    let before = "hello from 1\n".len();
    let whole = poll(Duration::from_secs(3), || {
        (received(&server, &clients[0]) >= before + big.len()).then_some(())
    });
    if whole.is_none() {
        return Err(format!(
            "client 1 sent 3000 bytes in one write; your server printed {} of them within 3 s. One edge, one read of 1024 bytes, and the rest waits unreported: read until EAGAIN",
            received(&server, &clients[0]).saturating_sub(before)
        ));
    }
    probe.step("client 1 sent 3000 bytes at once: all 3000 printed (more than one read)");
    let offline_before = server.count_lines(|line| line.contains("offline"));
    clients.truncate(2);
    let offline = poll(Duration::from_secs(3), || {
        (server.count_lines(|line| line.contains("offline")) > offline_before).then_some(())
    });
    if offline.is_none() {
        return Err("client 3 closed its connection, and your server did not print '--- offline ---' for it".to_owned());
    }
    probe.step("client 3 closed: your server said it is offline");
    Ok(())
}

/// 14 (epoll_server): register the listening socket and each client.
pub fn epoll_register(probe: &Probe) -> Result<(), String> {
    let server = probe.start(probe.launch(), "Listening on port ")?;
    let mut alice = connect(server.address())?;
    let accepted = poll(Duration::from_secs(3), || {
        (server.count_lines(|line| line.starts_with("new client")) > 0).then_some(())
    });
    still_running(&server, "after a client connected")?;
    if accepted.is_none() {
        return Err("a client connected, and within 3 s your server did not print 'new client ...': epoll_wait never reported the listening socket; is it registered?".to_owned());
    }
    probe.step("a client connected: your server accepted it");
    alice
        .write_all(b"hello from A\n")
        .map_err(|err| err.to_string())?;
    if !printed(&server, "hello from A", Duration::from_secs(3)) {
        return Err("the client sent 'hello from A', and within 3 s your server did not print it: epoll_wait never reported the client; is it registered?".to_owned());
    }
    probe.step("it sent a line: printed");
    let mut bob = connect(server.address())?;
    bob.write_all(b"hello from B\n")
        .map_err(|err| err.to_string())?;
    alice
        .write_all(b"again from A\n")
        .map_err(|err| err.to_string())?;
    if !printed(&server, "hello from B", Duration::from_secs(3))
        || !printed(&server, "again from A", Duration::from_secs(3))
    {
        return Err("a second client sent a line and the first another: your server did not print both within 3 s".to_owned());
    }
    probe.step("a second client and the first both sent lines: both printed");
    drop(alice);
    let offline = poll(Duration::from_secs(3), || {
        (server.count_lines(|line| line.contains("offline")) > 0).then_some(())
    });
    if offline.is_none() {
        return Err("the first client closed its connection, and your server did not print '--- offline ---' for it".to_owned());
    }
    probe.step("the first client closed: reported offline");
    Ok(())
}

/// 15 (webserver1's hello_name): read the whole head.
pub fn read_whole_head(probe: &Probe) -> Result<(), String> {
    let server = probe.start_http(probe.launch())?;
    let (status, _, body) = http_exchange(&server, "GET", "/Alice")?;
    if status != "HTTP/1.1 200 OK" || body != "Hello, Alice!\n" {
        return Err(format!(
            "GET /Alice in one piece was answered {status:?}, {body:?}; expected 200 and \"Hello, Alice!\\n\""
        ));
    }
    probe.step("GET /Alice in one piece: 200, \"Hello, Alice!\"");
    for (first, rest) in [
        ("GET /Al", "ice HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        ("GET /Alice HTTP/1.1\r\nHost: local", "host\r\n\r\n"),
    ] {
        let mut stream = connect(server.address())?;
        send(&mut stream, first.as_bytes())?;
        thread::sleep(Duration::from_millis(300));
        // The server may have answered already and closed: a failed send
        // is then not the point; the answer is.
        let _ = stream.write_all(rest.as_bytes());
        let answer = read_to_eof(&mut stream, IO_WAIT)
            .map_err(|err| format!("a request sent in two pieces: {err}{}", exit_words(&server)))?;
        let text = String::from_utf8_lossy(&answer);
        if !text.starts_with("HTTP/1.1 200 OK") || !text.ends_with("Hello, Alice!\n") {
            return Err(format!(
                "GET /Alice sent in two pieces ({first:?}, then 0.3 s later the rest) was answered {}: read until the blank line that ends the head, however many reads it takes",
                shown(&answer)
            ));
        }
        probe.step(format!(
            "GET /Alice sent in two pieces, cut after {first:?}: 200, \"Hello, Alice!\""
        ));
    }
    let mut stream = connect(server.address())?;
    let mut huge = b"GET /Alice HTTP/1.1\r\n".to_vec();
    while huge.len() < 20 * 1024 {
        huge.extend_from_slice(b"X-Filler: 0123456789012345678901234567890123456789\r\n");
    }
    let _ = stream.write_all(&huge);
    // The server refuses without reading the rest, so its close may reset
    // the connection (RST) after the answer: keep what came before.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + IO_WAIT;
    while Instant::now() < deadline {
        match std::io::Read::read(&mut stream, &mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(count) => answer.extend_from_slice(&chunk[..count]),
        }
    }
    if !answer.starts_with(b"HTTP/1.1 400") {
        return Err(format!(
            "a head of 20 KiB without its blank line was answered {}: past MAX_REQUEST_HEAD_BYTES, stop reading and refuse it (400)",
            shown(&answer)
        ));
    }
    probe.step("a 20 KiB head without its blank line: 400, refused");
    let mut cut = connect(server.address())?;
    send(&mut cut, b"GET /Ali")?;
    drop(cut);
    let (status, _, _) = http_exchange(&server, "GET", "/Bob")
        .map_err(|err| format!("after a client left mid-request: {err}"))?;
    if status != "HTTP/1.1 200 OK" {
        return Err(format!(
            "after a client left mid-request, GET /Bob was answered {status:?}"
        ));
    }
    probe.step("a client that left mid-request did not stop the server");
    Ok(())
}
