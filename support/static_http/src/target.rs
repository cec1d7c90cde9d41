//! From the request target to a path *under* the document root.
//!
//! The course opens `documents_root + file_name` with `file_name` straight
//! from the request line: `GET /../../etc/passwd` then reads
//! `./html/../../etc/passwd`. Everything a client controls has to be checked
//! before it touches the file system, and in the right order:
//!
//! 1. take the path: cut off the query (`?…`), which names no file, and
//!    the scheme and host of the absolute form (`GET http://host/path`,
//!    which RFC 9112 §3.2.2 asks a server to accept; this server has one
//!    site, so the host is only checked for its form, and user information,
//!    `http://user:password@host/`, is refused as RFC 9110 §4.2.4 advises);
//! 2. percent-decode, exactly once: `%2e%2e` is `..`, and a second decoding
//!    would turn `%252e` into `.` after the checks had passed it;
//! 3. refuse what no file name here needs and attackers love: NUL (C's end of
//!    string), backslash (a separator on other systems), `.` and `..`
//!    segments, empty segments (`//`);
//! 4. open what is left beneath the root, with the kernel checking that no
//!    symbolic link leads out of it ([`crate::open_beneath`]).
//!
//! Steps 1–3 are here and pure, so the unit tests can throw every hostile
//! form at them without a file system.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// The file served for a target ending in `/`, as the course's `/` →
/// `/index.html`.
pub const INDEX_FILE: &str = "index.html";

/// Why a target can never name a file under the root (malformed escape,
/// NUL, `..`, ...): answered with 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadTarget(pub &'static str);

/// The path, relative to the document root, that `target` names.
///
/// Never absolute, never with `.` or `..` components: joining it to the
/// root cannot leave the root lexically. (Symbolic links are the other way
/// out; [`crate::open_beneath`] closes it.)
pub fn relative_path(target: &[u8]) -> Result<PathBuf, BadTarget> {
    let (path, _query) = path_and_query(target)?;
    let path = &path[1..]; // without its leading `/`
    let decoded = percent_decode(path)?;
    if decoded.contains(&0) {
        return Err(BadTarget("the path holds a NUL byte"));
    }
    if decoded.contains(&b'\\') {
        return Err(BadTarget("the path holds a backslash"));
    }

    let mut relative = PathBuf::new();
    let mut segments = decoded.split(|&byte| byte == b'/').peekable();
    while let Some(segment) = segments.next() {
        let is_last = segments.peek().is_none();
        match segment {
            // `/` or `/dir/`: the directory's index file.
            b"" if is_last => relative.push(INDEX_FILE),
            b"" => return Err(BadTarget("the path has an empty segment (//)")),
            b"." | b".." => {
                return Err(BadTarget("the path has a . or .. segment"));
            }
            _ => relative.push(OsStr::from_bytes(segment)),
        }
    }
    Ok(relative)
}

/// The path of `target` (from its `/`, still percent-encoded) and its query
/// (after the `?`), if any.
///
/// The origin form (`/path?query`) is what clients send a server; the
/// absolute form (`http://host/path?query`) is what they send a proxy, and a
/// server must accept it too: its path is served, `/` if it has none. `*`
/// (for OPTIONS) and anything else name no file.
pub fn path_and_query(target: &[u8]) -> Result<(&[u8], Option<&[u8]>), BadTarget> {
    let target = match target.iter().position(|&byte| byte == b'#') {
        Some(end) => &target[..end], // a fragment is the client's own business
        None => target,
    };
    let (path, query) = match target.iter().position(|&byte| byte == b'?') {
        Some(end) => (&target[..end], Some(&target[end + 1..])),
        None => (target, None),
    };
    if path.starts_with(b"/") {
        return Ok((path, query));
    }
    let after_scheme = ["http://", "https://"].iter().find_map(|scheme| {
        let head = path.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme.as_bytes())
            .then(|| &path[scheme.len()..])
    });
    let Some(authority_and_path) = after_scheme else {
        return Err(BadTarget(
            "the target is neither /path nor http://host/path",
        ));
    };
    let (authority, path) = match authority_and_path.iter().position(|&byte| byte == b'/') {
        Some(start) => authority_and_path.split_at(start),
        None => (authority_and_path, &b"/"[..]),
    };
    // RFC 9110 §4.2.4: user information (`user:password@`) has no place in
    // an http(s) URI, and a recipient should treat it as an error: it is
    // how a link passes `http://bank.example@evil.example/` off as the bank.
    if authority.contains(&b'@') {
        return Err(BadTarget("the target holds user information (user@host)"));
    }
    // §4.2.1: an http URI with an empty host is invalid.
    if authority.is_empty()
        || authority.starts_with(b":")
        || !common::request_head::is_valid_host(authority)
    {
        return Err(BadTarget("the target's host is not a host[:port]"));
    }
    Ok((path, query))
}

/// Where to send a client that asked for a directory without the slash
/// that ends a directory's path: the same path with the slash, and the same
/// query (`/docs?x=1` → `/docs/?x=1`). Without the redirect, the relative
/// links of `docs/index.html` (`style.css`) would resolve against `/` and
/// miss. The path stays as the client encoded it, so the `Location` is
/// visible ASCII like the target it comes from.
pub fn directory_location(target: &[u8]) -> Result<String, BadTarget> {
    let (path, query) = path_and_query(target)?;
    let mut location = String::from_utf8_lossy(path).into_owned();
    location.push('/');
    if let Some(query) = query {
        location.push('?');
        location.push_str(&String::from_utf8_lossy(query));
    }
    Ok(location)
}

