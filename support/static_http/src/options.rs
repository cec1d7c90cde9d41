//! The command line both servers share, and the address they bind.

use std::env;
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::deadline::Timeouts;

/// The course's port: `python3 xxx.py 7890`.
pub const DEFAULT_PORT: u16 = 7890;

/// `[PORT] [--root DIR] [--idle-timeout SECS] [--header-timeout SECS]
/// [--quiet]`, as in the course (`python3 xxx.py 7890`, documents under
/// `./html`), plus the two deadlines that a server holding connections open
/// needs (see [`crate::deadline`]), and a way to silence the log (see
/// [`crate::log`]).
#[derive(clap::Args, Debug, Clone)]
pub struct SiteOptions {
    /// Port to listen on [default: 7890, or PORT from the environment;
    /// PORT=0 binds any free port]
    pub port: Option<u16>,

    /// Directory the files are served from (relative to where the server starts)
    #[arg(long, value_name = "DIR", default_value = "./html")]
    pub root: PathBuf,

    /// Close a connection that has sent and received nothing for this long
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    pub idle_timeout: Duration,

    /// Close a connection whose request head has not arrived whole this
    /// long after the connection was accepted, or after its first byte
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    pub header_timeout: Duration,

    /// Print no line per client or request (only the start and problems)
    #[arg(long)]
    pub quiet: bool,
}

impl SiteOptions {
    /// `--header-timeout` and `--idle-timeout`.
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            header: self.header_timeout,
            idle: self.idle_timeout,
        }
    }
}

/// The shortest `--idle-timeout` and `--header-timeout`, in seconds: a
/// client on the same machine sends a request head well within it, and
/// `1e-9` would close every connection at once.
pub const SHORTEST_TIMEOUT: f64 = 0.1;

/// The longest, a day: far beyond any use, and far from the overflow of
/// `Instant + Duration` that `1e19` reached at the first client.
pub const LONGEST_TIMEOUT: f64 = 86_400.0;

/// Seconds, from [`SHORTEST_TIMEOUT`] to [`LONGEST_TIMEOUT`]. The message
/// is one line: clap prints it after `error: invalid value 'X' for
/// '--idle-timeout <SECS>': `.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| (SHORTEST_TIMEOUT..=LONGEST_TIMEOUT).contains(seconds))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            format!("not a number of seconds from {SHORTEST_TIMEOUT} to {LONGEST_TIMEOUT}")
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_seconds_from_a_tenth_to_a_day() {
        assert_eq!(parse_seconds("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_seconds("0.1"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_seconds("86400"), Ok(Duration::from_secs(86_400)));
        for bad in [
            "0", "-1", "soon", "inf", "NaN", "1e19", "1e-9", "0.09", "86401",
        ] {
            assert_eq!(
                parse_seconds(bad),
                Err("not a number of seconds from 0.1 to 86400".to_owned()),
                "{bad}"
            );
        }
    }
}
