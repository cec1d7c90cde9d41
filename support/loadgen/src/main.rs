//! loadgen: the load of the benchmark (`cargo run -p bench`), for the two
//! workloads wrk cannot do, and a counted keep-alive load for the book.
//!
//! - `loadgen hold`: C10K. Opens N keep-alive connections, sends one request
//!   on each, checks every response (status 200, a `Content-Length`, exactly
//!   that many body bytes), and keeps every answered connection open until
//!   all N are answered. wrk cannot: it keeps every connection busy, while
//!   C10K is about many connections that are mostly idle.
//! - `loadgen close`: one connection per request (`Connection: close`), a
//!   few in flight at a time, for a duration. Each response is read to
//!   end-of-file, as the request asked the server to close: webserver3a to
//!   3g send no `Content-Length`, so end-of-file is the only end their
//!   responses have, and wrk cannot count them. Where there is a
//!   `Content-Length`, the body must match it.
//! - `loadgen keep`: N keep-alive connections, each making M requests one
//!   after the other, the next sent as soon as an answer is in: a count of
//!   keep-alive requests, where wrk runs for a time. The uring_server
//!   chapter divides a server's system calls by it; a load as light on the
//!   CPU as this one keeps the server the slower side, as wrk does, where
//!   32 curls would leave it waiting for them.
//!
//! All three report answered and failed requests, failures by kind, and latency
//! percentiles, one `key: value` per line.
//!
//! Why one thread and epoll, and not a thread per connection: 10,000
//! threads would need 10,000 stacks and would fight the server for the two
//! cores of the benchmark machine; one thread that sleeps in `epoll_wait`
//! costs a few hundred bytes per connection and leaves a core to the
//! server. The same reasoning is the lesson of epoll_server.
//!
//! Every run is bounded in time (`--timeout`): what is not answered by then
//! counts as failed, kind `timeout`. And it only loads this machine: the
//! host must be a loopback address.
//!
//! Try it (with any server of the course on port 8888):
//!
//! ```text
//! cargo run --release -p loadgen -- close --port 8888 --path /hello --duration 2
//! cargo run --release -p loadgen -- hold --port 8888 --path /index.html --connections 10000
//! cargo run --release -p loadgen -- keep --port 8888 --path /index.html --connections 32 --requests 100
//! ```

mod descriptors;
mod load;
mod pool;
mod report;
mod response;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};

use pool::Pool;
use response::Framing;

#[derive(Parser)]
#[command(
    version,
    about = "HTTP load for the benchmarks: C10K (hold) or connection per request (close), on loopback only."
)]
struct Cli {
    #[command(subcommand)]
    workload: Workload,
}

#[derive(Subcommand)]
enum Workload {
    /// Open N keep-alive connections, one request on each; hold every
    /// answered one open until all N are answered.
    Hold(HoldArgs),
    /// One connection per request (Connection: close) for a duration.
    Close(CloseArgs),
    /// N keep-alive connections, each making M requests one after the
    /// other.
    Keep(KeepArgs),
}

#[derive(Args)]
struct Target {
    /// Port of the server.
    #[arg(long)]
    port: u16,
    /// Address of the server; must be a loopback address.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Path to request, e.g. /index.html.
    #[arg(long, default_value = "/")]
    path: String,
}

#[derive(Args)]
struct HoldArgs {
    #[command(flatten)]
    target: Target,
    /// Connections to open (and hold) at once.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Connections between connect and answer at any moment.
    #[arg(long, default_value_t = 256)]
    max_in_flight: usize,
    /// Seconds to keep all connections open after the last answer.
    #[arg(long, default_value = "0", value_parser = parse_seconds)]
    hold: Duration,
    /// Seconds after which every unanswered connection counts as failed.
    #[arg(long, default_value = "30", value_parser = parse_seconds)]
    timeout: Duration,
}

