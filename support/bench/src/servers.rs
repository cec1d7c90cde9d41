//! The servers measured: how each is started, how bench knows it is
//! serving and on which port, which process is measured, how it is stopped.
//!
//! The course's servers are started with `PORT=0` (the kernel picks a free
//! port) and print `Serving HTTP on port N ...` when they listen. nginx gets
//! a configuration written for it in the run's temporary directory,
//! listening on 127.0.0.1 only. Every server is a [`Guarded`] child: stopped
//! by its PID when dropped.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::measure;
use crate::process::{command, Guarded, POLL};
use crate::setup::Setup;

/// One server of the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Server {
    /// Part 3a: iterative, one client at a time.
    #[value(name = "webserver3a")]
    Webserver3a,
    /// Part 3g: a process per connection.
    #[value(name = "webserver3g")]
    Webserver3g,
    /// The article's webserver3g in Python, webserver3g's baseline.
    #[value(name = "webserver3g.py")]
    Webserver3gPy,
    /// One process, non-blocking sockets polled in a loop.
    #[value(name = "nonblock_server")]
    Nonblock,
    /// One process on epoll, edge-triggered.
    #[value(name = "epoll_server-edge")]
    EpollEdge,
    /// One process on epoll, level-triggered.
    #[value(name = "epoll_server-level")]
    EpollLevel,
    /// nginx, one worker: the reference.
    #[value(name = "nginx")]
    Nginx,
}

impl Server {
    pub const ALL: [Server; 7] = [
        Server::Webserver3a,
        Server::Webserver3g,
        Server::Webserver3gPy,
        Server::Nonblock,
        Server::EpollEdge,
        Server::EpollLevel,
        Server::Nginx,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Server::Webserver3a => "webserver3a",
            Server::Webserver3g => "webserver3g",
            Server::Webserver3gPy => "webserver3g.py",
            Server::Nonblock => "nonblock_server",
            Server::EpollEdge => "epoll_server-edge",
            Server::EpollLevel => "epoll_server-level",
            Server::Nginx => "nginx",
        }
    }

    pub fn from_name(name: &str) -> Option<Server> {
        Server::ALL.into_iter().find(|server| server.name() == name)
    }

    /// The path asked for on the connection-per-request workload: the Part
    /// 3 stages answer any path with their greeting, the others serve the
    /// 15-byte file with the same greeting.
    pub fn hello_path(self) -> &'static str {
        match self {
            Server::Webserver3a | Server::Webserver3g | Server::Webserver3gPy => "/hello",
            _ => "/hello.txt",
        }
    }

    /// Whether it forks a process per connection: its user time is spread
    /// over thousands of short children, so it is profiled with strace only.
    pub fn forks(self) -> bool {
        matches!(self, Server::Webserver3g | Server::Webserver3gPy)
    }

    /// The command line of a course server, without pinning (empty for
    /// nginx, which is started from its configuration by `start_nginx`).
    pub fn argv(self, setup: &Setup) -> Vec<OsString> {
        let binary = |name: &str| OsString::from(setup.release.join(name));
        let site_options = |trigger: Option<&str>| {
            let mut options: Vec<OsString> = vec!["--root".into(), setup.site.clone().into()];
            if let Some(trigger) = trigger {
                options.extend(["--trigger".into(), trigger.into()]);
            }
            options
        };
        match self {
            Server::Webserver3a => vec![binary("webserver3a")],
            Server::Webserver3g => vec![binary("webserver3g")],
            Server::Webserver3gPy => vec![
                "python3".into(),
                setup.workspace.join("support/bench/webserver3g.py").into(),
            ],
            Server::Nonblock => [vec![binary("nonblock_server")], site_options(None)].concat(),
            Server::EpollEdge => {
                [vec![binary("epoll_server")], site_options(Some("edge"))].concat()
            }
            Server::EpollLevel => {
                [vec![binary("epoll_server")], site_options(Some("level"))].concat()
            }
            Server::Nginx => Vec::new(),
        }
    }
}

