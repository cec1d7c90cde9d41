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
struct Greeter {
    /// How many GET requests it has answered.
    visits: u64,
}

impl Application for Greeter {
    fn call(&mut self, environ: &Environ, start_response: &mut StartResponse<'_>) -> Chunks {
        let text_plain = ("Content-Type", "text/plain; charset=utf-8");
        if environ.variable("REQUEST_METHOD") != "GET" {
            start_response("405 Method Not Allowed", &[text_plain, ("Allow", "GET")]);
            return vec![b"Visits are counted with GET.\n".to_vec()];
        }
        self.visits += 1;
        let name = environ
            .variable("PATH_INFO")
            .trim_start_matches('/')
            .to_owned();
        let name = if name.is_empty() {
            "World".to_owned()
        } else {
            name
        };
        start_response("200 OK", &[text_plain]);
        vec![format!("Hello, {name}! (visit number {})\n", self.visits).into_bytes()]
    }
}

fn main() {
    // --help, one-line errors and exit codes: the same for every lesson.
    common::run(env!("CARGO_BIN_NAME"), || {
        wsgi::serve_forever(&mut Greeter::default())
    });
}