/// Whether `target` names a directory: its path ends with `/` (and is then
/// served by its [`INDEX_FILE`]).
pub fn names_a_directory(target: &[u8]) -> bool {
    path_and_query(target).is_ok_and(|(path, _)| path.ends_with(b"/"))
}

/// Decodes `%XX` escapes once ([`common::percent_decode`]); a `%` not
/// followed by two hex digits makes the target bad.
pub fn percent_decode(encoded: &[u8]) -> Result<Vec<u8>, BadTarget> {
    common::percent_decode(encoded).ok_or(BadTarget("a % is not followed by two hex digits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(target: &str) -> Result<PathBuf, BadTarget> {
        relative_path(target.as_bytes())
    }

    #[test]
    fn maps_directories_to_their_index() {
        assert_eq!(path("/"), Ok(PathBuf::from("index.html")));
        assert_eq!(path("/docs/"), Ok(PathBuf::from("docs/index.html")));
        assert_eq!(path("/docs"), Ok(PathBuf::from("docs")));
    }

    #[test]
    fn drops_the_query_and_decodes_once() {
        assert_eq!(path("/a%20b.txt?x=/../y"), Ok(PathBuf::from("a b.txt")));
        assert_eq!(path("/caf%C3%A9.html"), Ok(PathBuf::from("café.html")));
        // %25 is '%': decoded once, `%252e%252e` is the literal name `%2e%2e`,
        // a file name like any other (which the site will not have), not `..`.
        assert_eq!(
            path("/%252e%252e/secret"),
            Ok(PathBuf::from("%2e%2e/secret"))
        );
    }

    #[test]
    fn refuses_every_way_out_of_the_root() {
        for hostile in [
            "/..",
            "/../secret.txt",
            "/a/../../secret.txt",
            "/./index.html",
            "/%2e%2e/secret.txt",
            "/%2E%2E/secret.txt",
            "/.%2e/secret.txt",
            "/..%2fsecret.txt",
            "/..%2Fsecret.txt",
            "/%2e%2e%2fsecret.txt",
            "/..%5csecret.txt",
            "/..\\secret.txt",
            "/a\\..\\..\\secret.txt",
            "//etc/passwd",
            "/a//b",
            "/%2fetc/passwd",
            "/index.html%00.txt",
            "/%00",
            "../secret.txt",
            "secret.txt",
            "http://localhost/../secret.txt",
            "http://localhost//etc/passwd",
            "ftp://localhost/index.html",
            "http:/index.html",
            "*",
            "/%",
            "/%2",
            "/%zz",
            "/%%32%65",
        ] {
            assert!(path(hostile).is_err(), "{hostile} gave {:?}", path(hostile));
        }
    }

    #[test]
    fn an_absolute_file_system_path_stays_under_the_root() {
        // `/etc/passwd` is the root's `etc/passwd`, which does not exist.
        assert_eq!(path("/etc/passwd"), Ok(PathBuf::from("etc/passwd")));
        assert!(path("/etc/passwd").unwrap().is_relative());
    }

    #[test]
    fn serves_the_absolute_form_by_its_path() {
        assert_eq!(path("http://localhost/a.txt"), Ok(PathBuf::from("a.txt")));
        assert_eq!(
            path("HTTPS://example.com:8443/docs/?x=1"),
            Ok(PathBuf::from("docs/index.html"))
        );
        assert_eq!(path("http://localhost"), Ok(PathBuf::from("index.html")));
        assert_eq!(
            path("http://localhost?x=/"),
            Ok(PathBuf::from("index.html"))
        );
    }

    #[test]
    fn refuses_user_information_and_a_host_that_is_not_one() {
        for target in [
            "http://user:pw@localhost/a.txt",
            "http://user@localhost/a.txt",
            "http://@localhost/a.txt",
            "http://localhost@/a.txt",
            "http:///a.txt",
            "http://:80/a.txt",
            "http://a%zz/a.txt",
            "http://[::1/a.txt",
        ] {
            assert!(path(target).is_err(), "{target} gave {:?}", path(target));
        }
        assert_eq!(path("http://[::1]:80/a.txt"), Ok(PathBuf::from("a.txt")));
    }

    #[test]
    fn redirects_a_directory_to_its_slash_keeping_the_query() {
        let location = |target: &str| directory_location(target.as_bytes()).unwrap();
        assert_eq!(location("/docs"), "/docs/");
        assert_eq!(location("/docs?x=1&y=%20"), "/docs/?x=1&y=%20");
        assert_eq!(location("/a%20b"), "/a%20b/");
        assert_eq!(location("http://localhost/docs?x"), "/docs/?x");
        assert!(names_a_directory(b"/docs/"));
        assert!(names_a_directory(b"http://h/docs/?x"));
        assert!(!names_a_directory(b"/docs"));
        assert!(!names_a_directory(b"/docs?x=/"));
    }
}
