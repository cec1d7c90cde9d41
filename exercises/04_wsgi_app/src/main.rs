//! Exercise 04_wsgi_app (webserver2): an application for the WSGI-like
//! interface.
//!
//! The statement is in README.md next to this folder's Cargo.toml; the
//! check is `cargo ex check 04_wsgi_app`. The interface and the server are
//! in src/wsgi.rs (given); the application, below, is yours.
//!
//! Try it by hand:
//!
//! ```text
//! cargo run -p ex04_wsgi_app
//! curl -i http://localhost:8888/Alice     # Hello, Alice! (visit number 1)
//! curl -i -X POST http://localhost:8888/  # 405
//! ```

mod wsgi;

use wsgi::{Application, Chunks, Environ, StartResponse};

/// Greets the name in the path and counts the visits (GET requests).
#[derive(Default)]
#[allow(dead_code)] // visits: yours to count
struct Greeter {
    /// How many GET requests it has answered.
    visits: u64,
}

impl Application for Greeter {
    #[allow(unused_variables)] // environ and start_response: yours to use
    fn call(&mut self, environ: &Environ, start_response: &mut StartResponse<'_>) -> Chunks {
        // EXERCISE: for a GET, count the visit, call start_response("200 OK",
        // ...) with a Content-Type: text/plain header, and return the body
        // "Hello, NAME! (visit number N)\n", NAME from PATH_INFO without its
        // `/` ("World" when empty). Any other method: 405 Method Not
        // Allowed, not counted.
        todo!("the application")
    }
}

fn main() {
    // --help, one-line errors and exit codes: the same for every lesson.
    common::run(env!("CARGO_BIN_NAME"), || {
        wsgi::serve_forever(&mut Greeter::default())
    });
}
