//! The servers measured: which they are, how each is started, how bench
//! knows it is serving and on which port, which process is measured.
//!
//! The course's servers are the `bench` entries of stages.toml (one per
//! variant); only webserver3g.py and nginx, which are not the course's,
//! are described here: nginx with one worker, and with as many workers as
//! each course server of several workers has (`nginx-2` beside
//! `prefork_server-2`). The course's are started with `PORT=0` (the
//! kernel picks a free port) and print `Serving HTTP on port N ...` when
//! they listen. nginx gets a configuration written for it in the run's
//! temporary directory, listening on 127.0.0.1 only. Every server runs in a
//! process group of its own ([`testkit::run::Running`]), killed when
//! dropped, and is measured as its whole process tree ([`crate::usage`]).

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
use common::manifest::{manifest, Bench, Manifest, Stage, Variant};
use testkit::parse_banner;
use testkit::procs::{children_named, process_name};
use testkit::run::{self, within, Limits, Output};

use crate::setup::{command, Setup, GRACE};

/// The servers the workloads and targets name.
pub const WEBSERVER3G: &str = "webserver3g";
pub const PYTHON: &str = "webserver3g.py";
#[cfg(test)]
pub const NONBLOCK: &str = "nonblock_server";
pub const EPOLL_EDGE: &str = "epoll_server-edge";
pub const EPOLL_LEVEL: &str = "epoll_server-level";
pub const NGINX: &str = "nginx";
/// The servers of issue 18 (not in stages.toml until their stages are:
/// the targets naming them are "not measured" until then).
pub const URING: &str = "uring_server";
pub const PREFORK_2: &str = "prefork_server-2";
pub const NGINX_2: &str = "nginx-2";

/// The name of nginx with `workers` worker processes: `nginx`, `nginx-2`.
pub fn nginx_name(workers: u32) -> String {
    match workers {
        0 | 1 => NGINX.to_owned(),
        workers => format!("{NGINX}-{workers}"),
    }
}

/// nginx as one server of the comparison.
#[derive(Debug)]
pub struct Nginx {
    /// `nginx`, or `nginx-N` for N workers.
    pub name: String,
    /// Its `worker_processes`.
    pub workers: u32,
}

/// One server of the comparison.
#[derive(Clone, Copy, Debug)]
pub enum Server {
    /// A variant of a stage of the course, as its `bench` entry says.
    Course(&'static Stage, &'static Variant),
    /// The article's webserver3g in Python, webserver3g's baseline.
    Python,
    /// nginx, the reference: one worker, or as many as a course server.
    Nginx(&'static Nginx),
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
    /// stages.toml, webserver3g.py after webserver3g, then nginx, with one
    /// worker and with as many as each course server of several.
    pub fn all() -> &'static [Server] {
        static ALL: OnceLock<Vec<Server>> = OnceLock::new();
        ALL.get_or_init(|| Server::of(manifest()))
    }

    /// The servers of `manifest`'s `bench` entries, in the table's order.
    pub fn of(manifest: &'static Manifest) -> Vec<Server> {
        let mut all = Vec::new();
        let mut workers = vec![1];
        for stage in &manifest.stage {
            for variant in stage.bench.iter().flat_map(|bench| &bench.variants) {
                all.push(Server::Course(stage, variant));
                if variant.name == WEBSERVER3G {
                    all.push(Server::Python);
                }
                if !workers.contains(&variant.workers) {
                    workers.push(variant.workers);
                }
            }
        }
        workers.sort_unstable();
        for workers in workers {
            // Made once per run of bench: leaked, it lives as long as the
            // manifest it comes from.
            let nginx = Box::leak(Box::new(Nginx {
                name: nginx_name(workers),
                workers,
            }));
            all.push(Server::Nginx(nginx));
        }
        all
    }

