//! WRONG ANSWER to 04_wsgi_app: counts the visit before looking at the
//! method, so a refused POST is counted too. The application's state
//! (self.visits) changes only for what it really served.
//! Must fail saying: "must not count"

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
        // The mistake: every request counted, the refused ones too.
        self.visits += 1;
        if environ.variable("REQUEST_METHOD") != "GET" {
            start_response("405 Method Not Allowed", &[text_plain, ("Allow", "GET")]);
            return vec![b"Visits are counted with GET.\n".to_vec()];
        }
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
