//! The lesson of prefork_server: a master that forks N workers once, each
//! with a listening socket of its own on the same port (SO_REUSEPORT); the
//! kernel spreads the connections over them; a worker that dies is
//! replaced; the master stops them all and leaves nothing behind, and a
//! master killed takes its workers with it. With one socket shared by every
//! worker instead, each connection wakes them all: the thundering herd.
//!
//! This test binary makes itself a "child subreaper": a process orphaned
//! below it (a worker whose master died) becomes its child instead of
//! init's, so a worker left running, or exited and never waited for, is
//! seen here instead of vanishing into init.

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use testkit::procs::{children_of, descriptors, listening_inodes, process_state, socket_inodes};
use testkit::static_server::{launch, test_site, without_worker, worker_of};
use testkit::{eventually, request_for, Server, TempDir, PATIENCE};

const BINARY: &str = env!("CARGO_BIN_EXE_prefork_server");

/// prefork_server on a test site with `extra` arguments; keep both.
fn start(extra: &[&str]) -> (TempDir, Server) {
    let site = test_site();
    let server = launch(BINARY, extra, site.path()).start_server();
    (site, server)
}

/// The workers' PIDs, as the master's `Workers: 1 2, ...` line names them.
fn workers_named(server: &Server) -> Vec<i32> {
    let line = server.wait_for_line("the Workers line", |line| line.starts_with("Workers: "));
    let (pids, _) = line["Workers: ".len()..]
        .split_once(", ")
        .unwrap_or_else(|| panic!("{line}"));
    pids.split(' ').map(|pid| pid.parse().unwrap()).collect()
}

/// The PIDs of the master's children that run (not zombies).
fn running_children(master: i32) -> Vec<i32> {
    children_of(master)
        .into_iter()
        .filter(|child| child.state != 'Z')
        .map(|child| child.pid)
        .collect()
}

/// `GET /a.txt` on a new connection, `Connection: close`, read to the end.
fn get_and_close(server: &Server) {
    let mut stream = server.connect();
    stream
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.ends_with("first"), "{answer:?}");
}

/// What a worker said when it stopped: `[worker PID] stopping: accepted A
/// connections; the listening socket reported R times, F for nothing;
/// woken W times in all`.
#[derive(Debug)]
struct Stopped {
    pid: i32,
    accepted: u64,
    woken: u64,
}

/// Every `stopping:` line of the server's workers.
fn stopped_lines(server: &Server) -> Vec<Stopped> {
    let numbers = |text: &str| -> Vec<u64> {
        text.split(|c: char| !c.is_ascii_digit())
            .filter_map(|word| word.parse().ok())
            .collect()
    };
    server
        .stdout_lines()
        .iter()
        .filter(|line| without_worker(line).starts_with("stopping: "))
        .map(|line| {
            let pid = numbers(worker_of(line))[0] as i32;
            match numbers(without_worker(line))[..] {
                [accepted, _reported, _for_nothing, woken] => Stopped {
                    pid,
                    accepted,
                    woken,
                },
                _ => panic!("a stopping line that does not parse: {line:?}"),
            }
        })
        .collect()
}

/// Makes this test process the reaper of whatever is orphaned below it.
fn become_subreaper() {
    nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
}

/// Waits until `pid` has exited; reaps it if it was left to this process
/// (see [`become_subreaper`]). Panics if it still runs after [`PATIENCE`].
fn wait_gone(pid: i32, what: &str) {
    eventually(PATIENCE, what, || {
        match process_state(pid) {
            None => Some(()),
            Some('Z') => {
                // Ours to reap only if it was orphaned to us; else its
                // parent will (ECHILD here).
                let _ = waitpid(Pid::from_raw(pid), None);
                Some(())
            }
            Some(_) => None,
        }
    });
}

#[test]
fn forks_n_workers_each_with_a_listening_socket_of_its_own() {
    let (_site, server) = start(&["--workers", "3"]);
    // Listening already: the banner comes once every worker listens.
    let listening = listening_inodes(server.port);
    let workers = workers_named(&server);
    assert_eq!(running_children(server.pid()), workers);
    assert_eq!(listening.len(), 3, "{listening:?}");
    for worker in &workers {
        let its: Vec<u64> = socket_inodes(*worker)
            .into_iter()
            .filter(|inode| listening.contains(inode))
            .collect();
        assert_eq!(
            its.len(),
            1,
            "worker {worker} holds {its:?} of {listening:?}"
        );
        let others = workers.iter().filter(|other| *other != worker);
        for other in others {
            assert!(
                !socket_inodes(*other).contains(&its[0]),
                "{worker}'s socket in {other}"
            );
        }
    }
    let masters = socket_inodes(server.pid());
    assert!(masters.iter().all(|inode| !listening.contains(inode)));
}

