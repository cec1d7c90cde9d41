//! bench: every server of the course measured beside nginx, on 127.0.0.1
//! only, written as `results.json`, `results.csv` and `results.md`.
//!
//! ```text
//! cargo run --release -p bench                  # the measured run: about 11 minutes on 2 cores
//! cargo run --release -p bench -- --smoke       # seconds: does everything work? (into /tmp)
//! cargo run --release -p bench -- --servers epoll_server-edge,nginx --workloads keep-alive
//! ```
//!
//! In order:
//! 1. checks the tools it needs (wrk, nginx, python3, taskset, strace) and
//!    stops, naming the missing ones and the apt-get command, unless told
//!    to install them (`--install-missing`, which says what it does first);
//! 2. builds the servers and loadgen in release;
//! 3. makes a document root in a temporary directory;
//! 4. for each workload and server (the course's from stages.toml's
//!    `bench` entries, nginx with as many workers as they have): starts
//!    the server fresh (one worker: core 0; several: every core), runs the
//!    load a few times (core 1; or every core, beside a server of several
//!    workers), and keeps the median requests/s, the errors, the CPU time
//!    and peak memory of all the server's processes, the load tool's CPU
//!    time, both per request ([`workloads`], [`servers`], [`setup`],
//!    [`measure`], [`usage`]); on the keep-alive workloads, counts the
//!    system calls per request of a fresh server under strace
//!    ([`syscalls`]);
//! 5. checks the targets and profiles the servers that miss one
//!    ([`targets`], [`profile`]);
//! 6. writes the three files ([`report`]) and prints the markdown.
//!
//! A benchmark is not a test: CI does not run it. `cargo test -p bench`
//! tests how it reads the tools and writes its files, without running a
//! server.

mod conditions;
mod install;
mod measure;
mod profile;
mod report;
mod servers;
mod setup;
mod syscalls;
mod targets;
mod usage;
mod workloads;

use std::fs;
use std::path::PathBuf;
use std::thread;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};

use report::Results;
use servers::Server;
use setup::Setup;
use testkit::tools;
use workloads::{Kind, Load, Settings};

#[derive(Parser)]
#[command(
    version,
    about = "Measures every server of the course beside nginx, on 127.0.0.1, and writes results.json, results.csv and results.md."
)]
struct Cli {
    /// Servers to measure, comma-separated [default: all]
    #[arg(long, value_enum, value_delimiter = ',')]
    servers: Vec<Server>,

    /// Workloads to run, comma-separated [default: all]
    #[arg(long, value_enum, value_delimiter = ',')]
    workloads: Vec<Kind>,

    /// Seconds per run of the close and keep-alive workloads [default: 5, or 1 with --smoke]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=600))]
    seconds: Option<u64>,

    /// Runs per row, against the same fresh server; the median is kept [default: 3, or 1 with --smoke]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=99))]
    runs: Option<u64>,

    /// Directory to write results.json, results.csv and results.md to
    /// [default: support/bench, or a new temporary directory with --smoke]
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,

    /// A run of seconds to see that everything works: 1 s, 1 run, C10K with
    /// 1,000 connections only; not a measurement
    #[arg(long)]
    smoke: bool,

    /// Install missing tools with apt-get (as root), saying what it does
    /// first; without it, bench only says what is missing
    #[arg(long)]
    install_missing: bool,

    /// Run no tracer: no system calls per request (strace), no profile of
    /// the servers that miss a target (strace, callgrind)
    #[arg(long)]
    no_profiles: bool,

    /// Do not build; run the release binaries already built
    #[arg(long)]
    no_build: bool,

    /// Measure nothing: write results.md and results.csv again from a
    /// results.json (into --output, or beside it)
    #[arg(long, value_name = "RESULTS_JSON", conflicts_with_all = ["servers", "workloads", "seconds", "runs", "smoke", "install_missing", "no_profiles", "no_build"])]
    render: Option<PathBuf>,
}

