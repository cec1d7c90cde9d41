//! WRONG ANSWER to 04_wsgi_app: the Content-Type header is given only to the
//! first answer (set once, in a field taken out with Option::take). The
//! headers go with every response: each is read by a client that has not
//! seen the others.
//! Must fail saying: "Content-Type"

mod wsgi;

use wsgi::{Application, Chunks, Environ, StartResponse};

/// Greets the name in the path and counts the visits (GET requests).
#[derive(Default)]
struct Greeter {
    /// How many GET requests it has answered.
    visits: u64,
    /// Whether the Content-Type has been sent already.
    typed: bool,
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
        // The mistake: the type told once, as if the client remembered it.
        if self.typed {
            start_response("200 OK", &[]);
        } else {
            self.typed = true;
            start_response("200 OK", &[text_plain]);
        }

        vec![format!("Hello, {name}! (visit number {})\n", self.visits).into_bytes()]
    }
}

fn main() {
    // --help, one-line errors and exit codes: the same for every lesson.
    common::run(env!("CARGO_BIN_NAME"), || {
        wsgi::serve_forever(&mut Greeter::default())
    });
}
