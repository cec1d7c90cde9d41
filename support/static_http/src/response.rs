//! Responses: status lines, heads, and the file (or short text) after them.
//!
//! The course writes `Content-Length` so that the browser knows where a body
//! ends without waiting for the connection to close: that is what makes
//! keep-alive ("长链接") possible. Here every response carries it, and also
//! `Content-Type`, `Connection` and `Date` (RFC 9110 §6.6.1: a server with
//! a clock sends it), so that a client never has to guess.
//!
//! A file's response also carries its validators, `ETag` and
//! `Last-Modified`, and `Accept-Ranges: bytes`. [`Site::respond`] decides,
//! in this order, between
//!
//! | answer | when |
//! | --- | --- |
//! | 301 to `/dir/` | the path names a directory but does not end with `/` |
//! | 412 Precondition Failed | `If-Match` or `If-Unmodified-Since` is false ([`crate::conditional`]) |
//! | 304 Not Modified, no body | the client's copy is current (`If-None-Match`, `If-Modified-Since`) |
//! | 206 Partial Content, the range only | `Range` asks for one range of the file ([`crate::range`]) |
//! | 416 Range Not Satisfiable | ... that starts past its end |
//! | 200 OK, the whole file | otherwise |
//!
//! A HEAD request gets exactly the head a GET would, without the body.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{bail, ensure, Context, Result};
use nix::errno::Errno;

use crate::conditional::Validators;
use crate::content_type;
use crate::descriptors::is_out_of_descriptors;
use crate::file_cache::{Content, FileCache};
use crate::open_beneath::Root;
use crate::range::{self, Ranged};
use crate::request::{Method, Request, RequestError};
use crate::target::{self, BadTarget};

/// The statuses these servers answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    PartialContent,
    MovedPermanently,
    NotModified,
    BadRequest,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    PreconditionFailed,
    RangeNotSatisfiable,
    RequestHeaderFieldsTooLarge,
    InternalServerError,
    NotImplemented,
    ServiceUnavailable,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::PartialContent => 206,
            Status::MovedPermanently => 301,
            Status::NotModified => 304,
            Status::BadRequest => 400,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::PreconditionFailed => 412,
            Status::RangeNotSatisfiable => 416,
            Status::RequestHeaderFieldsTooLarge => 431,
            Status::InternalServerError => 500,
            Status::NotImplemented => 501,
            Status::ServiceUnavailable => 503,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::PartialContent => "Partial Content",
            Status::MovedPermanently => "Moved Permanently",
            Status::NotModified => "Not Modified",
            Status::BadRequest => "Bad Request",
            Status::Forbidden => "Forbidden",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::PreconditionFailed => "Precondition Failed",
            Status::RangeNotSatisfiable => "Range Not Satisfiable",
            Status::RequestHeaderFieldsTooLarge => "Request Header Fields Too Large",
            Status::InternalServerError => "Internal Server Error",
            Status::NotImplemented => "Not Implemented",
            Status::ServiceUnavailable => "Service Unavailable",
        }
    }

    /// The sentence of the small text body sent with an error status.
    fn explanation(self) -> &'static str {
        match self {
            Status::Ok | Status::PartialContent | Status::NotModified => "",
            Status::MovedPermanently => "that is a directory; its path ends with /",
            Status::BadRequest => "this server cannot read that request",
            Status::Forbidden => "the server may not read that file",
            Status::NotFound => "there is no file at that path",
            Status::MethodNotAllowed => "this server only answers GET and HEAD",
            Status::PreconditionFailed => {
                "the file is not the version If-Match or If-Unmodified-Since names"
            }
            Status::RangeNotSatisfiable => "the range starts past the end of the file",
            Status::RequestHeaderFieldsTooLarge => "the request head is longer than 8 KiB",
            Status::InternalServerError => "the server could not read that file",
            Status::NotImplemented => "this server does not implement that",
            Status::ServiceUnavailable => {
                "the server is out of file descriptors; try again in a moment"
            }
        }
    }
}

