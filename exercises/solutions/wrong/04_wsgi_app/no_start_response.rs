//! WRONG ANSWER to 04_wsgi_app: returns the body without calling
//! start_response. The server learns the status line and the headers only
//! from start_response; without them it has no head to send, so it closes
//! the connection without an answer and says why on stderr.
//! Must fail saying: "start_response"

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
        // The mistake: the body alone, as if the server knew the status.
        let _ = text_plain;

        vec![format!("Hello, {name}! (visit number {})\n", self.visits).into_bytes()]
    }
}

fn main() {
    // --help, one-line errors and exit codes: the same for every lesson.
    common::run(env!("CARGO_BIN_NAME"), || {
        wsgi::serve_forever(&mut Greeter::default())
    });
}
