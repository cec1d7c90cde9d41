//! `faulty`: an application with bugs on purpose. Each path makes one
//! mistake an application can make; the server answers each with a 500,
//! says what went wrong on its stderr, and serves the next request.
//!
//! | path | the mistake |
//! | --- | --- |
//! | `/error` | returns an error (Python: raises an exception) |
//! | `/panic` | panics |
//! | `/no-start-response` | returns a body without calling `start_response` |
//! | `/bad-status` | hands over `OK` as the status |
//! | `/header-injection` | puts a line break and a header of its own in a header value |
//! | `/failing-body` | a chunk of the body is an error |
//! | `/wrong-length` | a `Content-Length` that is not the body's length |
//!
//! `/` lists them; any other path is a 404.

use anyhow::{anyhow, bail, Result};

use crate::wsgi::{chunks, Chunks, Environ, StartResponse};

const PATHS: &str = "/error /panic /no-start-response /bad-status \
                     /header-injection /failing-body /wrong-length\n";

pub fn application(environ: &Environ, start_response: &mut StartResponse<'_>) -> Result<Chunks> {
    let text = [("Content-Type", "text/plain; charset=utf-8")];
    match environ.variable("PATH_INFO") {
        "/" => {
            start_response("200 OK", &text);
            Ok(chunks([PATHS.as_bytes().to_vec()]))
        }
        "/error" => bail!("the faulty application failed on purpose"),
        "/panic" => panic!("the faulty application panicked on purpose"),
        "/no-start-response" => Ok(chunks([b"a body and no status\n".to_vec()])),
        "/bad-status" => {
            start_response("OK", &text);
            Ok(chunks([b"which status?\n".to_vec()]))
        }
        "/header-injection" => {
            start_response(
                "200 OK",
                &[("X-Greeting", "hello\r\nSet-Cookie: session=stolen")],
            );
            Ok(chunks([b"injected?\n".to_vec()]))
        }
        "/failing-body" => {
            start_response("200 OK", &text);
            let body = [
                Ok(b"the first chunk\n".to_vec()),
                Err(anyhow!("the second chunk failed on purpose")),
            ];
            Ok(Box::new(body.into_iter()))
        }
        "/wrong-length" => {
            start_response("200 OK", &[("Content-Length", "1000")]);
            Ok(chunks([b"far fewer than 1000 bytes\n".to_vec()]))
        }
        _ => {
            start_response("404 Not Found", &text);
            Ok(chunks([PATHS.as_bytes().to_vec()]))
        }
    }
}