/// What follows a response head.
pub(crate) enum Body {
    /// Nothing: a HEAD request, a 304, or a file of zero bytes.
    Empty,
    /// A short text, already in memory (the error pages).
    Text(Vec<u8>),
    /// `length` bytes of an open file from `offset` (the whole file, or
    /// the range of a 206), handed to the kernel with `sendfile(2)` as the
    /// socket takes them, never read into memory.
    File {
        file: fs::File,
        offset: u64,
        length: u64,
    },
    /// `length` bytes from `offset` of a small file held in memory by the
    /// [`FileCache`]: they go out in the same `send` as the head.
    Cached {
        bytes: Arc<[u8]>,
        offset: u64,
        length: u64,
    },
}

/// A response, ready to be queued on a [`crate::Connection`].
pub struct Response {
    status: Status,
    head: Vec<u8>,
    body: Body,
    content_length: u64,
    keep_alive: bool,
}

impl Response {
    pub fn status(&self) -> Status {
        self.status
    }

    /// The length the head announces (the body's, even for HEAD).
    pub fn content_length(&self) -> u64 {
        self.content_length
    }

    /// Whether the connection stays open after this response.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    pub(crate) fn into_parts(self) -> (Vec<u8>, Body, bool) {
        (self.head, self.body, self.keep_alive)
    }

    /// The answer to a head that could not be read or used: 400, 431 or
    /// 501, and the connection closes, since where the next request would
    /// start is anyone's guess.
    pub fn for_refused_head(error: RequestError) -> Response {
        match error {
            RequestError::Malformed(reason) => {
                Response::error(Status::BadRequest, reason, false, false)
            }
            RequestError::HeadTooLarge => {
                Response::error(Status::RequestHeaderFieldsTooLarge, "", false, false)
            }
            RequestError::NotImplemented(reason) => {
                Response::error(Status::NotImplemented, reason, false, false)
            }
        }
    }

    /// An error status with a one-line text body, e.g.
    /// `404 Not Found: there is no file at that path`.
    fn error(status: Status, detail: &str, keep_alive: bool, head_only: bool) -> Response {
        Response::text(status, detail, "", keep_alive, head_only)
    }

    /// A status with a one-line text body, and `extra_headers` (whole
    /// lines, e.g. `Location: /docs/\r\n`) besides the usual ones.
    fn text(
        status: Status,
        detail: &str,
        extra_headers: &str,
        keep_alive: bool,
        head_only: bool,
    ) -> Response {
        let mut text = format!(
            "{} {}: {}",
            status.code(),
            status.reason(),
            status.explanation()
        );
        if !detail.is_empty() {
            text.push_str(&format!(" ({detail})"));
        }
        text.push('\n');
        let length = text.len() as u64;
        let mut fields =
            format!("Content-Type: text/plain; charset=utf-8\r\nContent-Length: {length}\r\n");
        match status {
            Status::MethodNotAllowed => fields.push_str("Allow: GET, HEAD\r\n"),
            Status::ServiceUnavailable => fields.push_str("Retry-After: 1\r\n"),
            _ => {}
        }
        fields.push_str(extra_headers);
        let body = if head_only {
            Body::Empty
        } else {
            Body::Text(text.into_bytes())
        };
        Response {
            status,
            head: response_head(status, &fields, keep_alive),
            body,
            content_length: length,
            keep_alive,
        }
    }

    /// 301 to `location`, the directory's path with its slash. Browsers
    /// follow it and remember it.
    fn redirect(location: &str, keep_alive: bool, head_only: bool) -> Response {
        let location = format!("Location: {location}\r\n");
        Response::text(
            Status::MovedPermanently,
            "",
            &location,
            keep_alive,
            head_only,
        )
    }

    /// 304: the validators again, and nothing else. A 304 has no body
    /// whatever its headers say (RFC 9110 §15.4.5), so it sends no
    /// `Content-Length` that a client could take for one.
    fn not_modified(validators: &Validators, keep_alive: bool) -> Response {
        let head = response_head(Status::NotModified, &validators.header_lines(), keep_alive);
        Response {
            status: Status::NotModified,
            head,
            body: Body::Empty,
            content_length: 0,
            keep_alive,
        }
    }

    /// The file `file_length` bytes long at `path`, or the part of it that
    /// `ranged` says: 200 with all of it, 206 with the range and its
    /// `Content-Range`, or 416 when the range is past the end.
    fn file(
        content: Content,
        path: &Path,
        validators: &Validators,
        file_length: u64,
        ranged: Ranged,
        keep_alive: bool,
        head_only: bool,
    ) -> Response {
        let (status, offset, length) = match ranged {
            Ranged::Whole => (Status::Ok, 0, file_length),
            Ranged::Part { start, length } => (Status::PartialContent, start, length),
            Ranged::Unsatisfiable => {
                let range = format!("Content-Range: bytes */{file_length}\r\n");
                return Response::text(
                    Status::RangeNotSatisfiable,
                    "",
                    &range,
                    keep_alive,
                    head_only,
                );
            }
        };
        let mut fields = format!(
            "Content-Type: {}\r\nContent-Length: {length}\r\n",
            content_type::for_path(path)
        );
        if status == Status::PartialContent {
            let last = offset + length - 1;
            fields.push_str(&format!(
                "Content-Range: bytes {offset}-{last}/{file_length}\r\n"
            ));
        }
        fields.push_str("Accept-Ranges: bytes\r\n");
        fields.push_str(&validators.header_lines());
        let body = match content {
            // Dropping the file closes it: HEAD needs only its length.
            _ if head_only || length == 0 => Body::Empty,
            Content::Open(file) => Body::File {
                file,
                offset,
                length,
            },
            Content::Cached(bytes) => Body::Cached {
                bytes,
                offset,
                length,
            },
        };
        Response {
            status,
            head: response_head(status, &fields, keep_alive),
            body,
            content_length: length,
            keep_alive,
        }
    }
}