#[derive(Args)]
struct CloseArgs {
    #[command(flatten)]
    target: Target,
    /// Requests in flight at once, each on its own connection. The default
    /// fits webserver3a's listen backlog of 5.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Seconds during which new requests are started.
    #[arg(long, default_value = "5", value_parser = parse_seconds)]
    duration: Duration,
    /// Seconds the requests in flight at the end get to finish.
    #[arg(long, default_value = "10", value_parser = parse_seconds)]
    timeout: Duration,
}

#[derive(Args)]
struct KeepArgs {
    #[command(flatten)]
    target: Target,
    /// Connections, all open at once.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Requests on each connection, one after the other.
    #[arg(long, default_value_t = 100)]
    requests: usize,
    /// Seconds after which every request not yet answered counts as failed.
    #[arg(long, default_value = "30", value_parser = parse_seconds)]
    timeout: Duration,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{text:?} is not a duration"))
}

/// The address to load, refused unless it is on this machine: the tool is
/// for benchmarks on loopback, never for loading someone else's server.
fn loopback_address(target: &Target) -> Result<SocketAddr> {
    if !target.host.is_loopback() {
        bail!(
            "{} is not a loopback address: loadgen only loads servers on this machine",
            target.host
        );
    }
    Ok(SocketAddr::new(target.host, target.port))
}

/// The request line and headers, as curl would send them. The path must
/// be one token: a space or line break in it would make a different request.
fn request(target: &Target, connection_close: bool) -> Result<Vec<u8>> {
    let path = &target.path;
    if !path.starts_with('/') || path.bytes().any(|byte| byte.is_ascii_whitespace()) {
        bail!("the path must start with / and contain no spaces: {path:?}");
    }
    let mut text = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: loadgen\r\nAccept: */*\r\n",
        loopback_address(target)?
    );
    if connection_close {
        text.push_str("Connection: close\r\n");
    }
    text.push_str("\r\n");
    Ok(text.into_bytes())
}

fn run(cli: Cli) -> Result<()> {
    let mut tally = match cli.workload {
        Workload::Hold(args) => {
            let address = loopback_address(&args.target)?;
            if args.connections == 0 || args.max_in_flight == 0 {
                bail!("--connections and --max-in-flight must be at least 1");
            }
            descriptors::make_room_for(args.connections)?;
            println!(
                "hold: {} keep-alive connections to {address}, GET {}",
                args.connections, args.target.path
            );
            let deadline = Instant::now() + args.timeout;
            let request = request(&args.target, false)?;
            let mut pool = Pool::new(address, request, Framing::ContentLengthRequired)?;
            let (connections, in_flight) = (args.connections, args.max_in_flight);
            load::hold(&mut pool, connections, in_flight, deadline, args.hold)?
        }
        Workload::Close(args) => {
            let address = loopback_address(&args.target)?;
            if args.concurrency == 0 {
                bail!("--concurrency must be at least 1");
            }
            descriptors::make_room_for(args.concurrency)?;
            println!(
                "close: one connection per request to {address}, GET {}, {} at a time for {:?}",
                args.target.path, args.concurrency, args.duration
            );
            let deadline = Instant::now() + args.duration + args.timeout;
            let request = request(&args.target, true)?;
            let mut pool = Pool::new(address, request, Framing::UntilClose)?;
            load::connection_per_request(&mut pool, args.concurrency, args.duration, deadline)?
        }
        Workload::Keep(args) => {
            let address = loopback_address(&args.target)?;
            if args.connections == 0 || args.requests == 0 {
                bail!("--connections and --requests must be at least 1");
            }
            descriptors::make_room_for(args.connections)?;
            println!(
                "keep: {} keep-alive connections to {address}, {} requests each, GET {}",
                args.connections, args.requests, args.target.path
            );
            let deadline = Instant::now() + args.timeout;
            let request = request(&args.target, false)?;
            let mut pool = Pool::new(address, request, Framing::ContentLengthRequired)?;
            load::keep_alive(&mut pool, args.connections, args.requests, deadline)?
        }
    };
    print!("{}", tally.render());
    Ok(())
}

fn main() {
    if let Err(err) = run(Cli::parse()) {
        eprintln!("{}: {err:#}", env!("CARGO_BIN_NAME"));
        std::process::exit(1);
    }
}
