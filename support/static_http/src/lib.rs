//! What `nonblock_server` and `epoll_server` share and that is *not* their
//! lesson.
//!
//! The lesson of those two crates is the I/O model: a busy loop over
//! non-blocking sockets, then one epoll instance, level- or edge-triggered.
//! Serving static files correctly needs a good deal more than the course's
//! regular expression and `open(root + path)`, and none of it changes between
//! the two servers, so it lives here, written once and unit-tested once:
//!
//! * [`request`]: finding the end of a request head that may arrive in
//!   pieces, bounding its size, reading the request line and the headers
//!   that matter here (`Connection`, whether a body follows, `Host`, and
//!   those of conditional and range requests);
//! * [`target`]: turning the request target (`/path` or `http://host/path`)
//!   into a path under the document root, refusing every way out of it
//!   (`..`, percent-encoded or not, backslashes, NUL bytes, doubled
//!   slashes);
//! * [`open_beneath`]: opening that path relative to the root with the
//!   kernel checking, even in a race, that no symbolic link leads out
//!   (`openat2` with `RESOLVE_BENEATH`);
//! * [`conditional`] and [`range`]: `ETag` and `Last-Modified`, answering
//!   `If-None-Match` and `If-Modified-Since` with 304, `Range` with 206 or
//!   416;
//! * [`content_type`]: the `Content-Type` for a file name's extension;
//! * [`response`]: status lines and response heads, and [`Site`], which
//!   answers one request with a response whose body is a file;
//! * [`file_cache`]: small files in memory with their metadata, checked
//!   against the disk at most a second apart, so that a request for one
//!   costs no system call;
//! * [`connection`]: what one client connection holds between events: the
//!   bytes received and not yet parsed, the bytes not yet sent, the file being
//!   sent with `sendfile(2)`. Its methods make *one* system call each; how
//!   often to call them, and when, is the I/O model, and stays in each
//!   server's `main.rs`. A server whose kernel does the I/O (uring_server)
//!   calls none: it hands the connection what arrived and sends what the
//!   connection offers itself;
//! * [`deadline`]: how long a connection may be silent, may take to send a
//!   request head, and may linger while closing gracefully;
//! * [`ready_list`]: the connections an edge-triggered server must serve
//!   again before it sleeps, because their turn's budget ran out;
//! * [`options`]: the command line both servers share, and the address;
//! * [`log`]: the line per client and per request, written so that a closed
//!   or full standard output never stops the loop;
//! * [`descriptors`]: turning a client away when `accept` fails with EMFILE,
//!   with a spare descriptor kept for the purpose.

pub mod conditional;
pub mod connection;
pub mod content_type;
pub mod deadline;
pub mod descriptors;
pub mod file_cache;
pub mod log;
pub mod open_beneath;
pub mod options;
pub mod range;
pub mod ready_list;
pub mod request;
pub mod response;
pub mod target;

pub use connection::{Connection, Output, Received, Sent, Transmit};
pub use deadline::{Expiry, Timeouts, LINGERING_TIME};
pub use descriptors::{is_out_of_descriptors, turn_away_one_client, Spare};
pub use log::Log;
pub use options::{server_address, SiteOptions};
pub use ready_list::ReadyList;
pub use request::{Request, RequestError};
pub use response::{Response, Site, Status};
