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
//! `If-None-Match` is checked first and, when present, `If-Modified-Since`
//! is ignored (RFC 9110 §13.2.2): a tag is the more precise of the two.
//! `If-Match` and `If-Unmodified-Since`, which guard writes, do not apply to
//! a server that only reads.

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
    /// The modification time, to the second (what `Last-Modified` can say).
    last_modified: SystemTime,
}

impl Validators {
    pub fn of(metadata: &Metadata) -> Validators {
        let seconds = u64::try_from(metadata.mtime()).unwrap_or(0);
        let nanoseconds = u128::from(seconds) * 1_000_000_000
            + u128::try_from(metadata.mtime_nsec()).unwrap_or(0);
        Validators {
            etag: format!(
                "\"{:x}-{:x}-{nanoseconds:x}\"",
                metadata.ino(),
                metadata.size()
            ),
            last_modified: UNIX_EPOCH + Duration::from_secs(seconds),
        }
    }

    /// The `ETag` and `Last-Modified` header lines.
    pub fn header_lines(&self) -> String {
        format!(
            "ETag: {}\r\nLast-Modified: {}\r\n",
            self.etag,
            httpdate::fmt_http_date(self.last_modified)
        )
    }

    /// Whether the client's copy is current, and the answer is 304.
    pub fn not_modified(&self, request: &Request) -> bool {
        if let Some(tags) = &request.if_none_match {
            return self.matches_any(tags);
        }
        match request.if_modified_since.as_deref().and_then(http_date) {
            Some(since) => self.last_modified <= since,
            None => false, // absent, or not a date: ignored (RFC 9110 §13.1.3)
        }
    }

    /// `If-None-Match`: `*` (any current file), or a comma-separated list
    /// of tags compared weakly (`W/"x"` matches `"x"`, §8.8.3.2).
    fn matches_any(&self, tags: &[u8]) -> bool {
        tags.split(|&byte| byte == b',')
            .map(<[u8]>::trim_ascii)
            .any(|tag| {
                tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == self.etag.as_bytes()
            })
    }

    /// `If-Range`: send only the range if the client's partial copy is of
    /// these very bytes, else the whole file. A tag must match strongly (a
    /// weak `W/` tag never does); a date must be exactly `Last-Modified`.
    pub fn if_range_holds(&self, validator: &[u8]) -> bool {
        if validator.starts_with(b"\"") {
            validator == self.etag.as_bytes()
        } else {
            http_date(validator) == Some(self.last_modified)
        }
    }
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
        let last_modified = httpdate::fmt_http_date(validators.last_modified);
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
        let date = httpdate::fmt_http_date(validators.last_modified);
        assert!(validators.if_range_holds(date.as_bytes()));
        assert!(!validators.if_range_holds(b"Sun, 06 Nov 1994 08:49:37 GMT"));
    }
}