/// Nothing of the master's leaks into a worker: each holds its own
/// document root, once, and no pipe but those it inherited with its
/// standard output and error (the master's readiness pipe is closed on
/// both sides); the master keeps no root open.
#[test]
fn each_worker_holds_its_own_root_and_no_pipe_of_its_own() {
    let (site, server) = start(&["--workers", "2"]);
    let root = site.path().canonicalize().unwrap();
    let root = root.to_str().unwrap();
    let masters = descriptors(server.pid());
    assert!(
        masters.iter().all(|(_, link)| link != root),
        "the master: {masters:?}"
    );
    for worker in workers_named(&server) {
        let held = descriptors(worker);
        let roots = held.iter().filter(|(_, link)| link == root).count();
        assert_eq!(roots, 1, "worker {worker}: {held:?}");
        let pipe_of_its_own = held.iter().find(|(_, link)| {
            link.starts_with("pipe:") && !masters.iter().any(|(_, theirs)| theirs == link)
        });
        assert_eq!(pipe_of_its_own, None, "worker {worker}: {held:?}");
    }
}

#[test]
fn the_shared_listener_is_one_socket_in_every_worker() {
    let (_site, server) = start(&["--workers", "3", "--shared-listener"]);
    let listening = listening_inodes(server.port);
    assert_eq!(listening.len(), 1, "{listening:?}");
    for process in std::iter::once(server.pid()).chain(workers_named(&server)) {
        assert!(
            socket_inodes(process).contains(&listening[0]),
            "{process} does not hold the shared socket"
        );
    }
}

#[test]
fn the_kernel_spreads_connections_over_the_workers() {
    const CONNECTIONS: usize = 64;
    let (_site, server) = start(&["--workers", "2"]);
    let workers = workers_named(&server);
    for _ in 0..CONNECTIONS {
        get_and_close(&server);
    }
    // Counted in the log: each worker's `new client` lines.
    let lines = server.wait_for_lines(CONNECTIONS, "a line per client", |line| {
        without_worker(line).starts_with("new client ")
    });
    for worker in &workers {
        let its = lines
            .iter()
            .filter(|line| worker_of(line) == format!("[worker {worker}] "))
            .count();
        // Both serve: the hash of 64 connections sends all to one of two
        // with probability 2^-63.
        assert!(its > 0, "worker {worker} accepted none of {CONNECTIONS}");
    }
    server.signal(Signal::SIGTERM);
    let stopped = eventually(PATIENCE, "each worker's stopping line", || {
        let stopped = stopped_lines(&server);
        (stopped.len() == workers.len()).then_some(stopped)
    });
    let accepted: u64 = stopped.iter().map(|worker| worker.accepted).sum();
    assert_eq!(accepted, CONNECTIONS as u64, "{stopped:?}");
    assert!(
        stopped.iter().all(|worker| worker.accepted > 0),
        "{stopped:?}"
    );
}

#[test]
fn a_worker_killed_is_replaced_and_the_master_says_why() {
    let (_site, server) = start(&["--workers", "2"]);
    let workers = workers_named(&server);
    let killed = workers[0];
    kill(Pid::from_raw(killed), Signal::SIGKILL).unwrap();
    server.wait_for_line("the reason", |line| {
        line == format!("Child {killed} terminated by SIGKILL")
    });
    let replacement: i32 = server
        .wait_for_line("the replacement", |line| line.ends_with(" in its place"))
        .split(' ')
        .nth(1)
        .and_then(|pid| pid.parse().ok())
        .unwrap();
    let running = running_children(server.pid());
    assert_eq!(running.len(), 2, "{running:?}");
    assert!(running.contains(&replacement) && running.contains(&workers[1]));
    assert!(children_of(server.pid())
        .iter()
        .all(|child| child.state != 'Z'));
    assert_eq!(listening_inodes(server.port).len(), 2);
    // The replacement serves: its own line for a client, in time.
    eventually(PATIENCE, "the replacement to accept a client", || {
        get_and_close(&server);
        let its = format!("[worker {replacement}] new client");
        (server.count_lines(|line| line.starts_with(&its)) > 0).then_some(())
    });
}

#[test]
fn a_worker_that_fails_on_its_own_is_not_restarted() {
    let (site, mut server) = start(&["--workers", "2"]);
    let workers = workers_named(&server);
    // A replacement will fail to open the document root, and exit 1.
    let root = site.path().to_owned();
    std::fs::remove_dir_all(&root).unwrap();
    kill(Pid::from_raw(workers[0]), Signal::SIGKILL).unwrap();
    server.wait_for_line("a replacement's failure", |line| {
        line.starts_with("Child ") && line.ends_with(" terminated with status 1")
    });
    server.wait_for_line("no restart", |line| line.starts_with("Not restarted"));
    assert_eq!(running_children(server.pid()), [workers[1]]);
    assert!(
        server.stderr().contains("document root"),
        "{}",
        server.stderr()
    );
    // The last one killed, its replacement fails too: nothing is left to
    // serve, and the master says so and exits 1.
    kill(Pid::from_raw(workers[1]), Signal::SIGKILL).unwrap();
    assert_eq!(server.wait_for_exit(), 1);
    assert!(server
        .stderr()
        .contains("prefork_server: every worker has failed"));
}

