//! What the lessons share and is *not* the lesson. The socket steps
//! (create, `SO_REUSEADDR`, bind, listen, accept), `fork`, the signal
//! handlers and the closing of descriptors are lessons, so each stage writes
//! them out itself; this crate holds the scenery around them:
//!
//! * how a lesson starts and fails ([`run`]): `--help`, no other arguments,
//!   one-line errors with a hint, exit codes 0, 1 and 2;
//! * printing that never stops a server ([`println!`], [`eprintln!`],
//!   [`SignalSafeLine`]): a line is dropped, not blocked on, when nobody
//!   reads standard output or standard error, be it a pipe or a terminal;
//! * what a client sent, shown in a log with its control characters
//!   escaped, so that it cannot drive the terminal ([`printable`],
//!   [`printable_line`]);
//! * the greeting every Part 3 stage sends ([`HTTP_RESPONSE`]);
//! * the address the stages listen on, `'', 8888` in the Python ([`HOST`],
//!   [`DEFAULT_PORT`], [`server_address`]), and the port the kernel really
//!   bound ([`bound_port`]);
//! * the two environment overrides that tests and classrooms rely on: `PORT`
//!   (with `PORT=0`, the kernel picks a free port) and `SLEEP_SECS`
//!   (shortens a stage's 60 s or 3 s sleep) ([`sleep_duration`]);
//! * the percent-decoding of a request path, which every server that reads
//!   paths does the same way ([`percent_decode`]);
//! * reading an HTTP/1.x request head, with httparse, one way and one limit
//!   for hello_name, webserver2 and the static servers ([`request_head`]);
//! * writing an HTTP date (`Date`, `Last-Modified`) without a panic for any
//!   time a clock or a file system can hold ([`http_date`]).
//!
//! What only one kind of server needs lives in a crate of its own beside
//! this one: `support/static_http` for the two static servers,
//! `support/wsgi_http` for webserver2.

pub mod http_date;
pub mod manifest;
pub mod output;
mod printable;
pub mod request_head;
mod stage;

pub use output::{print_child_status, SignalSafeLine};
pub use printable::{printable, printable_line, printable_line_cut};
pub use stage::{exit_with_error, run};

use std::env;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use socket2::Socket;

/// The Python scripts bind `''`, which means `INADDR_ANY`: every interface.
pub const HOST: Ipv4Addr = Ipv4Addr::UNSPECIFIED;

/// The port of every Part 3 script, `SERVER_ADDRESS = (HOST, PORT) = '', 8888`.
pub const DEFAULT_PORT: u16 = 8888;

/// The response of every Part 3 stage: a status line, a blank line, a body.
///
/// There is no `Content-Length` on purpose. Without it the client can only
/// know the body is over when the server closes the connection and the
/// client reads end-of-file. That is what makes webserver3d's lesson
/// visible: while the parent still holds a copy of the client socket, no FIN
/// is sent, and curl prints the greeting and then hangs.
pub const HTTP_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\r\nHello, World!\r\n";

/// The address to bind: [`HOST`] and the port, `PORT` from the environment
/// if set, else [`DEFAULT_PORT`]. `PORT=0` asks the kernel for a free port;
/// the stage then prints the port it really got.
pub fn server_address() -> Result<SocketAddrV4> {
    let port = match env::var("PORT") {
        Ok(text) => text
            .trim()
            .parse::<u16>()
            .with_context(|| format!("PORT must be a number from 0 to 65535, not {text:?}"))?,
        Err(env::VarError::NotPresent) => DEFAULT_PORT,
        Err(env::VarError::NotUnicode(text)) => {
            bail!("PORT must be a number from 0 to 65535, not {text:?}")
        }
    };
    Ok(SocketAddrV4::new(HOST, port))
}

/// How long a stage sleeps: `SLEEP_SECS` from the environment if set
/// (whole seconds, fractions allowed, e.g. `0.5`), else the stage's own
/// default. The tests use it to keep the suite fast; a learner can use it to
/// shorten the 60 s waits of webserver3b and 3c. [`run`] has already refused
/// a `SLEEP_SECS` that is not a number, so this cannot fail.
pub fn sleep_duration(default_seconds: u64) -> Duration {
    parse_sleep_secs()
        .ok()
        .flatten()
        .unwrap_or(Duration::from_secs(default_seconds))
}

/// Refuses a `SLEEP_SECS` that is not a number of seconds (see [`run`]).
fn check_sleep_secs() -> Result<()> {
    parse_sleep_secs().map(|_| ())
}

/// `SLEEP_SECS` as a duration, `None` when it is not set.
fn parse_sleep_secs() -> Result<Option<Duration>> {
    let complaint = |text: &dyn fmt::Debug| {
        format!("SLEEP_SECS must be a number of seconds, 0 or more, not {text:?}")
    };
    match env::var("SLEEP_SECS") {
        Ok(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
            .map(Some)
            .with_context(|| complaint(&text)),
        Err(env::VarError::NotPresent) => Ok(None),
        Err(env::VarError::NotUnicode(text)) => bail!(complaint(&text)),
    }
}

/// The port the kernel really bound: the one asked for, or a free one
/// picked by the kernel when `PORT=0` (getsockname(2)).
pub fn bound_port(listen_socket: &Socket) -> Result<u16> {
    let address = listen_socket.local_addr().context("getsockname")?;
    let address = address.as_socket().context("not an internet socket")?;
    Ok(address.port())
}

/// Decodes each `%XX` escape (two hex digits, RFC 3986 §2.1) into the byte
/// it stands for, once: `%2541` becomes `%41`, not `A`. A `+` stays a `+`
/// (it means a space only in form data). `None` when a `%` is not followed
/// by two hex digits: an error, not a literal, because guessing what a
/// malformed escape meant is how two programs end up disagreeing about a
/// path.
pub fn percent_decode(encoded: &[u8]) -> Option<Vec<u8>> {
    let mut decoded = Vec::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some((&byte, after)) = rest.split_first() {
        if byte == b'%' {
            let high = hex_digit_value(*after.first()?)?;
            let low = hex_digit_value(*after.get(1)?)?;
            decoded.push(high << 4 | low);
            rest = &after[2..];
        } else {
            decoded.push(byte);
            rest = after;
        }
    }
    Some(decoded)
}

fn hex_digit_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decode_decodes_once_and_refuses_broken_escapes() {
        assert_eq!(percent_decode(b"%2541").unwrap(), b"%41");
        assert_eq!(percent_decode(b"a+b%20c").unwrap(), b"a+b c");
        assert_eq!(percent_decode(b"%E5%BC%A0").unwrap(), "张".as_bytes());
        assert_eq!(percent_decode(b"%+1"), None);
        assert_eq!(percent_decode(b"%4"), None);
        assert_eq!(percent_decode(b"%"), None);
    }
}
