//! Conditional requests (RFC 9110 §13): "send the file only if it changed".
//!
//! A browser that has a copy of a file asks again with what it knows of its
//! copy, and the server answers `304 Not Modified`, a head and no body, when
//! that copy is still current. What the browser knows is what the server
//! sent with the copy, the file's *validators*:
//!
//! * `Last-Modified`, the file's modification time, to the second, sent
//!   back as `If-Modified-Since`;
//! * `ETag`, an opaque tag that changes whenever the file does, sent back
//!   as `If-None-Match` (a list of tags, or `*`).
//!
//! **The ETag here is strong**, `"<inode>-<size>-<mtime in ns>"` in hex, as
//! nginx's `"<mtime>-<size>"` is strong: replacing the file (a new inode),
//! changing its size or writing it (a new modification time) changes the
//! tag. What it cannot see is a write that keeps the size within one tick of
//! the file system's clock (a few milliseconds): a strong tag would then
//! wrongly vouch for the old bytes. For a site deployed by copying files,
//! that does not happen; a server of files edited in place under load would
//! hash the content, or send the tag weak (`W/`). Being strong, it can
//! validate `If-Range` ([`Validators::if_range_holds`]), which a weak tag
//! may not.
//!
//! **The order** is RFC 9110 §13.2.2's, and [`crate::response::Site::respond`]
//! follows it:
//!
//! 1. `If-Match` (a list of tags, compared strongly, or `*`), else
//!    `If-Unmodified-Since`: when false, 412 Precondition Failed
//!    ([`Validators::precondition_failed`]). They guard writes ("change it
//!    only if it is still the version I saw"), and a server that only reads
//!    still answers them: a client that resumes a download with `If-Match`
//!    wants nothing of another version, not even a range.
//! 2. `If-None-Match`, else `If-Modified-Since`: when false, 304
//!    ([`Validators::not_modified`]). A tag is the more precise of the two.
//! 3. `If-Range`, then `Range` ([`crate::range`]).
//!
//! **A modification time in the future** (a clock set wrong, `touch -d`)
//! becomes the time of the response: RFC 9110 §8.8.2.1 says an origin
//! server MUST NOT send a `Last-Modified` later than its `Date`, and MUST
//! replace such a time with the `Date`. Sending none would be allowed too,
//! but would take `If-Modified-Since` away from a client for no reason. A
//! replaced time says nothing exact about the file, so it never validates
//! an `If-Range`; the `ETag`, made of the true time, still does.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::request::Request;

/// The validators of one file, taken from the `fstat` of the descriptor
/// being served, so they describe exactly the bytes that go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// The `ETag` value, quotes included.
    etag: String,
    /// The modification time, to the second (what `Last-Modified` can
    /// say), or the time of the response if the file's is later.
    last_modified: SystemTime,
    /// Whether the file's time was later than the clock, and replaced.
    in_the_future: bool,
}

impl Validators {
    pub fn of(metadata: &Metadata) -> Validators {
        Validators::at(metadata, SystemTime::now())
    }

    /// The validators of the file whose metadata this is, as of `now`.
    fn at(metadata: &Metadata, now: SystemTime) -> Validators {
        let seconds = u64::try_from(metadata.mtime()).unwrap_or(0);
        let nanoseconds = u128::from(seconds) * 1_000_000_000
            + u128::try_from(metadata.mtime_nsec()).unwrap_or(0);
        let modified = UNIX_EPOCH.checked_add(Duration::from_secs(seconds));
        let in_the_future = modified.is_none_or(|modified| modified > now);
        Validators {
            etag: format!(
                "\"{:x}-{:x}-{nanoseconds:x}\"",
                metadata.ino(),
                metadata.size()
            ),
            last_modified: match modified {
                Some(modified) if !in_the_future => modified,
                _ => now,
            },
            in_the_future,
        }
    }

    /// The `ETag` and `Last-Modified` header lines.
    pub fn header_lines(&self) -> String {
        format!(
            "ETag: {}\r\nLast-Modified: {}\r\n",
            self.etag,
            common::http_date::format(self.last_modified)
        )
    }

    /// Whether `If-Match`, or without it `If-Unmodified-Since`, is false,
    /// and the answer is 412 (RFC 9110 §13.1.1, §13.1.4).
    pub fn precondition_failed(&self, request: &Request) -> bool {
        if let Some(tags) = &request.if_match {
            return !self.matches_any(tags, Comparison::Strong);
        }
        match request.if_unmodified_since.as_deref().and_then(http_date) {
            Some(since) => self.last_modified > since,
            None => false, // absent, or not a date: ignored (§13.1.4)
        }
    }

    /// Whether the client's copy is current, and the answer is 304.
    pub fn not_modified(&self, request: &Request) -> bool {
        if let Some(tags) = &request.if_none_match {
            return self.matches_any(tags, Comparison::Weak);
        }
        match request.if_modified_since.as_deref().and_then(http_date) {
            Some(since) => self.last_modified <= since,
            None => false, // absent, or not a date: ignored (RFC 9110 §13.1.3)
        }
    }

    /// `If-None-Match` or `If-Match`: `*` (any current file), or a
    /// comma-separated list of tags. `If-None-Match` compares weakly
    /// (`W/"x"` matches `"x"`), `If-Match` strongly (a weak tag matches
    /// nothing; RFC 9110 §8.8.3.2).
    fn matches_any(&self, tags: &[u8], comparison: Comparison) -> bool {
        tags.split(|&byte| byte == b',')
            .map(<[u8]>::trim_ascii)
            .any(|tag| {
                let tag = match comparison {
                    Comparison::Weak => tag.strip_prefix(b"W/").unwrap_or(tag),
                    Comparison::Strong => tag,
                };
                tag == b"*" || tag == self.etag.as_bytes()
            })
    }