/// Stops the server with `stop`; asserts that it exits 0, that each worker
/// said it was stopping, and that no worker is left, running or zombie.
fn stops_cleanly(stop: impl FnOnce(&Server)) {
    become_subreaper();
    let (_site, mut server) = start(&["--workers", "2"]);
    let workers = workers_named(&server);
    get_and_close(&server);
    stop(&server);
    assert_eq!(server.wait_for_exit(), 0, "stderr: {}", server.stderr());
    // Had the master exited before reaping a worker, or without stopping
    // it, that worker would now be this process's child.
    let ours = children_of(std::process::id() as i32);
    for worker in &workers {
        assert!(
            ours.iter().all(|child| child.pid != *worker),
            "worker {worker} outlived the master: {ours:?}"
        );
        assert_eq!(process_state(*worker), None, "worker {worker}");
    }
    let stopped = stopped_lines(&server);
    let mut said: Vec<i32> = stopped.iter().map(|worker| worker.pid).collect();
    said.sort();
    assert_eq!(said, workers, "{}", server.stdout());
}

#[test]
fn sigterm_stops_every_worker_and_exits_0() {
    stops_cleanly(|server| server.signal(Signal::SIGTERM));
}

#[test]
fn ctrl_c_stops_every_worker_and_exits_0() {
    // Ctrl-C: the terminal sends SIGINT to the whole foreground process
    // group, the master and its workers at once.
    stops_cleanly(|server| killpg(Pid::from_raw(server.pid()), Signal::SIGINT).unwrap());
}

#[test]
fn workers_exit_when_the_master_is_killed() {
    become_subreaper();
    let (_site, mut server) = start(&["--workers", "2"]);
    let workers = workers_named(&server);
    server.signal(Signal::SIGKILL);
    let status = server.process.try_exit_status();
    eventually(PATIENCE, "the master to die", || {
        status.or_else(|| server.process.try_exit_status())
    });
    for worker in workers {
        wait_gone(worker, &format!("worker {worker} to exit after its master"));
    }
}

/// Opens and closes `count` connections one at a time, `gap` apart, so that
/// every worker is asleep when each arrives.
fn connections_one_by_one(server: &Server, count: usize, gap: Duration) {
    for _ in 0..count {
        let mut stream = server.connect();
        stream.write_all(request_for("/a.txt").as_bytes()).unwrap();
        let mut first = [0u8; 1];
        stream.read_exact(&mut first).unwrap();
        drop(stream);
        thread::sleep(gap);
    }
}

/// The wakeups of `workers` workers under `count` connections one by one,
/// with or without `--shared-listener`: each worker's stopping line.
fn wakeups(workers: usize, count: usize, shared: bool) -> Vec<Stopped> {
    let mut arguments = vec!["--quiet", "--workers"];
    let workers_text = workers.to_string();
    arguments.push(&workers_text);
    if shared {
        arguments.push("--shared-listener");
    }
    let (_site, server) = start(&arguments);
    connections_one_by_one(&server, count, Duration::from_millis(50));
    server.signal(Signal::SIGTERM);
    let stopped = eventually(PATIENCE, "each worker's stopping line", || {
        let stopped = stopped_lines(&server);
        (stopped.len() == workers).then_some(stopped)
    });
    let accepted: u64 = stopped.iter().map(|worker| worker.accepted).sum();
    assert_eq!(accepted, count as u64, "{stopped:?}");
    stopped
}

/// The thundering herd, counted: with one listening socket shared by four
/// workers, each connection wakes every worker, so each is woken about once
/// per connection, whichever worker accepted it; with a socket each, a
/// worker is woken for its own connections only (about twice each: the
/// connection with its request, then its end).
#[test]
fn a_shared_listener_wakes_every_worker_for_each_connection() {
    const WORKERS: usize = 4;
    const CONNECTIONS: usize = 40;
    let most = (CONNECTIONS * 3 / 4) as u64;
    let herd = wakeups(WORKERS, CONNECTIONS, true);
    for worker in &herd {
        assert!(
            worker.woken >= most,
            "shared: a worker woken fewer times than 3/4 of {CONNECTIONS} connections: {herd:?}"
        );
    }
    let own = wakeups(WORKERS, CONNECTIONS, false);
    let woken: u64 = own.iter().map(|worker| worker.woken).sum();
    assert!(
        woken < WORKERS as u64 * most,
        "SO_REUSEPORT: the workers were woken {woken} times in all: {own:?}"
    );
}