/// `HTTP/1.1 <code> <reason>`, `Date`, the `fields` (whole header lines),
/// `Connection`, and the empty line that ends a head.
///
/// The status line says HTTP/1.1 even to an HTTP/1.0 client, as RFC 9110
/// §6.2 asks (a server sends its own version); the explicit `Connection`
/// header tells a 1.0 client whether the connection stays open.
fn response_head(status: Status, fields: &str, keep_alive: bool) -> Vec<u8> {
    format!(
        "HTTP/1.1 {} {}\r\nDate: {}\r\n{fields}Connection: {}\r\n\r\n",
        status.code(),
        status.reason(),
        common::http_date::format(SystemTime::now()),
        if keep_alive { "keep-alive" } else { "close" },
    )
    .into_bytes()
}

/// The hint after a document root that is missing or not a directory.
const WHERE_TO_RUN: &str = "(run from the repository root, or pass --root DIR)";

/// The document root, and the answer to a request for a file under it.
pub struct Site {
    /// The root's path with every symbolic link resolved, for the log.
    root: PathBuf,
    /// The root, open for the server's life: every file is opened relative
    /// to it, by a call in which the kernel checks that the path stays
    /// beneath it ([`crate::open_beneath`]).
    directory: Root,
    /// Small files in memory, checked against the disk once a second
    /// ([`crate::file_cache`]).
    cache: FileCache,
}

