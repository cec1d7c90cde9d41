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
}
