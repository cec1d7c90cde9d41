//! Range requests (RFC 9110 §14): part of a file, not all of it.
//!
//! A download that broke off resumes where it stopped, a video player jumps
//! to the middle: the client sends `Range: bytes=FIRST-LAST` and the server
//! answers `206 Partial Content` with those bytes only and
//! `Content-Range: bytes FIRST-LAST/LENGTH`. Every file response says
//! `Accept-Ranges: bytes`, so that clients know to ask.
//!
//! | `Range:` | on a file of 1000 bytes |
//! | --- | --- |
//! | `bytes=0-99` | 206, bytes 0 to 99 (100 bytes) |
//! | `bytes=900-` | 206, bytes 900 to the end |
//! | `bytes=-100` | 206, the last 100 bytes |
//! | `bytes=900-5000` | 206, bytes 900 to 999: the end is cut to the file |
//! | `bytes=1000-`, `bytes=-0` | 416, `Content-Range: bytes */1000`: nothing there |
//! | `bytes=-1` on an empty file | 200, the whole (empty) file: see [`ranged`] |
//! | `bytes=0-0,10-20` | 200, the whole file: see below |
//! | `bytes=9-1`, `items=0-1`, `bytes=x` | 200: a header that makes no sense is ignored |
//!
//! **Several ranges** would be answered with a `multipart/byteranges` body;
//! RFC 9110 lets a server send the whole file instead, which is what this
//! server does. The same goes for two `Range` headers.
//!
//! **`If-Range`** is honoured ([`crate::conditional::Validators::if_range_holds`]):
//! a client resuming a download sends the `ETag` (or `Last-Modified`) of
//! the part it has; if the file changed since, it gets the whole new file
//! (200) instead of a piece of it glued to a piece of the old one.

/// What a `Range` header asks of a file of a given length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranged {
    /// The whole file, 200: no usable single range was asked for.
    Whole,
    /// `length` bytes from `start`, 206.
    Part { start: u64, length: u64 },
    /// Nothing of the file is in the range, 416.
    Unsatisfiable,
}

/// What `header` (the value of `Range`) asks of a file `file_length` bytes
/// long.
pub fn ranged(header: &[u8], file_length: u64) -> Ranged {
    let Some(set) = strip_prefix_ignore_case(header.trim_ascii(), b"bytes=") else {
        return Ranged::Whole; // another unit, or not a range at all
    };
    let mut ranges = set
        .split(|&byte| byte == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|range| !range.is_empty());
    let (Some(range), None) = (ranges.next(), ranges.next()) else {
        return Ranged::Whole; // none, or several
    };
    let Some(dash) = range.iter().position(|&byte| byte == b'-') else {
        return Ranged::Whole;
    };
    let (first, last) = (&range[..dash], &range[dash + 1..]);
    if first.is_empty() {
        // `-N`: the last N bytes.
        let Some(suffix) = number(last) else {
            return Ranged::Whole;
        };
        if suffix == 0 {
            return Ranged::Unsatisfiable;
        }
        if file_length == 0 {
            // Satisfiable (RFC 9110 §14.1.1: on an empty representation, a
            // suffix range with a non-zero length is the one satisfiable
            // form), and it selects the whole of it, nothing: a 206 could
            // not say so, as `Content-Range: bytes FIRST-LAST/0` needs a
            // byte, so the answer is the whole (empty) file, 200 (§14.2: a
            // server may ignore a range).
            return Ranged::Whole;
        }
        let length = suffix.min(file_length);
        return Ranged::Part {
            start: file_length - length,
            length,
        };
    }
    // `A-` and `A-B`.
    let Some(start) = number(first) else {
        return Ranged::Whole;
    };
    let last = match number(last) {
        Some(last) if last < start => return Ranged::Whole, // `9-1`: invalid, ignored
        Some(last) => last,
        None if last.is_empty() => u64::MAX,
        None => return Ranged::Whole,
    };
    if start >= file_length {
        return Ranged::Unsatisfiable;
    }
    Ranged::Part {
        start,
        length: last.min(file_length - 1) - start + 1,
    }
}

/// A run of ASCII digits as a number, saturating at `u64::MAX` (a position
/// that large is past the end of any file); `None` if empty or not digits.
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u64, |value, digit| {
        value
            .saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'))
    }))
}

fn strip_prefix_ignore_case<'a>(bytes: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = bytes.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &bytes[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(start: u64, length: u64) -> Ranged {
        Ranged::Part { start, length }
    }

    #[test]
    fn reads_the_three_forms_of_a_single_range() {
        let of_1000 = |header: &str| ranged(header.as_bytes(), 1000);
        assert_eq!(of_1000("bytes=0-99"), part(0, 100));
        assert_eq!(of_1000("bytes=0-0"), part(0, 1));
        assert_eq!(of_1000("bytes=900-"), part(900, 100));
        assert_eq!(of_1000("bytes=-100"), part(900, 100));
        assert_eq!(of_1000("bytes=-5000"), part(0, 1000));
        assert_eq!(of_1000("bytes=900-5000"), part(900, 100));
        assert_eq!(of_1000("Bytes= 10-19 ,"), part(10, 10));
        assert_eq!(of_1000("bytes=0-99999999999999999999999"), part(0, 1000));
    }

    #[test]
    fn a_range_past_the_end_is_unsatisfiable() {
        assert_eq!(ranged(b"bytes=1000-", 1000), Ranged::Unsatisfiable);
        assert_eq!(ranged(b"bytes=1000-2000", 1000), Ranged::Unsatisfiable);
        assert_eq!(ranged(b"bytes=-0", 1000), Ranged::Unsatisfiable);
        assert_eq!(ranged(b"bytes=0-", 0), Ranged::Unsatisfiable);
        assert_eq!(ranged(b"bytes=-0", 0), Ranged::Unsatisfiable);
        assert_eq!(
            ranged(b"bytes=99999999999999999999999-", 1000),
            Ranged::Unsatisfiable
        );
    }

    #[test]
    fn several_ranges_and_nonsense_get_the_whole_file() {
        for header in [
            "bytes=0-0,10-20",
            "bytes=0-0, -1",
            "bytes=9-1",
            "bytes=x-1",
            "bytes=1-x",
            "bytes=-",
            "bytes=",
            "bytes=5",
            "items=0-1",
            "0-1",
            "",
        ] {
            assert_eq!(ranged(header.as_bytes(), 1000), Ranged::Whole, "{header}");
        }
    }

    #[test]
    fn a_suffix_of_an_empty_file_is_satisfiable_and_the_whole_file() {
        assert_eq!(ranged(b"bytes=-1", 0), Ranged::Whole);
        assert_eq!(ranged(b"bytes=-500", 0), Ranged::Whole);
    }
}
