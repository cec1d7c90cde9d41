//! Not the lesson: writing an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`,
//! RFC 9110 §5.6.7) for `Date` and `Last-Modified`, for every server of the
//! book that sends one.
//!
//! The format has four digits for the year and nothing before 1970 that a
//! server needs: `httpdate` panics on a time after 9999-12-31 23:59:59 or
//! before the epoch. A clock can be set there, and a file's modification
//! time can be anything its owner likes (`touch -d @253402387200 f` on tmpfs
//! or btrfs: the year 10000). One such file must not crash a server that
//! formats its date, so [`format`] clamps the time into the range the format
//! can write. (What a server *should* say about a date in the future is
//! another question, answered where the date is taken: static_http's
//! `conditional` replaces it with the time of the response, as RFC 9110
//! §8.8.2.1 asks.)

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 9999-12-31 23:59:59 UTC, the last second an HTTP date can write.
pub const LATEST_SECONDS: u64 = 253_402_300_799;

/// The last time an HTTP date can write.
pub fn latest() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(LATEST_SECONDS)
}

/// `time` as an HTTP date, clamped to 1970-01-01 00:00:00 ..= 9999-12-31
/// 23:59:59: never a panic.
pub fn format(time: SystemTime) -> String {
    httpdate::fmt_http_date(time.clamp(UNIX_EPOCH, latest()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_any_time_without_a_panic() {
        assert_eq!(
            format(UNIX_EPOCH + Duration::from_secs(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        let after_9999 = UNIX_EPOCH + Duration::from_secs(253_402_387_200);
        assert_eq!(format(after_9999), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(format(latest()), "Fri, 31 Dec 9999 23:59:59 GMT");
        let before_1970 = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(format(before_1970), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
