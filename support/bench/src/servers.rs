//! The servers measured: which they are, how each is started, how bench
//! knows it is serving and on which port, which process is measured.
//!
//! The course's servers are the `bench` entries of stages.toml (one per
//! variant); only webserver3g.py and nginx, which are not the course's,
//! are described here. They are started with `PORT=0` (the kernel picks a
//! free port) and print `Serving HTTP on port N ...` when they listen.
//! nginx gets a configuration written for it in the run's temporary
//! directory, listening on 127.0.0.1 only. Every server runs in a process
//! group of its own ([`testkit::run::Running`]), killed when dropped.

use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::ChildStdout;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::builder::PossibleValue;
use clap::ValueEnum;
use common::manifest::{manifest, Bench, Stage, Variant};
use testkit::parse_banner;
use testkit::procs::children_named;
use testkit::run::{self, within, Limits, Output};

use crate::setup::{command, Setup, GRACE};

/// The servers the workloads and targets name.
pub const WEBSERVER3G: &str = "webserver3g";
pub const PYTHON: &str = "webserver3g.py";
pub const NONBLOCK: &str = "nonblock_server";
pub const EPOLL_EDGE: &str = "epoll_server-edge";
pub const EPOLL_LEVEL: &str = "epoll_server-level";
pub const NGINX: &str = "nginx";

/// One server of the comparison.
#[derive(Clone, Copy, Debug)]
pub enum Server {
    /// A variant of a stage of the course, as its `bench` entry says.
    Course(&'static Stage, &'static Variant),
    /// The article's webserver3g in Python, webserver3g's baseline.
    Python,
    /// nginx, one worker: the reference.
    Nginx,
}

impl PartialEq for Server {
    fn eq(&self, other: &Server) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Server {}

impl ValueEnum for Server {
    fn value_variants<'a>() -> &'a [Server] {
        Server::all()
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()).help(self.description()))
    }
}

impl Server {
    /// Every server, in the table's order: the course's in the order of
    /// stages.toml, webserver3g.py after webserver3g, nginx last.
    pub fn all() -> &'static [Server] {
        static ALL: OnceLock<Vec<Server>> = OnceLock::new();
        ALL.get_or_init(|| {
            let mut all = Vec::new();
            for stage in &manifest().stage {
                for variant in stage.bench.iter().flat_map(|bench| &bench.variants) {
                    all.push(Server::Course(stage, variant));
                    if variant.name == WEBSERVER3G {
                        all.push(Server::Python);
                    }
                }
            }
            all.push(Server::Nginx);
            all
        })
    }

    /// The crates of the course's servers, each once.
    pub fn crates() -> Vec<&'static str> {
        let stages = manifest()
            .stage
            .iter()
            .filter(|stage| stage.bench.is_some());
        stages.map(|stage| stage.crate_name.as_str()).collect()
    }

    pub fn name(self) -> &'static str {
        match self {
            Server::Course(_, variant) => &variant.name,
            Server::Python => PYTHON,
            Server::Nginx => NGINX,
        }
    }

    pub fn from_name(name: &str) -> Option<Server> {
        Server::all()
            .iter()
            .copied()
            .find(|server| server.name() == name)
    }

    /// What `--help` says of it.
    fn description(self) -> String {
        match self {
            Server::Course(stage, variant) if variant.args.is_empty() => stage.description.clone(),
            Server::Course(stage, variant) => {
                format!("{} ({})", stage.description, variant.args.join(" "))
            }
            Server::Python => "the article's webserver3g in Python, webserver3g's baseline".into(),
            Server::Nginx => "nginx, one worker: the reference".into(),
        }
    }

    fn bench(stage: &Stage) -> &Bench {
        stage
            .bench
            .as_ref()
            .expect("a server's stage has a bench entry")
    }

    /// The path asked for on the connection-per-request workload: the Part
    /// 3 stages answer any path with their greeting, the others serve the
    /// 15-byte file with the same greeting.
    pub fn hello_path(self) -> &'static str {
        match self {
            Server::Course(stage, _) => &Server::bench(stage).path,
            Server::Python => "/hello",
            Server::Nginx => "/hello.txt",
        }
    }

    /// Whether it serves the document root (and so has files to keep-alive
    /// on): the Part 3 stages answer with a greeting and close.
    pub fn serves_files(self) -> bool {
        match self {
            Server::Course(stage, _) => Server::bench(stage).site,
            Server::Python => false,
            Server::Nginx => true,
        }
    }

    /// Whether it forks a process per connection: its user time is spread
    /// over thousands of short children, so it is profiled with strace only.
    pub fn forks(self) -> bool {
        match self {
            Server::Course(stage, _) => Server::bench(stage).forks,
            Server::Python => true,
            Server::Nginx => false,
        }
    }

    /// The command line of a course server (or webserver3g.py), without
    /// pinning; empty for nginx, which is started from its configuration
    /// by `start_nginx`.
    pub fn argv(self, setup: &Setup) -> Vec<OsString> {
        match self {
            Server::Course(stage, variant) => {
                let mut argv = vec![setup.release.join(&stage.crate_name).into()];
                if Server::bench(stage).site {
                    argv.extend(["--root".into(), setup.site.clone().into()]);
                }
                argv.extend(variant.args.iter().map(OsString::from));
                argv
            }
            Server::Python => vec![
                "python3".into(),
                setup.workspace.join("support/bench/webserver3g.py").into(),
            ],
            Server::Nginx => Vec::new(),
        }
    }
}

