//! `counter`: an application that is a value with state, standing in for
//! the article's Django project, an object set up once and then called for
//! every request.
//!
//! The server makes its application once, at start, and keeps it for its
//! whole life, so what the application keeps in itself outlives requests
//! and connections: here, the number of visits. (A server that forks a
//! process per request, as in Part 3, would lose it: each child would count
//! in its own copy of memory.)

use anyhow::Result;

use crate::wsgi::{chunks, Application, Chunks, Environ, StartResponse};

#[derive(Debug, Default)]
pub struct Counter {
    /// The GET and HEAD requests answered so far, this one included.
    visits: u64,
}

impl Application for Counter {
    fn call(
        &mut self,
        environ: &Environ,
        start_response: &mut StartResponse<'_>,
    ) -> Result<Chunks> {
        if !matches!(environ.variable("REQUEST_METHOD"), "GET" | "HEAD") {
            start_response(
                "405 Method Not Allowed",
                &[
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("Allow", "GET, HEAD"),
                ],
            );
            return Ok(chunks([b"Visits are counted with GET.\n".to_vec()]));
        }
        self.visits += 1;
        start_response("200 OK", &[("Content-Type", "text/plain; charset=utf-8")]);
        let greeting = format!(
            "Hello, World! (visit number {}, counted by a struct)\n",
            self.visits
        );
        Ok(chunks([greeting.into_bytes()]))
    }
}
