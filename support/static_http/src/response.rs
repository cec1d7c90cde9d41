//! Responses: status lines, heads, and the file (or short text) after them.
//!
//! The course writes `Content-Length` so that the browser knows where a body
//! ends without waiting for the connection to close: that is what makes
//! keep-alive ("长链接") possible. Here every response carries it, and also
//! `Content-Type` and `Connection`, so that a client never has to guess.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use nix::errno::Errno;

use crate::content_type;
use crate::descriptors::is_out_of_descriptors;
use crate::open_beneath::Root;
use crate::request::{Method, Request, RequestError};
use crate::target::{self, BadTarget};

/// The statuses these servers answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    MovedPermanently,
    BadRequest,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    RequestHeaderFieldsTooLarge,
    InternalServerError,
    ServiceUnavailable,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::MovedPermanently => 301,
            Status::BadRequest => 400,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::RequestHeaderFieldsTooLarge => 431,
            Status::InternalServerError => 500,
            Status::ServiceUnavailable => 503,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::MovedPermanently => "Moved Permanently",
            Status::BadRequest => "Bad Request",
            Status::Forbidden => "Forbidden",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::RequestHeaderFieldsTooLarge => "Request Header Fields Too Large",
            Status::InternalServerError => "Internal Server Error",
            Status::ServiceUnavailable => "Service Unavailable",
        }
    }

    /// The sentence of the small text body sent with an error status.
    fn explanation(self) -> &'static str {
        match self {
            Status::Ok => "",
            Status::MovedPermanently => "that is a directory; its path ends with /",
            Status::BadRequest => "this server cannot read that request",
            Status::Forbidden => "the server may not read that file",
            Status::NotFound => "there is no file at that path",
            Status::MethodNotAllowed => "this server only answers GET and HEAD",
            Status::RequestHeaderFieldsTooLarge => "the request head is longer than 8 KiB",
            Status::InternalServerError => "the server could not read that file",
            Status::ServiceUnavailable => {
                "the server is out of file descriptors; try again in a moment"
            }
        }
    }
}

/// What follows a response head.
pub(crate) enum Body {
    /// Nothing: a HEAD request, or a file of zero bytes.
    Empty,
    /// A short text, already in memory (the error pages).
    Text(Vec<u8>),
    /// `length` bytes of an open file, sent chunk by chunk as the socket
    /// takes them, never read into memory whole.
    File { file: File, length: u64 },
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

    /// The answer to a head that could not be read: 400 or 431, and the
    /// connection closes, since where the next request would start is
    /// anyone's guess.
    pub fn for_refused_head(error: RequestError) -> Response {
        match error {
            RequestError::Malformed(reason) => {
                Response::error(Status::BadRequest, reason, false, false)
            }
            RequestError::HeadTooLarge => {
                Response::error(Status::RequestHeaderFieldsTooLarge, "", false, false)
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
        let mut extra_headers = extra_headers.to_owned();
        match status {
            Status::MethodNotAllowed => extra_headers.push_str("Allow: GET, HEAD\r\n"),
            Status::ServiceUnavailable => extra_headers.push_str("Retry-After: 1\r\n"),
            _ => {}
        }
        let head = response_head(
            status,
            "text/plain; charset=utf-8",
            length,
            keep_alive,
            &extra_headers,
        );
        let body = if head_only {
            Body::Empty
        } else {
            Body::Text(text.into_bytes())
        };
        Response {
            status,
            head,
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

    fn file(file: File, length: u64, path: &Path, keep_alive: bool, head_only: bool) -> Response {
        let head = response_head(
            Status::Ok,
            content_type::for_path(path),
            length,
            keep_alive,
            "",
        );
        let body = if head_only || length == 0 {
            // Dropping the file closes it: HEAD needs only its length.
            Body::Empty
        } else {
            Body::File { file, length }
        };
        Response {
            status: Status::Ok,
            head,
            body,
            content_length: length,
            keep_alive,
        }
    }
}

/// `HTTP/1.1 <code> <reason>` and the headers every response carries.
///
/// The status line says HTTP/1.1 even to an HTTP/1.0 client, as RFC 9110
/// §6.2 asks (a server sends its own version); the explicit `Connection`
/// header tells a 1.0 client whether the connection stays open.
fn response_head(
    status: Status,
    content_type: &str,
    content_length: u64,
    keep_alive: bool,
    extra_headers: &str,
) -> Vec<u8> {
    format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {content_type}\r\nContent-Length: {content_length}\r\nConnection: {}\r\n{extra_headers}\r\n",
        status.code(),
        status.reason(),
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
        let (file, metadata) = match self.open_file(&relative) {
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
        let length = metadata.len();
        Response::file(file, length, &relative, keep_alive, head_only)
    }

    /// Opens what `relative` names beneath the root, and `fstat`s it.
    ///
    /// The length comes from the descriptor, never from the path again: it
    /// describes the very file that will be sent, even if the path is given
    /// to another file meanwhile.
    fn open_file(&self, relative: &Path) -> Result<(File, fs::Metadata), Status> {
        let file = self.directory.open_file(relative).map_err(status_for)?;
        let metadata = file.metadata().map_err(status_for)?;
        Ok((file, metadata))
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

    #[test]
    fn the_absolute_form_is_served_by_its_path() {
        let root = testkit::TempDir::new("site-absolute");
        root.write("digits.txt", "0123456789");
        let site = Site::open(root.path()).unwrap();
        let response = get(&site, "http://example.com:81/digits.txt");
        assert_eq!(response.status(), Status::Ok);
        assert_eq!(response.content_length(), 10);
    }
}