    /// `If-Range`: send only the range if the client's partial copy is of
    /// these very bytes, else the whole file. A tag must match strongly (a
    /// weak `W/` tag never does); a date must be exactly `Last-Modified`,
    /// and not one that replaced a time in the future.
    pub fn if_range_holds(&self, validator: &[u8]) -> bool {
        if validator.starts_with(b"\"") {
            validator == self.etag.as_bytes()
        } else {
            !self.in_the_future && http_date(validator) == Some(self.last_modified)
        }
    }
}

/// How two entity tags are compared (RFC 9110 §8.8.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    /// `W/"x"` matches `"x"`: `If-None-Match`.
    Weak,
    /// Only the same strong tag matches: `If-Match`, `If-Range`.
    Strong,
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, or the two obsolete
/// forms), or `None`.
fn http_date(value: &[u8]) -> Option<SystemTime> {
    httpdate::parse_http_date(std::str::from_utf8(value).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::parse_head;

    fn validators() -> (testkit::TempDir, Validators) {
        let directory = testkit::TempDir::new("conditional");
        let file = directory.write("a.txt", "first");
        let metadata = std::fs::metadata(file).unwrap();
        (directory, Validators::of(&metadata))
    }

    fn request(headers: &str) -> Request {
        let text = format!("GET /a.txt HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
        parse_head(text.as_bytes()).unwrap().1.unwrap()
    }

    #[test]
    fn the_tag_is_strong_and_changes_with_the_file() {
        let directory = testkit::TempDir::new("etag");
        let file = directory.write("a.txt", "first");
        let before = Validators::of(&std::fs::metadata(&file).unwrap());
        assert!(before.etag.starts_with('"') && before.etag.ends_with('"'));
        std::fs::write(&file, "second").unwrap();
        let after = Validators::of(&std::fs::metadata(&file).unwrap());
        assert_ne!(before.etag, after.etag);
    }

    #[test]
    fn if_none_match_takes_tags_weakly_and_wins_over_the_date() {
        let (_directory, validators) = validators();
        let tag = validators.etag.clone();
        let last_modified = common::http_date::format(validators.last_modified);
        let not_modified = |headers: &str| validators.not_modified(&request(headers));
        assert!(not_modified(&format!("If-None-Match: {tag}\r\n")));
        assert!(not_modified(&format!("If-None-Match: \"x\", W/{tag}\r\n")));
        assert!(not_modified("If-None-Match: *\r\n"));
        assert!(!not_modified("If-None-Match: \"x\"\r\n"));
        assert!(not_modified(&format!(
            "If-Modified-Since: {last_modified}\r\n"
        )));
        assert!(!not_modified(
            "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        ));
        assert!(!not_modified("If-Modified-Since: yesterday\r\n"));
        // A tag that does not match: 200, though the date says unchanged.
        assert!(!not_modified(&format!(
            "If-None-Match: \"x\"\r\nIf-Modified-Since: {last_modified}\r\n"
        )));
        assert!(!not_modified(""));
    }

    #[test]
    fn if_range_wants_the_strong_tag_or_the_exact_date() {
        let (_directory, validators) = validators();
        let tag = validators.etag.clone();
        assert!(validators.if_range_holds(tag.as_bytes()));
        assert!(!validators.if_range_holds(format!("W/{tag}").as_bytes()));
        assert!(!validators.if_range_holds(b"\"other\""));
        let date = common::http_date::format(validators.last_modified);
        assert!(validators.if_range_holds(date.as_bytes()));
        assert!(!validators.if_range_holds(b"Sun, 06 Nov 1994 08:49:37 GMT"));
    }

    #[test]
    fn if_match_compares_strongly_and_wins_over_if_unmodified_since() {
        let (_directory, validators) = validators();
        let tag = validators.etag.clone();
        let date = common::http_date::format(validators.last_modified);
        let failed = |headers: &str| validators.precondition_failed(&request(headers));
        assert!(!failed(""));
        assert!(!failed(&format!("If-Match: {tag}\r\n")));
        assert!(!failed(&format!("If-Match: \"x\", {tag}\r\n")));
        assert!(!failed("If-Match: *\r\n"));
        assert!(failed("If-Match: \"stale\"\r\n"));
        assert!(failed(&format!("If-Match: W/{tag}\r\n")));
        assert!(!failed(&format!("If-Unmodified-Since: {date}\r\n")));
        assert!(failed(
            "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        ));
        assert!(!failed("If-Unmodified-Since: yesterday\r\n"));
        assert!(!failed(&format!(
            "If-Match: {tag}\r\nIf-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        )));
    }

    #[test]
    fn a_time_in_the_future_becomes_the_time_of_the_response() {
        let directory = testkit::TempDir::new("future");
        let file = directory.write("a.txt", "first");
        let metadata = std::fs::metadata(&file).unwrap();
        let now = SystemTime::now();
        // A clock set to 2001 sees the file, written now, in its future.
        let before = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let validators = Validators::at(&metadata, before);
        assert!(validators.in_the_future);
        assert_eq!(validators.last_modified, before);
        assert!(!validators.if_range_holds(common::http_date::format(before).as_bytes()));
        assert!(validators.if_range_holds(validators.etag.as_bytes()));
        assert!(validators
            .header_lines()
            .contains("Last-Modified: Sun, 09 Sep 2001"));
        let present = Validators::at(&metadata, now);
        assert!(!present.in_the_future && present.last_modified <= now);
    }
}
