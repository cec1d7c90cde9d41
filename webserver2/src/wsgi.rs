//! The interface between the server and an application: what WSGI
//! (PEP 3333) gives Python, in Rust terms.
//!
//! An application is anything that implements [`Application`]: a plain
//! function with the right signature, or a value (a router, a struct with
//! state). For every request the server calls it with the request's
//! [`Environ`] and a [`StartResponse`] callback; the application passes the
//! status and its headers to the callback, and returns the body as
//! [`Chunks`]. The server turns those into an HTTP response. Neither side
//! knows anything else about the other.
//!
//! | WSGI, in Python | here |
//! | --- | --- |
//! | `app(environ, start_response)` | [`Application::call`]`(&mut self, &Environ, &mut StartResponse)` |
//! | `environ`, a dict of CGI variables | [`Environ`]: `environ.variable("PATH_INFO")` |
//! | `environ['wsgi.input']`, the body | `environ.input`, the body's bytes |
//! | `environ['wsgi.errors']` | the server's stderr: `eprintln!` |
//! | `environ['wsgi.url_scheme']` | `environ.variable("wsgi.url_scheme")`, always `http` |
//! | `wsgi.multithread`, `wsgi.multiprocess`, `wsgi.run_once` | `&mut self`: one call at a time, in one process, for ever |
//! | `start_response('200 OK', [('Content-Type', 'text/plain')])` | `start_response("200 OK", &[("Content-Type", "text/plain")])` |
//! | `return [b'Hello']`, any iterable of bytes | `Ok(chunks([b"Hello".to_vec()]))`: an iterator of chunks |
//! | an exception | `Err(...)` from `call` or from a chunk, or a panic: the server answers 500 |
//!
//! Where this is simpler than WSGI: `start_response` must be called before
//! `call` returns (WSGI also allows calling it while the body is iterated),
//! it has no `exc_info` argument and returns no `write` callable. A repeated
//! call replaces the earlier one.

use std::collections::BTreeMap;

use anyhow::Result;

/// What the server knows about one request, as CGI-style variables
/// (`REQUEST_METHOD`, `PATH_INFO`, `QUERY_STRING`, `HTTP_HOST`, ...) and
/// the request body.
///
/// Variables are Rust strings, so UTF-8. Python's WSGI decodes each byte as
/// Latin-1 instead, which never fails but hands an application mojibake for
/// UTF-8 text; the server here refuses (400) a request whose header values
/// are not UTF-8. A production Rust server keeps header values as bytes and
/// lets the application decide (hyper's `HeaderValue`).
#[derive(Debug, Default)]
pub struct Environ {
    /// The variables by name: WSGI's dict.
    pub variables: BTreeMap<String, String>,
    /// The request body: WSGI's `wsgi.input`, read whole by the server.
    pub input: Vec<u8>,
}

impl Environ {
    /// The variable `name`, or the empty string if the request has none, as
    /// CGI treats a missing variable: Python's `environ.get(name, '')`.
    pub fn variable(&self, name: &str) -> &str {
        self.variables.get(name).map_or("", String::as_str)
    }
}

/// WSGI's `start_response`: the callback an application hands the status
/// (`"200 OK"`) and its headers to. The server adds `Content-Length`,
/// `Date`, `Server` and `Connection` itself.
pub type StartResponse<'a> = dyn FnMut(&str, &[(&str, &str)]) + 'a;

/// The response body, chunk by chunk, as WSGI's iterable of byte strings.
/// A chunk that is an error makes the response a 500.
pub type Chunks = Box<dyn Iterator<Item = Result<Vec<u8>>>>;

/// A body made of chunks that cannot fail: `chunks([b"Hello".to_vec()])`
/// is Python's `return [b"Hello"]`.
pub fn chunks<const N: usize>(chunks: [Vec<u8>; N]) -> Chunks {
    Box::new(chunks.into_iter().map(Ok))
}

// ANCHOR: application
/// A web application, as the server sees it.
///
/// `&mut self`: the server calls its application one request at a time, so
/// an application may keep state in itself without locks. A server that ran
/// requests on several threads at once (WSGI's `wsgi.multithread`) would
/// need `&self` and `Sync`, and such state behind a `Mutex` or an atomic.
pub trait Application {
    fn call(&mut self, environ: &Environ, start_response: &mut StartResponse<'_>)
        -> Result<Chunks>;
}

/// A plain function is an application, as in WSGI.
impl<F> Application for F
where
    F: FnMut(&Environ, &mut StartResponse<'_>) -> Result<Chunks>,
{
    fn call(
        &mut self,
        environ: &Environ,
        start_response: &mut StartResponse<'_>,
    ) -> Result<Chunks> {
        self(environ, start_response)
    }
}
// ANCHOR_END: application