fn main() {
    if let Err(err) = run(Cli::parse()) {
        eprintln!("bench: {err:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    if let Some(json) = &cli.render {
        let results = report::read_json(json)?;
        let directory = match &cli.output {
            Some(directory) => directory.clone(),
            None => json.parent().context("no directory")?.to_owned(),
        };
        return write(&results, &directory);
    }

    let mut settings = if cli.smoke {
        Settings::smoke()
    } else {
        Settings::full()
    };
    if let Some(seconds) = cli.seconds {
        settings.seconds = seconds;
    }
    if let Some(runs) = cli.runs {
        settings.runs = runs as usize;
    }
    // In the table's order, whatever the order asked for.
    let chosen_servers: Vec<Server> = Server::all()
        .iter()
        .copied()
        .filter(|server| cli.servers.is_empty() || cli.servers.contains(server))
        .collect();
    let chosen_kinds = if cli.workloads.is_empty() {
        Kind::value_variants().to_vec()
    } else {
        cli.workloads.clone()
    };
    let plan = workloads::plan(&settings, &chosen_kinds, &chosen_servers);
    if plan.is_empty() {
        bail!("no workload runs any of the chosen servers (see --help for which runs which)");
    }

    // bench's children run in process groups of their own, which a Ctrl-C
    // at the terminal does not reach: bench stops them itself, and removes
    // the run's directory.
    let work = setup::work_directory("bench.")?;
    let work_path = work.path().to_owned();
    testkit::run::stop_everything_on_interrupt("bench", move || {
        let _ = fs::remove_dir_all(work_path);
    });

    // 1. Tools.
    let cores = thread::available_parallelism().map_or(1, |cores| cores.get());
    let in_plan = |wanted: &dyn Fn(Server) -> bool| {
        plan.iter()
            .any(|workload| workload.servers.iter().any(|&server| wanted(server)))
    };
    let nginx_in_plan = in_plan(&|server| matches!(server, Server::Nginx(_)));
    let python_in_plan = in_plan(&|server| server == Server::Python);
    let uses_wrk = plan
        .iter()
        .any(|workload| matches!(workload.load, Load::KeepAlive { .. }));
    let needed: Vec<tools::Tool> = [
        (tools::WRK, uses_wrk),
        (tools::NGINX, nginx_in_plan),
        (tools::PYTHON3, python_in_plan),
        (tools::TASKSET, cores >= 2),
        (tools::STRACE, !cli.no_profiles),
    ]
    .into_iter()
    .filter_map(|(tool, wanted)| wanted.then_some(tool))
    .collect();
    install::ensure(&needed, cli.install_missing)?;

    // 2. Build.
    let (workspace, release) = setup::locate()?;
    if !cli.no_build {
        setup::build(&workspace, &release, &Server::crates())?;
    }

    // 3. The run's directory, its document root, the machine's limits.
    // Every child inherits it: 10,000 connections need 10,000 descriptors
    // on each side.
    let open_files = testkit::raise_open_file_limit();
    let site = work.path().join("html");
    setup::create_site(&site)?;
    let setup = Setup {
        workspace: workspace.clone(),
        release,
        work: work.path().to_owned(),
        site,
        cores,
        open_files,
        nginx: nginx_in_plan
            .then(|| tools::find(tools::NGINX.command))
            .flatten(),
    };
    let load_before = conditions::load_average();
    eprintln!(
        "bench: load average now {load_before} (other work on these cores skews every figure)"
    );

    // 4. The rows.
    let mut rows = Vec::new();
    for workload in &plan {
        eprintln!("bench: {}", workload.label);
        for &server in &workload.servers {
            let row = measure::row(workload, server, &setup, settings.runs, !cli.no_profiles)?;
            let rate = if row.rate_is_meaningful {
                format!("{:.0} requests/s", row.requests_per_s)
            } else {
                "idle".to_owned()
            };
            let calls = row.system_calls.as_ref().map_or(String::new(), |calls| {
                format!(", system calls/request {}", calls.summary(3))
            });
            eprintln!(
                "bench:   {:<20} {rate:>17}, {} errors, {:.1} MiB, {:.2} CPU s (load tool {:.2}){calls}",
                server.name(),
                row.errors,
                row.peak_rss_kib as f64 / 1024.0,
                row.cpu.total(),
                row.load_cpu.unwrap_or_default().total(),
            );
            rows.push(row);
        }
    }
    measure::compare_with_nginx(&mut rows);
    let load_after = conditions::load_average();

    // The servers that shared the cores with their load, for the conditions.
    let mut shared: Vec<(&str, u32)> = Vec::new();
    for server in plan.iter().flat_map(|workload| &workload.servers) {
        let entry = (server.name(), server.workers());
        if setup.placement(server.workers()).shared && cores >= 2 && !shared.contains(&entry) {
            shared.push(entry);
        }
    }

    // 5. Targets and profiles.
    let targets = targets::evaluate(&rows);
    let to_profile = targets::servers_to_profile(&targets, Server::all());
    let profiles = if cli.no_profiles {
        Vec::new()
    } else {
        profile::profiles(&to_profile, &setup, settings.seconds)
    };

    // 6. The files.
    let note = if cli.smoke {
        Some(format!(
            "smoke run ({} s, {} run): it shows that everything works; it measures nothing",
            settings.seconds, settings.runs
        ))
    } else {
        None
    };
    let results = Results {
        conditions: conditions::Conditions {
            date: conditions::utc_date(SystemTime::now()),
            machine: conditions::machine(cores),
            load_average_before: load_before,
            load_average_after: load_after,
            tools: conditions::tool_versions(
                &setup,
                uses_wrk,
                python_in_plan,
                !profiles.is_empty() || rows.iter().any(|row| row.system_calls.is_some()),
            ),
            method: conditions::method(&settings, !setup.placement(1).shared),
            how_measured: conditions::how_measured(
                &shared,
                cores,
                rows.iter().any(|row| row.system_calls.is_some()),
                nginx_in_plan,
            ),
            note,
        },
        rows,
        targets,
        profiles,
    };
    let directory = match (&cli.output, cli.smoke) {
        (Some(directory), _) => directory.clone(),
        // A smoke run never replaces the measured results.
        (None, true) => setup::work_directory("bench-smoke.")?.keep(),
        (None, false) => workspace.join("support/bench"),
    };
    write(&results, &directory)
}

/// Writes the three files and prints the markdown.
fn write(results: &Results, directory: &std::path::Path) -> Result<()> {
    report::write_all(results, directory)?;
    let markdown = fs::read_to_string(directory.join("results.md"))?;
    println!("{markdown}");
    eprintln!(
        "bench: wrote results.json, results.csv and results.md in {}",
        directory.display()
    );
    if directory.ends_with("support/bench") {
        eprintln!(
            "bench: the performance chapter's charts are drawn from this results.json: redraw them with `cargo run -p book --features draw --bin draw-figures`"
        );
    }
    Ok(())
}