    /// nginx with one worker, the reference of the one-worker servers.
    #[cfg(test)]
    pub fn nginx() -> Server {
        Server::from_name(NGINX).expect("nginx is always a server")
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
            Server::Nginx(nginx) => &nginx.name,
        }
    }

    #[cfg(test)]
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
            Server::Nginx(nginx) if nginx.workers == 1 => "nginx, one worker: the reference".into(),
            Server::Nginx(nginx) => format!(
                "nginx, {} workers: the reference of the servers of as many",
                nginx.workers
            ),
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
            Server::Nginx(_) => "/hello.txt",
        }
    }

    /// Whether it serves the document root (and so has files to keep-alive
    /// on): the Part 3 stages answer with a greeting and close.
    pub fn serves_files(self) -> bool {
        match self {
            Server::Course(stage, _) => Server::bench(stage).site,
            Server::Python => false,
            Server::Nginx(_) => true,
        }
    }

    /// Whether it forks a process per connection.
    pub fn forks(self) -> bool {
        match self {
            Server::Course(stage, _) => Server::bench(stage).forks,
            Server::Python => true,
            Server::Nginx(_) => false,
        }
    }

    /// Whether its loop never sleeps: left out of C10K, measured idle.
    pub fn busy_loop(self) -> bool {
        match self {
            Server::Course(stage, _) => Server::bench(stage).busy_loop,
            Server::Python | Server::Nginx(_) => false,
        }
    }

    /// The worker processes it serves with: 1, or prefork_server's and
    /// nginx's N. It decides the core split ([`crate::setup::placement`])
    /// and which nginx it is compared with.
    pub fn workers(self) -> u32 {
        match self {
            Server::Course(_, variant) => variant.workers.max(1),
            Server::Python => 1,
            Server::Nginx(nginx) => nginx.workers,
        }
    }

    /// Whether all its work is done in one process, which callgrind can
    /// follow: not a forking server's thousands of short children, nor
    /// several workers.
    pub fn single_process(self) -> bool {
        !self.forks() && self.workers() == 1
    }

    /// The command line of a course server (or webserver3g.py), without
    /// pinning; empty for nginx, which is started from its configuration
    /// by `start_nginx`. A static server runs `--quiet`: no line per
    /// request, as nginx runs with `access_log off`, so that both are
    /// measured without a log (each line is a `poll` and a `write`).
    pub fn argv(self, setup: &Setup) -> Vec<OsString> {
        match self {
            Server::Course(stage, variant) => {
                let mut argv = vec![setup.release.join(&stage.crate_name).into()];
                if Server::bench(stage).site {
                    argv.extend(["--root".into(), setup.site.clone().into()]);
                    argv.push("--quiet".into());
                }
                argv.extend(variant.args.iter().map(OsString::from));
                argv
            }
            Server::Python => vec![
                "python3".into(),
                setup.workspace.join("support/bench/webserver3g.py").into(),
            ],
            Server::Nginx(_) => Vec::new(),
        }
    }
}