/// A server that is serving.
pub struct Running {
    /// The server itself (nginx: its master), stopped when dropped.
    pub process: Guarded,
    /// The port it listens on.
    pub port: u16,
    /// The process whose CPU and memory count: nginx's worker, else the
    /// server itself.
    pub measured_pid: u32,
    /// Where its standard output and error go.
    pub log: PathBuf,
}

impl Running {
    /// Stops it and deletes its log (the course's servers print a line per
    /// request: a few runs make hundreds of megabytes).
    pub fn stop(mut self) {
        self.process.stop();
        if self.measured_pid != self.process.pid() {
            stop_orphan_worker(self.measured_pid);
        }
        let _ = fs::remove_file(&self.log);
    }
}

/// How long a server may take to start serving (valgrind makes it slow).
pub const START_LIMIT: Duration = Duration::from_secs(10);

/// Starts `server`, with `wrapper` in front of its command line (pinning,
/// a tracer), and waits until it serves.
pub fn start(
    server: Server,
    setup: &Setup,
    wrapper: &[OsString],
    limit: Duration,
) -> Result<Running> {
    let log = setup.work.join(format!("{}.log", server.name()));
    let output = File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    if server == Server::Nginx {
        return start_nginx(setup, wrapper, log, output, limit);
    }
    let argv = [wrapper.to_vec(), server.argv(setup)].concat();
    let mut command = command(&argv);
    command
        .env("PORT", "0")
        // Stages b and c sleep for SLEEP_SECS; none measured here should.
        .env_remove("SLEEP_SECS")
        .current_dir(&setup.work)
        .stdout(output.try_clone()?)
        .stderr(output);
    let mut process = Guarded::spawn(command, server.name())?;
    let deadline = Instant::now() + limit;
    loop {
        // The banner may follow a tracer's own lines (valgrind's).
        let text = fs::read(&log).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        if let Some(port) = text.lines().find_map(port_of_banner) {
            let measured_pid = process.pid();
            return Ok(Running {
                process,
                port,
                measured_pid,
                log,
            });
        }
        if process.has_exited() {
            bail!("{} exited at start: {}", server.name(), head(&text));
        }
        if Instant::now() > deadline {
            bail!(
                "{} did not start within {limit:?}: {}",
                server.name(),
                head(&text)
            );
        }
        thread::sleep(POLL);
    }
}

/// The port in a course server's banner, `Serving HTTP on port N ...`.
pub fn port_of_banner(line: &str) -> Option<u16> {
    line.strip_prefix("Serving HTTP on port ")?
        .strip_suffix(" ...")?
        .parse()
        .ok()
}

/// The first 500 characters of a log, on one line, for an error message.
fn head(text: &str) -> String {
    text.chars()
        .take(500)
        .collect::<String>()
        .replace('\n', " | ")
}

fn start_nginx(
    setup: &Setup,
    wrapper: &[OsString],
    log: PathBuf,
    output: File,
    limit: Duration,
) -> Result<Running> {
    let nginx = setup.nginx.clone().context("nginx is not installed")?;
    let port = free_port()?;
    let directory = setup.work.join("nginx");
    fs::create_dir_all(&directory)?;
    let config = directory.join("nginx.conf");
    fs::write(
        &config,
        nginx_config(port, &setup.work, &setup.site, setup.open_files),
    )?;
    let mut argv = wrapper.to_vec();
    argv.push(nginx.into());
    // -e: the log of the start itself, before the configuration is read
    // (else nginx tries /var/log/nginx/error.log).
    argv.extend(["-e".into(), directory.join("startup.log").into()]);
    argv.extend(["-c".into(), config.into()]);
    let mut command = command(&argv);
    command.stdout(output.try_clone()?).stderr(output);
    let mut process = Guarded::spawn(command, "nginx")?;
    let deadline = Instant::now() + limit;
    loop {
        // Serving, and its worker is up: the worker is what is measured.
        if answers_200(port, "/hello.txt") {
            let workers = measure::children_of(process.pid());
            if let Some(&(worker, _)) = workers.iter().find(|(_, name)| name == "nginx") {
                return Ok(Running {
                    process,
                    port,
                    measured_pid: worker,
                    log,
                });
            }
        }
        if process.has_exited() {
            let said = fs::read_to_string(&log).unwrap_or_default();
            bail!("nginx exited at start: {}", head(&said));
        }
        if Instant::now() > deadline {
            bail!("nginx did not start within {limit:?}");
        }
        thread::sleep(POLL);
    }
}

