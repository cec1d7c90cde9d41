//! `hello`: the barest application, a plain function. Stands in for
//! `wsgiapp.py`, the article's "starting point for your own Web framework".
//!
//! Every request, whatever its method or path, gets the same greeting.

use anyhow::Result;

use crate::wsgi::{chunks, Chunks, Environ, StartResponse};

pub fn application(_environ: &Environ, start_response: &mut StartResponse<'_>) -> Result<Chunks> {
    start_response("200 OK", &[("Content-Type", "text/plain; charset=utf-8")]);
    Ok(chunks(
        [b"Hello, World! (from a plain function)\n".to_vec()],
    ))
}