/// A server that is serving.
pub struct Running {
    /// The server itself (nginx: its master), its group killed when
    /// dropped; the root of the process tree whose CPU and memory count.
    pub process: run::Running,
    /// The port it listens on.
    pub port: u16,
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
    if let Server::Nginx(nginx) = server {
        return start_nginx(nginx.workers, setup, wrapper, limit);
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
        Some(Some(port)) => Ok(Running { process, port }),
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

fn start_nginx(
    workers: u32,
    setup: &Setup,
    wrapper: &[OsString],
    limit: Duration,
) -> Result<Running> {
    let nginx = setup.nginx.clone().context("nginx is not installed")?;
    let port = free_port()?;
    let directory = setup.work.join("nginx");
    fs::create_dir_all(&directory)?;
    let config = directory.join("nginx.conf");
    let settings = NginxConfig {
        port,
        workers,
        open_files: setup.open_files,
    };
    fs::write(&config, settings.render(&setup.work, &setup.site))?;
    let mut argv = wrapper.to_vec();
    argv.push(nginx.into());
    // -e: the log of the start itself, before the configuration is read
    // (else nginx tries /var/log/nginx/error.log).
    argv.extend(["-e".into(), directory.join("startup.log").into()]);
    argv.extend(["-c".into(), config.into()]);
    let mut process = run::Running::start(command(&argv), Output::Merged, Limits::default())?;
    // Serving, and every worker is up: a worker still starting would be
    // missed by the first reading of the tree.
    let started = within(limit, || {
        if process.try_status().is_some() {
            return Some(false);
        }
        let up = answers_200(port, "/hello.txt") && nginx_workers(process.pid()) >= workers;
        up.then_some(true)
    });
    match started {
        Some(true) => Ok(Running { process, port }),
        Some(false) => bail!("nginx exited at start: {}", head(&process.output())),
        None => bail!("nginx did not start within {limit:?} with {workers} workers"),
    }
}

/// How many nginx workers run under `root`: the processes named nginx
/// whose parent is named nginx too (the master), wherever the master is in
/// the tree (a tracer may be above it).
fn nginx_workers(root: i32) -> u32 {
    let mut count = 0;
    let mut parents = vec![(root, process_name(root).unwrap_or_default())];
    while let Some((parent, parent_name)) = parents.pop() {
        for (child, name) in children_named(parent) {
            if name == "nginx" && parent_name == "nginx" {
                count += 1;
            }
            parents.push((child, name));
        }
    }
    count
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

/// What nginx's configuration is written from.
pub struct NginxConfig {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    /// `worker_processes`.
    pub workers: u32,
    /// `worker_rlimit_nofile`: the limit every child of bench has.
    pub open_files: u64,
}

impl NginxConfig {
    /// nginx's configuration, as production would run it for static
    /// files:
    /// - `worker_processes` 1 beside the one-process servers, N beside a
    ///   server of N workers; with several, each worker has a listening
    ///   socket of its own (`reuseport`), as prefork_server's workers do;
    /// - `sendfile on; tcp_nopush on;`, as distributions ship it: the
    ///   file's body goes from the page cache, and the head waits to share
    ///   a segment with the body's first bytes (TCP_CORK);
    /// - `open_file_cache`, checked once a second: the course's servers
    ///   keep small files in memory and look at the disk once a second, so
    ///   nginx keeps its descriptors and metadata as long;
    /// - `access_log off`, since the course's servers run `--quiet`;
    /// - 127.0.0.1 only, every file it writes inside `work`.
    pub fn render(&self, work: &Path, site: &Path) -> String {
        let NginxConfig {
            port,
            workers,
            open_files,
        } = self;
        let work = work.display();
        let site = site.display();
        let reuseport = if *workers > 1 { " reuseport" } else { "" };
        format!(
            "# Written by bench for one run; deleted with the run's directory.
daemon off;
master_process on;
worker_processes {workers};
worker_rlimit_nofile {open_files};
pid {work}/nginx/nginx.pid;
error_log {work}/nginx/error.log warn;
events {{
    worker_connections 16384;
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 1s;
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
        listen 127.0.0.1:{port} backlog=1024{reuseport};
        root {site};
    }}
}}
"
        )
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A manifest with the two servers of issue 18 beside epoll_server, as
    /// their entries will read once merged: what the rest of bench is
    /// tested against before they are.
    pub const WITH_ISSUE_18: &str = r#"
[[stage]]
crate = "webserver3g"
description = "a forking server"
original = "part3/webserver3g.py"
chapter = "docs/src/webserver3g.md"
port = 8888
bench = { path = "/hello", forks = true, variants = [{ name = "webserver3g" }] }

[[stage]]
crate = "nonblock_server"
description = "a busy loop"
original = "seed 003"
chapter = "docs/src/nonblock_server.md"
port = 7890
bench = { path = "/hello.txt", site = true, busy_loop = true, variants = [{ name = "nonblock_server" }] }

[[stage]]
crate = "epoll_server"
description = "epoll"
original = "seed 003"
chapter = "docs/src/epoll_server.md"
port = 7890
bench = { path = "/hello.txt", site = true, variants = [
    { name = "epoll_server-edge", args = ["--trigger", "edge"] },
    { name = "epoll_server-level", args = ["--trigger", "level"] },
] }

[[stage]]
crate = "prefork_server"
description = "workers forked once, each with its own SO_REUSEPORT socket"
original = "issue 18"
chapter = "docs/src/prefork_server.md"
port = 7890
bench = { path = "/hello.txt", site = true, variants = [
    { name = "prefork_server-2", args = ["--workers", "2"], workers = 2 },
] }

[[stage]]
crate = "uring_server"
description = "io_uring"
original = "issue 18"
chapter = "docs/src/uring_server.md"
port = 7890
bench = { path = "/hello.txt", site = true, variants = [{ name = "uring_server" }] }
"#;

    /// The servers of [`WITH_ISSUE_18`], in the table's order.
    pub fn with_issue_18() -> Vec<Server> {
        let manifest: Manifest = toml::from_str(WITH_ISSUE_18).unwrap();
        Server::of(Box::leak(Box::new(manifest)))
    }

    /// The server named `name` among `servers`.
    pub fn named(servers: &[Server], name: &str) -> Server {
        *servers
            .iter()
            .find(|server| server.name() == name)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    fn setup() -> Setup {
        Setup {
            workspace: "ws".into(),
            release: "rel".into(),
            work: "work".into(),
            site: "site".into(),
            cores: 2,
            open_files: 1024,
            nginx: None,
        }
    }

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

    fn config(workers: u32) -> String {
        let settings = NginxConfig {
            port: 8123,
            workers,
            open_files: 524288,
        };
        settings.render(Path::new("/srv/bench.1"), Path::new("/srv/bench.1/html"))
    }

    #[test]
    fn nginx_runs_as_production_would_on_loopback_and_writes_only_in_the_run_directory() {
        let config = config(1);
        assert!(
            config.contains("listen 127.0.0.1:8123 backlog=1024;"),
            "{config}"
        );
        assert!(config.contains("worker_processes 1;"));
        assert!(config.contains("worker_rlimit_nofile 524288;"));
        assert!(config.contains("access_log off;"));
        assert!(config.contains("sendfile on;"));
        assert!(config.contains("tcp_nopush on;"), "{config}");
        assert!(config.contains("open_file_cache_valid 1s;"), "{config}");
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
    fn nginx_of_two_workers_gives_each_its_own_listening_socket() {
        let config = config(2);
        assert!(config.contains("worker_processes 2;"), "{config}");
        assert!(
            config.contains("listen 127.0.0.1:8123 backlog=1024 reuseport;"),
            "{config}"
        );
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
                "uring_server",
                NGINX,
                "nginx-2"
            ]
        );
        assert_eq!(
            Server::crates(),
            [
                "webserver3a",
                "webserver3g",
                "nonblock_server",
                "epoll_server",
                "prefork_server",
                "uring_server"
            ]
        );
    }

    #[test]
    fn a_server_of_two_workers_brings_nginx_of_two_workers() {
        let servers = with_issue_18();
        let names: Vec<&str> = servers.iter().map(|server| server.name()).collect();
        assert_eq!(
            names,
            [
                WEBSERVER3G,
                PYTHON,
                NONBLOCK,
                EPOLL_EDGE,
                EPOLL_LEVEL,
                PREFORK_2,
                URING,
                NGINX,
                NGINX_2
            ]
        );
        let prefork = named(&servers, PREFORK_2);
        assert_eq!(prefork.workers(), 2);
        assert_eq!(nginx_name(prefork.workers()), NGINX_2);
        assert!(!prefork.single_process() && !prefork.forks());
        assert_eq!(
            prefork.argv(&setup()),
            [
                "rel/prefork_server",
                "--root",
                "site",
                "--quiet",
                "--workers",
                "2"
            ]
        );
        let nginx_2 = named(&servers, NGINX_2);
        assert_eq!(nginx_2.workers(), 2);
        let uring = named(&servers, URING);
        assert_eq!(nginx_name(uring.workers()), NGINX);
        assert!(uring.single_process());
        assert_eq!(
            uring.argv(&setup()),
            ["rel/uring_server", "--root", "site", "--quiet"]
        );
        assert!(named(&servers, NONBLOCK).busy_loop());
        assert!(!named(&servers, EPOLL_EDGE).busy_loop());
    }

    /// A variant that passes `--workers N` must say `workers = N`: else
    /// bench would pin its N processes to one core and compare it with
    /// one-worker nginx. This fails on a stages.toml entry that forgets it.
    #[test]
    fn a_variant_with_workers_declares_them() {
        let mut manifests = vec![manifest()];
        let with_issue_18: Manifest = toml::from_str(WITH_ISSUE_18).unwrap();
        manifests.push(Box::leak(Box::new(with_issue_18)));
        for manifest in manifests {
            for server in Server::of(manifest) {
                let Server::Course(_, variant) = server else {
                    continue;
                };
                let passed = variant
                    .args
                    .windows(2)
                    .find(|pair| pair[0] == "--workers")
                    .map(|pair| pair[1].parse::<u32>().unwrap_or(0));
                if let Some(passed) = passed {
                    assert_eq!(
                        variant.workers, passed,
                        "stages.toml: the bench variant {} passes --workers {passed}: give it `workers = {passed}`",
                        variant.name
                    );
                }
            }
        }
    }

    #[test]
    fn how_each_server_is_run_comes_from_its_stage() {
        let setup = setup();
        let argv = |name| Server::from_name(name).unwrap().argv(&setup);
        assert_eq!(argv("webserver3a"), ["rel/webserver3a"]);
        assert_eq!(
            argv(EPOLL_LEVEL),
            [
                "rel/epoll_server",
                "--root",
                "site",
                "--quiet",
                "--trigger",
                "level"
            ]
        );
        assert_eq!(
            argv(NONBLOCK),
            ["rel/nonblock_server", "--root", "site", "--quiet"]
        );
        assert_eq!(argv(PYTHON), ["python3", "ws/support/bench/webserver3g.py"]);
        let server = |name| Server::from_name(name).unwrap();
        assert_eq!(server(PYTHON).hello_path(), "/hello");
        assert_eq!(server(WEBSERVER3G).hello_path(), "/hello");
        assert_eq!(server(NGINX).hello_path(), "/hello.txt");
        assert_eq!(server(EPOLL_LEVEL).hello_path(), "/hello.txt");
        assert!(server(WEBSERVER3G).forks() && server(PYTHON).forks());
        assert!(!server(WEBSERVER3G).single_process());
        assert!(!server(EPOLL_EDGE).forks() && server(EPOLL_EDGE).single_process());
        assert!(server(NONBLOCK).serves_files() && !server(WEBSERVER3G).serves_files());
        assert!(server(NONBLOCK).busy_loop());
        assert_eq!(nginx_name(2), NGINX_2);
        assert_eq!(Server::nginx().name(), NGINX);
    }
}