/// nginx stops its worker when its master gets SIGTERM. If the master had
/// to be killed instead, its worker would be left serving: stop it too,
/// if it is still an nginx process.
fn stop_orphan_worker(pid: u32) {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    if measure::parse_stat_parent(&stat).is_some_and(|(name, _)| name == "nginx") {
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
    }
}

/// A port free on 127.0.0.1 now (nginx, unlike the course's servers, cannot
/// be told to pick one and say which).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("no free port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether a GET of `path` on 127.0.0.1:`port` answers 200.
fn answers_200(port: u16, path: &str) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    let mut answer = [0; 12];
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer[..] == b"HTTP/1.1 200"
}

/// nginx's configuration: one worker, like the single-process servers it
/// is compared with; access_log off, since they write no access log to
/// disk either; sendfile on, as nginx is usually run; 127.0.0.1 only;
/// every file it writes inside `work`.
pub fn nginx_config(port: u16, work: &Path, site: &Path, open_files: u64) -> String {
    let work = work.display();
    let site = site.display();
    format!(
        "# Written by bench for one run; deleted with the run's directory.
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile {open_files};
pid {work}/nginx/nginx.pid;
error_log {work}/nginx/error.log warn;
events {{
    worker_connections 16384;
}}
http {{
    access_log off;
    sendfile on;
    client_body_temp_path {work}/nginx/body;
    proxy_temp_path {work}/nginx/proxy;
    fastcgi_temp_path {work}/nginx/fastcgi;
    uwsgi_temp_path {work}/nginx/uwsgi;
    scgi_temp_path {work}/nginx/scgi;
    types {{
        text/html html;
        text/plain txt;
    }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        root {site};
    }}
}}
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_gives_the_port() {
        assert_eq!(
            port_of_banner("Serving HTTP on port 40321 ..."),
            Some(40321)
        );
        assert_eq!(port_of_banner("Serving HTTP on port 40321"), None);
        assert_eq!(
            port_of_banner("==12== Callgrind, a call-graph generating cache profiler"),
            None
        );
        assert_eq!(port_of_banner("Serving HTTP on port 99999 ..."), None);
    }

    #[test]
    fn nginx_listens_on_loopback_with_one_worker_and_writes_only_in_the_run_directory() {
        let config = nginx_config(
            8123,
            Path::new("/tmp/bench.1"),
            Path::new("/tmp/bench.1/html"),
            524288,
        );
        assert!(
            config.contains("listen 127.0.0.1:8123 backlog=1024;"),
            "{config}"
        );
        assert!(config.contains("worker_processes 1;"));
        assert!(config.contains("worker_rlimit_nofile 524288;"));
        assert!(config.contains("access_log off;"));
        assert!(config.contains("sendfile on;"));
        assert!(config.contains("daemon off;"));
        assert!(config.contains("root /tmp/bench.1/html;"));
        // Every path nginx writes to is inside the run's directory.
        for line in config.lines() {
            if let Some(path) = line
                .split_whitespace()
                .nth(1)
                .filter(|word| word.starts_with('/'))
            {
                assert!(path.starts_with("/tmp/bench.1/"), "{line}");
            }
        }
        // Balanced braces: nginx refuses the file otherwise.
        assert_eq!(config.matches('{').count(), config.matches('}').count());
    }

    #[test]
    fn names_round_trip_and_match_the_command_line() {
        for server in Server::ALL {
            assert_eq!(Server::from_name(server.name()), Some(server));
            let value = server.to_possible_value().unwrap();
            assert_eq!(value.get_name(), server.name());
        }
    }

    #[test]
    fn the_part3_stages_get_any_path_the_static_servers_a_file() {
        assert_eq!(Server::Webserver3gPy.hello_path(), "/hello");
        assert_eq!(Server::Nginx.hello_path(), "/hello.txt");
        assert_eq!(Server::EpollLevel.hello_path(), "/hello.txt");
    }
}