/// A server that is serving.
pub struct Running {
    /// The server itself (nginx: its master), its group killed when dropped.
    pub process: run::Running,
    /// The port it listens on.
    pub port: u16,
    /// The process whose CPU and memory count: nginx's worker, else the
    /// server itself.
    pub measured_pid: i32,
}

impl Running {
    /// SIGTERM to its group (nginx's master stops its worker), SIGKILL if
    /// that is not enough.
    pub fn stop(mut self) {
        if !self.process.stop(GRACE) {
            eprintln!(
                "bench: {} ignored SIGTERM; killed it",
                self.process.program()
            );
        }
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
    if server == Server::Nginx {
        return start_nginx(setup, wrapper, limit);
    }
    let mut command = command(&[wrapper.to_vec(), server.argv(setup)].concat());
    command
        .env("PORT", "0")
        // Stages b and c sleep for SLEEP_SECS; none measured here should.
        .env_remove("SLEEP_SECS")
        .current_dir(&setup.work);
    let mut process = run::Running::start(command, Output::StdoutHeld, Limits::default())?;
    let banner = banner_port(process.take_stdout().context("no stdout")?);
    let port = within(limit, || match banner.try_recv() {
        Ok(port) => Some(Some(port)),
        Err(TryRecvError::Disconnected) => Some(None),
        Err(TryRecvError::Empty) => None,
    });
    let said = || head(&process.stderr());
    match port {
        Some(Some(port)) => Ok(Running {
            measured_pid: process.pid(),
            process,
            port,
        }),
        Some(None) => bail!("{} exited at start: {}", server.name(), said()),
        None => bail!(
            "{} did not start within {limit:?}: {}",
            server.name(),
            said()
        ),
    }
}

/// Reads a server's stdout in a thread of its own: sends the port of its
/// banner (`Serving HTTP on port N ...`), then reads the rest (a line per request, hundreds of megabytes
/// over a run) and drops it. The channel closes without a port if stdout
/// ends first.
fn banner_port(stdout: ChildStdout) -> Receiver<u16> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(1..)) {
            if let Some(port) = parse_banner(String::from_utf8_lossy(&line).trim_end()) {
                let _ = sender.send(port);
                break;
            }
            line.clear();
        }
        drop(sender);
        let _ = io::copy(&mut reader, &mut io::sink());
    });
    receiver
}

/// The first 500 characters of a log, on one line, for an error message.
fn head(text: &str) -> String {
    text.chars()
        .take(500)
        .collect::<String>()
        .replace('\n', " | ")
}

