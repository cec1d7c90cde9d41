//! The command line both servers share, the address they bind, and two
//! small helpers of their event loops.

use std::env;
use std::fmt;
use std::io::{self, Write};
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use nix::errno::Errno;

/// The course's port: `python3 xxx.py 7890`.
pub const DEFAULT_PORT: u16 = 7890;

/// `[PORT] [--root DIR] [--idle-timeout SECS]`, as in the course
/// (`python3 xxx.py 7890`, documents under `./html`), plus the idle timeout
/// that a server holding connections open needs.
#[derive(clap::Args, Debug, Clone)]
pub struct SiteOptions {
    /// Port to listen on [default: 7890, or PORT from the environment;
    /// PORT=0 binds any free port]
    pub port: Option<u16>,

    /// Directory the files are served from
    #[arg(long, value_name = "DIR", default_value = "./html")]
    pub root: PathBuf,

    /// Close a connection that has sent and received nothing for this long
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    pub idle_timeout: Duration,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| *seconds > 0.0)
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| format!("{text:?} is not a number of seconds above 0"))
}

/// The address to bind: every interface ([`common::HOST`]), on the port
/// from the command line if given, else `PORT` from the environment (as
/// every server of the workspace reads it, so that tests can say `PORT=0`),
/// else `default_port`.
pub fn server_address(port_argument: Option<u16>, default_port: u16) -> Result<SocketAddrV4> {
    match port_argument {
        Some(port) => Ok(SocketAddrV4::new(common::HOST, port)),
        None if env::var_os("PORT").is_some() => common::server_address(),
        None => Ok(SocketAddrV4::new(common::HOST, default_port)),
    }
}

/// Prints one line on stdout, ignoring errors.
///
/// `println!` panics when stdout is gone (a closed pipe: `... | head`), and
/// a server must not die because nobody reads its log. A production server
/// also keeps logging off the event loop: a slow terminal or a full pipe
/// blocks this write, and with it every client.
pub fn print_line(line: fmt::Arguments) {
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_fmt(line);
    let _ = stdout.write_all(b"\n");
}

/// Whether `error` says the process (EMFILE) or the system (ENFILE) has no
/// file descriptor left: `accept` and `open` fail this way under
/// `ulimit -n`.
pub fn is_out_of_descriptors(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error().map(Errno::from_raw),
        Some(Errno::EMFILE | Errno::ENFILE)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_timeouts_are_positive_seconds() {
        assert_eq!(parse_seconds("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("soon").is_err());
        assert!(parse_seconds("inf").is_err());
    }

    #[test]
    fn recognizes_running_out_of_descriptors() {
        assert!(is_out_of_descriptors(&io::Error::from_raw_os_error(
            Errno::EMFILE as i32
        )));
        assert!(!is_out_of_descriptors(&io::Error::from_raw_os_error(
            Errno::ENOENT as i32
        )));
    }
}