impl Site {
    /// The site under `root`, which must be a directory.
    ///
    /// The default root, `./html`, is relative to the directory the server
    /// was started in: the repository root, where `cargo run` from the top
    /// starts it. Started from anywhere else, it finds no `./html`, and the
    /// error says where to run it from instead of only "No such file".
    pub fn open(root: &Path) -> Result<Site> {
        let canonical = match fs::canonicalize(root) {
            Ok(canonical) => canonical,
            Err(error) if error.kind() == io::ErrorKind::NotFound => bail!(
                "document root {}: No such file or directory {WHERE_TO_RUN}",
                root.display()
            ),
            Err(error) => {
                return Err(error).with_context(|| format!("document root {}", root.display()))
            }
        };
        ensure!(
            canonical.is_dir(),
            "document root {} is not a directory {WHERE_TO_RUN}",
            root.display()
        );
        let directory =
            Root::open(&canonical).with_context(|| format!("document root {}", root.display()))?;
        Ok(Site {
            root: canonical,
            directory,
            cache: FileCache::new(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The response to a well-formed request: the file, or why not.
    pub fn respond(&self, request: &Request) -> Response {
        // These servers never read request bodies; after one, where the next
        // request starts is unknown, so the connection closes.
        let keep_alive = request.keep_alive && !request.has_body;
        let head_only = request.is_head();
        if request.method == Method::Other {
            return Response::error(Status::MethodNotAllowed, "", keep_alive, head_only);
        }
        let relative = match target::relative_path(&request.target) {
            Ok(relative) => relative,
            Err(BadTarget(reason)) => {
                return Response::error(Status::BadRequest, reason, keep_alive, head_only);
            }
        };
        let (content, metadata) = match self.open_file(&relative) {
            Ok(opened) => opened,
            Err(status) => return Response::error(status, "", keep_alive, head_only),
        };
        if metadata.is_dir() && !target::names_a_directory(&request.target) {
            // `/docs`: the directory, without the slash that makes its
            // relative links work.
            return match target::directory_location(&request.target) {
                Ok(location) => Response::redirect(&location, keep_alive, head_only),
                Err(BadTarget(reason)) => {
                    Response::error(Status::BadRequest, reason, keep_alive, head_only)
                }
            };
        }
        // A FIFO, a device, a directory named `index.html`: not a file to
        // serve.
        if !metadata.is_file() {
            return Response::error(Status::NotFound, "", keep_alive, head_only);
        }
        // The preconditions, in the order of RFC 9110 §13.2.2: If-Match or
        // If-Unmodified-Since, If-None-Match or If-Modified-Since, and
        // last If-Range with Range.
        let validators = Validators::of(&metadata);
        if validators.precondition_failed(request) {
            return Response::error(Status::PreconditionFailed, "", keep_alive, head_only);
        }
        if validators.not_modified(request) {
            return Response::not_modified(&validators, keep_alive);
        }
        let ranged = match &request.range {
            // `If-Range`: the range only if the client's part is of this
            // very file; else the whole file.
            Some(range)
                if request
                    .if_range
                    .as_deref()
                    .is_none_or(|validator| validators.if_range_holds(validator)) =>
            {
                range::ranged(range, metadata.len())
            }
            _ => Ranged::Whole,
        };
        Response::file(
            content,
            &relative,
            &validators,
            metadata.len(),
            ranged,
            keep_alive,
            head_only,
        )
    }

    /// Opens what `relative` names beneath the root, and `fstat`s it; or
    /// finds it in the cache, checked less than a second ago.
    ///
    /// The validators and the length come from the descriptor (or were
    /// taken with the cached content), never from the path again: they
    /// describe the very bytes that will be sent, even if the path is given
    /// to another file meanwhile.
    fn open_file(&self, relative: &Path) -> Result<(Content, fs::Metadata), Status> {
        self.cache
            .open(&self.directory, relative)
            .map_err(status_for)
    }
}

/// The status for a failed `openat2` (or `openat`) or `fstat`. EXDEV is
/// `openat2` refusing a path that leads out of the root: 404, as for a file
/// that is not there; ELOOP, the walk meeting a symbolic link.
fn status_for(error: io::Error) -> Status {
    if is_out_of_descriptors(&error) {
        return Status::ServiceUnavailable;
    }
    match error.raw_os_error().map(Errno::from_raw) {
        Some(
            Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP | Errno::ENAMETOOLONG | Errno::EXDEV,
        ) => Status::NotFound,
        Some(Errno::EACCES | Errno::EPERM) => Status::Forbidden,
        _ => Status::InternalServerError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::parse_head;

    fn head_text(response: &Response) -> String {
        String::from_utf8(response.head.clone()).unwrap()
    }

    fn request(text: &str) -> Request {
        parse_head(text.as_bytes()).unwrap().1.unwrap()
    }

    #[test]
    fn an_error_head_announces_its_body() {
        let response = Response::error(Status::NotFound, "", true, false);
        let head = head_text(&response);
        assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{head}");
        assert!(head.contains("Connection: keep-alive\r\n"));
        assert!(head.ends_with("\r\n\r\n"));
        let Body::Text(body) = &response.body else {
            panic!("no body")
        };
        assert!(head.contains(&format!("Content-Length: {}\r\n", body.len())));
    }

    #[test]
    fn method_not_allowed_names_the_allowed_ones() {
        let response = Response::error(Status::MethodNotAllowed, "", true, false);
        assert!(head_text(&response).contains("Allow: GET, HEAD\r\n"));
    }

    #[test]
    fn a_refused_head_closes_the_connection() {
        let response = Response::for_refused_head(RequestError::HeadTooLarge);
        assert_eq!(response.status().code(), 431);
        assert!(!response.keep_alive());
        assert!(head_text(&response).contains("Connection: close\r\n"));
    }

    #[test]
    fn a_request_with_a_body_closes_the_connection() {
        let root = testkit::TempDir::new("site-body");
        let site = Site::open(root.path()).unwrap();
        let response = site.respond(&request(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
        ));
        assert_eq!(response.status(), Status::MethodNotAllowed);
        assert!(!response.keep_alive());
    }

    fn get(site: &Site, target: &str) -> Response {
        site.respond(&request(&format!(
            "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"
        )))
    }

    #[test]
    fn serves_regular_files_under_the_root_only() {
        let outside = testkit::TempDir::new("site-outside");
        let secret = outside.write("secret.txt", "secret");
        let root = outside.path().join("root");
        outside.write("root/index.html", "<p>hi</p>");
        outside.write("root/docs/index.html", "docs");
        std::os::unix::fs::symlink(&secret, root.join("escape.txt")).unwrap();
        std::os::unix::fs::symlink("index.html", root.join("alias.html")).unwrap();
        nix::unistd::mkfifo(&root.join("pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let site = Site::open(&root).unwrap();

        assert_eq!(get(&site, "/").status(), Status::Ok);
        assert_eq!(get(&site, "/docs/").status(), Status::Ok);
        // A link that stays inside the root is followed.
        assert_eq!(get(&site, "/alias.html").status(), Status::Ok);
        // A link out of the root is not.
        assert_eq!(get(&site, "/escape.txt").status(), Status::NotFound);
        // A directory without its slash is sent to it.
        let redirect = get(&site, "/docs?x=1");
        assert_eq!(redirect.status(), Status::MovedPermanently);
        assert!(head_text(&redirect).contains("\r\nLocation: /docs/?x=1\r\n"));
        // A FIFO (opening it must not block): not a file to serve.
        assert_eq!(get(&site, "/pipe").status(), Status::NotFound);
        assert_eq!(get(&site, "/index.html/x").status(), Status::NotFound);
        assert_eq!(get(&site, "/../secret.txt").status(), Status::BadRequest);
    }

    #[test]
    fn each_failure_to_open_has_its_status() {
        let status = |errno: Errno| status_for(io::Error::from_raw_os_error(errno as i32));
        assert_eq!(status(Errno::ENOENT), Status::NotFound);
        assert_eq!(status(Errno::ENOTDIR), Status::NotFound);
        assert_eq!(status(Errno::ELOOP), Status::NotFound);
        assert_eq!(status(Errno::ENAMETOOLONG), Status::NotFound);
        assert_eq!(status(Errno::EACCES), Status::Forbidden);
        assert_eq!(status(Errno::EMFILE), Status::ServiceUnavailable);
        assert_eq!(status(Errno::ENFILE), Status::ServiceUnavailable);
        assert_eq!(status(Errno::EIO), Status::InternalServerError);
    }

    #[test]
    fn the_root_must_be_a_directory() {
        let directory = testkit::TempDir::new("site-root");
        let file = directory.write("file.txt", "");
        let error = Site::open(&file).err().unwrap();
        assert!(format!("{error:#}").contains("not a directory"));
        let missing = directory.path().join("missing");
        let error = Site::open(&missing).err().unwrap();
        assert_eq!(
            format!("{error:#}"),
            format!(
                "document root {}: No such file or directory \
                 (run from the repository root, or pass --root DIR)",
                missing.display()
            )
        );
    }

    #[test]
    fn head_gets_the_length_but_no_body() {
        let response = Response::error(Status::NotFound, "", true, true);
        assert!(matches!(response.body, Body::Empty));
        assert!(response.content_length() > 0);
    }

    /// The value of the header `name` in `response`'s head.
    fn header(response: &Response, name: &str) -> Option<String> {
        head_text(response).split("\r\n").find_map(|line| {
            let (field, value) = line.split_once(": ")?;
            field.eq_ignore_ascii_case(name).then(|| value.to_owned())
        })
    }

    fn site_with_a_file() -> (testkit::TempDir, Site) {
        let root = testkit::TempDir::new("site-validators");
        root.write("digits.txt", "0123456789");
        let site = Site::open(root.path()).unwrap();
        (root, site)
    }

    fn ask(site: &Site, method: &str, headers: &str) -> Response {
        site.respond(&request(&format!(
            "{method} /digits.txt HTTP/1.1\r\nHost: x\r\n{headers}\r\n"
        )))
    }

    #[test]
    fn every_response_has_a_date_and_a_file_its_validators() {
        let (_root, site) = site_with_a_file();
        let ok = ask(&site, "GET", "");
        assert!(header(&ok, "Date").is_some_and(|date| httpdate::parse_http_date(&date).is_ok()));
        assert!(header(&ok, "ETag").is_some_and(|tag| tag.starts_with('"')));
        assert!(header(&ok, "Last-Modified").is_some());
        assert_eq!(header(&ok, "Accept-Ranges").as_deref(), Some("bytes"));
        let missing = get(&site, "/missing");
        assert!(header(&missing, "Date").is_some());
        assert!(header(
            &Response::for_refused_head(RequestError::HeadTooLarge),
            "Date"
        )
        .is_some());
    }

    #[test]
    fn a_current_copy_gets_304_with_its_validators_and_no_body() {
        let (_root, site) = site_with_a_file();
        let ok = ask(&site, "GET", "");
        let tag = header(&ok, "ETag").unwrap();
        let date = header(&ok, "Last-Modified").unwrap();
        for (method, headers) in [
            ("GET", format!("If-None-Match: {tag}\r\n")),
            ("HEAD", format!("If-None-Match: {tag}\r\n")),
            ("GET", format!("If-Modified-Since: {date}\r\n")),
        ] {
            let response = ask(&site, method, &headers);
            assert_eq!(response.status(), Status::NotModified, "{method} {headers}");
            assert!(matches!(response.body, Body::Empty));
            assert_eq!(header(&response, "ETag"), Some(tag.clone()));
            assert_eq!(header(&response, "Last-Modified"), Some(date.clone()));
            assert_eq!(header(&response, "Content-Length"), None);
        }
        let changed = ask(
            &site,
            "GET",
            &format!("If-None-Match: \"x\"\r\nIf-Modified-Since: {date}\r\n"),
        );
        assert_eq!(changed.status(), Status::Ok);
    }

    #[test]
    fn a_range_gets_206_with_that_part_only_and_head_the_same_head() {
        let (_root, site) = site_with_a_file();
        let part = ask(&site, "GET", "Range: bytes=2-4\r\n");
        assert_eq!(part.status(), Status::PartialContent);
        assert_eq!(
            header(&part, "Content-Range").as_deref(),
            Some("bytes 2-4/10")
        );
        assert_eq!(part.content_length(), 3);
        assert!(matches!(
            part.body,
            Body::File {
                offset: 2,
                length: 3,
                ..
            }
        ));
        let head = ask(&site, "HEAD", "Range: bytes=2-4\r\n");
        assert_eq!(head.status(), Status::PartialContent);
        assert!(matches!(head.body, Body::Empty));
        let without_date = |response: &Response| {
            let text = head_text(response);
            text.split("\r\n")
                .filter(|line| !line.starts_with("Date:"))
                .collect::<Vec<_>>()
                .join("\r\n")
        };
        assert_eq!(without_date(&head), without_date(&part));

        let past_the_end = ask(&site, "GET", "Range: bytes=10-\r\n");
        assert_eq!(past_the_end.status(), Status::RangeNotSatisfiable);
        assert_eq!(
            header(&past_the_end, "Content-Range").as_deref(),
            Some("bytes */10")
        );
        let several = ask(&site, "GET", "Range: bytes=0-1,5-6\r\n");
        assert_eq!(several.status(), Status::Ok);
        assert_eq!(several.content_length(), 10);
    }

    #[test]
    fn if_range_sends_the_whole_file_when_the_part_is_of_another() {
        let (_root, site) = site_with_a_file();
        let tag = header(&ask(&site, "GET", ""), "ETag").unwrap();
        let same = ask(
            &site,
            "GET",
            &format!("Range: bytes=0-0\r\nIf-Range: {tag}\r\n"),
        );
        assert_eq!(same.status(), Status::PartialContent);
        let other = ask(&site, "GET", "Range: bytes=0-0\r\nIf-Range: \"old\"\r\n");
        assert_eq!(other.status(), Status::Ok);
        assert_eq!(other.content_length(), 10);
    }

    #[test]
    fn the_absolute_form_is_served_by_its_path() {
        let (_root, site) = site_with_a_file();
        let response = get(&site, "http://example.com:81/digits.txt");
        assert_eq!(response.status(), Status::Ok);
        assert_eq!(response.content_length(), 10);
    }
}
