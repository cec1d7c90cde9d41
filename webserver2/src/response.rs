//! The response on the wire: the application's status, headers and body,
//! checked, and the headers that only the server can write.
//!
//! The server's side of the contract: an application may make mistakes, but
//! the server sends nothing that breaks HTTP. A status that is not `NNN
//! Reason`, a header with a line break in it (which would let text chosen by
//! a client become a header of its own: response splitting), a hop-by-hop
//! header (PEP 3333 forbids them: they describe the connection, which is the
//! server's), or a `Content-Length` that is not the body's length, each make
//! the response a 500 instead.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Result};

use crate::request::is_token;

/// The `Server` header: what the Python sends as `WSGIServer 0.2`.
pub const SERVER_SOFTWARE: &str = concat!("webserver2/", env!("CARGO_PKG_VERSION"));

/// Headers about the connection rather than the response (RFC 9110 §7.6.1).
const HOP_BY_HOP_HEADERS: [&str; 8] = [
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "TE",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
];

/// A complete response, checked, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// A response the server writes itself, for a refused request or a
    /// failed application: the status, and text saying why.
    pub fn plain_text(status: &str, text: &str) -> Response {
        Response {
            status: status.to_owned(),
            headers: vec![(
                "Content-Type".to_owned(),
                "text/plain; charset=utf-8".to_owned(),
            )],
            body: format!("{status}: {text}\n").into_bytes(),
        }
    }

    /// What an application handed to `start_response` and returned, if it
    /// is a valid response; else what is wrong with it.
    pub fn from_application(
        status: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<Response> {
        check_status(&status)?;
        for (name, value) in &headers {
            check_header(name, value, body.len())?;
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(header, _)| header.eq_ignore_ascii_case(name))
    }

    /// The bytes to send: the status line, the application's headers, the
    /// server's, a blank line, and the body unless `include_body` is false
    /// (a HEAD request: same head, no body).
    ///
    /// The server adds `Content-Length` (the client knows where the body
    /// ends without waiting for the close), `Date` and `Server` unless the
    /// application set them, and `Connection: close`: this server answers
    /// one request per connection.
    pub fn to_bytes(&self, now: SystemTime, include_body: bool) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {}\r\n", self.status);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !self.has_header("Content-Length") {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        if !self.has_header("Date") {
            head.push_str(&format!("Date: {}\r\n", http_date(now)));
        }
        if !self.has_header("Server") {
            head.push_str(&format!("Server: {SERVER_SOFTWARE}\r\n"));
        }
        head.push_str("Connection: close\r\n\r\n");
        let mut bytes = head.into_bytes();
        if include_body {
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }
}

/// `NNN Reason`: a final status code (200 to 599: 1xx codes announce a
/// response, they are not one) and a reason without control characters.
fn check_status(status: &str) -> Result<()> {
    let valid = match status.as_bytes() {
        [first, second, third, b' ', ..] => {
            (b'2'..=b'5').contains(first)
                && second.is_ascii_digit()
                && third.is_ascii_digit()
                && !status.chars().any(char::is_control)
        }
        _ => false,
    };
    if !valid {
        bail!("the status {status:?} is not of the form \"200 OK\"");
    }
    Ok(())
}

fn check_header(name: &str, value: &str, body_length: usize) -> Result<()> {
    if !is_token(name) {
        bail!("the header name {name:?} is not a token");
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        bail!("the value of header {name} holds control characters");
    }
    if HOP_BY_HOP_HEADERS
        .iter()
        .any(|hop_by_hop| hop_by_hop.eq_ignore_ascii_case(name))
    {
        bail!("the header {name} is about the connection, which is the server's to describe");
    }
    if name.eq_ignore_ascii_case("Content-Length") && value != body_length.to_string() {
        bail!("Content-Length says {value:?}, but the body has {body_length} bytes");
    }
    Ok(())
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The date as HTTP writes it (RFC 9110 §5.6.7, "IMF-fixdate"):
/// `Sun, 06 Nov 1994 08:49:37 GMT`. The Python sends a date written into
/// the script; this is the clock's.
///
/// std has no calendar, and a crate for one line is not worth it: the day
/// count since 1970 becomes a date by Howard Hinnant's `civil_from_days`
/// (the proleptic Gregorian calendar, counted in 400-year eras).
pub fn http_date(time: SystemTime) -> String {
    // A clock set before 1970 is wrong; 1970 is as good an answer as any.
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0);
    let days = seconds / 86_400;
    let second_of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = WEEKDAYS[((days + 4) % 7) as usize];
    format!(
        "{weekday}, {day:02} {month} {year} {hour:02}:{minute:02}:{second:02} GMT",
        month = MONTHS[(month - 1) as usize],
        hour = second_of_day / 3600,
        minute = second_of_day / 60 % 60,
        second = second_of_day % 60,
    )
}

/// Year, month (1–12) and day (1–31) of the day `days` after 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Count from 0000-03-01, so that the leap day is the last of its year.
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn date_at(seconds: u64) -> String {
        http_date(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    #[test]
    fn writes_dates_as_http_does() {
        assert_eq!(date_at(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // The example of RFC 9110.
        assert_eq!(date_at(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        // A leap day of a year divisible by 400, and a year divisible by
        // 100 that is not a leap year.
        assert_eq!(date_at(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(date_at(4_107_542_399), "Sun, 28 Feb 2100 23:59:59 GMT");
        assert_eq!(date_at(1_700_000_000), "Tue, 14 Nov 2023 22:13:20 GMT");
    }

    #[test]
    fn checks_what_an_application_hands_over() {
        let ok = |status: &str, headers: &[(&str, &str)], body: &[u8]| {
            let headers = headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect();
            Response::from_application(status.to_owned(), headers, body.to_vec()).is_ok()
        };
        assert!(ok("200 OK", &[("Content-Type", "text/plain")], b"hi"));
        assert!(ok("404 ", &[], b""));
        assert!(ok("200 OK", &[("Content-Length", "2")], b"hi"));
        assert!(!ok("OK", &[], b""));
        assert!(!ok("200", &[], b""));
        assert!(!ok("101 Switching Protocols", &[], b""));
        assert!(!ok("200 OK\r\nX: y", &[], b""));
        assert!(!ok("200 OK", &[("X-Name", "a\r\nSet-Cookie: b")], b""));
        assert!(!ok("200 OK", &[("Bad Name", "x")], b""));
        assert!(!ok("200 OK", &[("Transfer-Encoding", "chunked")], b""));
        assert!(!ok("200 OK", &[("Content-Length", "3")], b"hi"));
    }

    #[test]
    fn a_head_response_keeps_the_length_of_the_body_it_leaves_out() {
        let response = Response::plain_text("404 Not Found", "nothing here");
        let full = response.to_bytes(UNIX_EPOCH, true);
        let head = response.to_bytes(UNIX_EPOCH, false);
        assert!(full.starts_with(&head));
        assert!(String::from_utf8(head)
            .unwrap()
            .contains("Content-Length: 28\r\n"));
        assert!(full.ends_with(b"\r\n\r\n404 Not Found: nothing here\n"));
    }
}