fn start_nginx(setup: &Setup, wrapper: &[OsString], limit: Duration) -> Result<Running> {
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
    let mut process = run::Running::start(command(&argv), Output::Merged, Limits::default())?;
    // Serving, and its worker is up: the worker is what is measured.
    let worker = within(limit, || {
        if process.try_status().is_some() {
            return Some(None);
        }
        let workers = answers_200(port, "/hello.txt").then(|| children_named(process.pid()))?;
        let (worker, _) = workers.into_iter().find(|(_, name)| name == "nginx")?;
        Some(Some(worker))
    });
    match worker {
        Some(Some(measured_pid)) => Ok(Running {
            process,
            port,
            measured_pid,
        }),
        Some(None) => bail!("nginx exited at start: {}", head(&process.output())),
        None => bail!("nginx did not start within {limit:?}"),
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
        assert_eq!(parse_banner("Serving HTTP on port 40321 ..."), Some(40321));
        assert_eq!(parse_banner("Serving HTTP on port 40321"), None);
        assert_eq!(
            parse_banner("==12== Callgrind, a call-graph generating cache profiler"),
            None
        );
        assert_eq!(parse_banner("Serving HTTP on port 99999 ..."), None);
    }

    #[test]
    fn nginx_listens_on_loopback_with_one_worker_and_writes_only_in_the_run_directory() {
        let config = nginx_config(
            8123,
            Path::new("/srv/bench.1"),
            Path::new("/srv/bench.1/html"),
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
        assert!(config.contains("root /srv/bench.1/html;"));
        // Every path nginx writes to is inside the run's directory.
        for line in config.lines() {
            if let Some(path) = line
                .split_whitespace()
                .nth(1)
                .filter(|word| word.starts_with('/'))
            {
                assert!(path.starts_with("/srv/bench.1/"), "{line}");
            }
        }
        // Balanced braces: nginx refuses the file otherwise.
        assert_eq!(config.matches('{').count(), config.matches('}').count());
    }

    #[test]
    fn names_round_trip_and_match_the_command_line() {
        for &server in Server::all() {
            assert_eq!(Server::from_name(server.name()), Some(server));
            let value = server.to_possible_value().unwrap();
            assert_eq!(value.get_name(), server.name());
        }
    }

    #[test]
    fn the_servers_are_stages_toml_s_and_the_two_that_are_not_the_course_s() {
        let names: Vec<&str> = Server::all().iter().map(|server| server.name()).collect();
        assert_eq!(
            names,
            [
                "webserver3a",
                WEBSERVER3G,
                PYTHON,
                NONBLOCK,
                EPOLL_EDGE,
                EPOLL_LEVEL,
                "prefork_server-2",
                NGINX
            ]
        );
        assert_eq!(
            Server::crates(),
            [
                "webserver3a",
                "webserver3g",
                "nonblock_server",
                "epoll_server",
                "prefork_server"
            ]
        );
    }

    #[test]
    fn how_each_server_is_run_comes_from_its_stage() {
        let setup = Setup {
            workspace: "ws".into(),
            release: "rel".into(),
            work: "work".into(),
            site: "site".into(),
            pin_server: Vec::new(),
            pin_load: Vec::new(),
            open_files: 1024,
            nginx: None,
        };
        let argv = |name| Server::from_name(name).unwrap().argv(&setup);
        assert_eq!(argv("webserver3a"), ["rel/webserver3a"]);
        assert_eq!(
            argv(EPOLL_LEVEL),
            ["rel/epoll_server", "--root", "site", "--trigger", "level"]
        );
        assert_eq!(argv(NONBLOCK), ["rel/nonblock_server", "--root", "site"]);
        assert_eq!(argv(PYTHON), ["python3", "ws/support/bench/webserver3g.py"]);
        let server = |name| Server::from_name(name).unwrap();
        assert_eq!(server(PYTHON).hello_path(), "/hello");
        assert_eq!(server(WEBSERVER3G).hello_path(), "/hello");
        assert_eq!(server(NGINX).hello_path(), "/hello.txt");
        assert_eq!(server(EPOLL_LEVEL).hello_path(), "/hello.txt");
        assert!(server(WEBSERVER3G).forks() && server(PYTHON).forks());
        assert!(!server(EPOLL_EDGE).forks());
        assert!(server(NONBLOCK).serves_files() && !server(WEBSERVER3G).serves_files());
    }
}
