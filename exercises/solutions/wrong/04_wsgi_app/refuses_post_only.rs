//! WRONG ANSWER to 04_wsgi_app: refuses POST only, instead of every method
//! but GET. PUT, DELETE, PATCH... are then greeted and counted as visits,
//! though the statement counts GET requests only.
//! Must fail saying: "PUT /"
//! Must fail saying: "only GET"

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
        // The mistake: the one other method the statement names.
        if environ.variable("REQUEST_METHOD") == "POST" {
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
