//! `router`: a small framework in the style of Flask and Pyramid, standing
//! in for the article's `flaskapp.py` and `pyramidapp.py`. An application
//! is a list of routes; a route is a method, a path pattern and a handler
//! function; `{name}` in a pattern matches one path segment and hands it to
//! the handler.
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /hello` | a greeting |
//! | `GET /hello/{name}` | `Hello, {name}!` |
//! | `GET /environ` | the environ the server built, one variable a line |
//! | `POST /echo` | the request body, sent back |
//!
//! A path that no route matches gets 404; a path that a route matches for
//! another method gets 405 and an `Allow` header. HEAD is answered as GET:
//! the server leaves out the body.
//!
//! `PATH_INFO` is percent-decoded, as CGI and WSGI want, so `/hello/a%2Fb`
//! arrives as `/hello/a/b`, three segments, and no route matches it. Real
//! routers that must tell an encoded `/` from a separator match the raw
//! path instead (Python's servers pass it as `RAW_URI` or `REQUEST_URI`).

use std::collections::BTreeMap;

use anyhow::Result;

use crate::wsgi::{chunks, Application, Chunks, Environ, StartResponse};

/// The values of a route's `{name}` segments, by name.
type Parameters = BTreeMap<&'static str, String>;

/// What a route calls: what a WSGI application gets, plus the parameters.
type Handler = fn(&Environ, &Parameters, &mut StartResponse<'_>) -> Result<Chunks>;

/// This application: Flask's `@app.route(pattern, methods=[method])` on
/// each handler, as a list of (method, pattern, handler), tried in order.
pub struct Router {
    /// The routes; HEAD is answered by a GET route.
    routes: Vec<(&'static str, &'static str, Handler)>,
}

pub fn application() -> Router {
    let routes: [(_, _, Handler); 4] = [
        ("GET", "/hello", hello),
        ("GET", "/hello/{name}", hello_name),
        ("GET", "/environ", show_environ),
        ("POST", "/echo", echo),
    ];
    Router {
        routes: routes.to_vec(),
    }
}

impl Application for Router {
    fn call(
        &mut self,
        environ: &Environ,
        start_response: &mut StartResponse<'_>,
    ) -> Result<Chunks> {
        let method = match environ.variable("REQUEST_METHOD") {
            "HEAD" => "GET",
            other => other,
        };
        let mut allowed = Vec::new();
        for &(route_method, pattern, handler) in &self.routes {
            let Some(parameters) = match_pattern(pattern, environ.variable("PATH_INFO")) else {
                continue;
            };
            if route_method == method {
                return handler(environ, &parameters, start_response);
            }
            allowed.push(route_method);
            if route_method == "GET" {
                allowed.push("HEAD");
            }
        }
        if allowed.is_empty() {
            return text(
                start_response,
                "404 Not Found",
                "No route matches this path.\n",
            );
        }
        // RFC 9110: a 405 must list the methods that would have worked.
        let allow = allowed.join(", ");
        let headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Allow", &allow),
        ];
        start_response("405 Method Not Allowed", &headers);
        Ok(chunks([
            format!("This path answers {allow} only.\n").into_bytes()
        ]))
    }
}

/// The parameters of `path` if it matches `pattern`: as many segments,
/// literal segments equal, each `{name}` segment not empty.
fn match_pattern(pattern: &'static str, path: &str) -> Option<Parameters> {
    if pattern.split('/').count() != path.split('/').count() {
        return None;
    }
    let mut parameters = Parameters::new();
    for (expected, segment) in pattern.split('/').zip(path.split('/')) {
        match expected
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
        {
            Some(name) if !segment.is_empty() => {
                parameters.insert(name, segment.to_owned());
            }
            None if expected == segment => {}
            _ => return None,
        }
    }
    Some(parameters)
}

/// A text/plain response.
fn text(start_response: &mut StartResponse<'_>, status: &str, body: &str) -> Result<Chunks> {
    start_response(status, &[("Content-Type", "text/plain; charset=utf-8")]);
    Ok(chunks([body.as_bytes().to_vec()]))
}

fn hello(_: &Environ, _: &Parameters, start_response: &mut StartResponse<'_>) -> Result<Chunks> {
    text(
        start_response,
        "200 OK",
        "Hello, World! (from the router)\n",
    )
}

/// The server refused paths with control characters, so the name is text
/// that is safe to send back as text/plain.
fn hello_name(
    _: &Environ,
    parameters: &Parameters,
    start_response: &mut StartResponse<'_>,
) -> Result<Chunks> {
    let name = parameters.get("name").map_or("", String::as_str);
    text(start_response, "200 OK", &format!("Hello, {name}!\n"))
}

/// The environ, one `NAME=value` a line, then the size of the body: what
/// the article shows as a picture of the dict.
fn show_environ(
    environ: &Environ,
    _: &Parameters,
    start_response: &mut StartResponse<'_>,
) -> Result<Chunks> {
    let mut listing: String = environ
        .variables
        .iter()
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect();
    listing.push_str(&format!("wsgi.input: {} bytes\n", environ.input.len()));
    text(start_response, "200 OK", &listing)
}

/// The request body, sent back as bytes: it arrives through the environ's
/// input, as through WSGI's `wsgi.input`. Not with the client's
/// Content-Type: an echo labelled text/html would be a page anyone could
/// make this server serve.
fn echo(
    environ: &Environ,
    _: &Parameters,
    start_response: &mut StartResponse<'_>,
) -> Result<Chunks> {
    start_response("200 OK", &[("Content-Type", "application/octet-stream")]);
    Ok(chunks([environ.input.clone()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_literal_segments_and_parameters() {
        assert_eq!(match_pattern("/hello", "/hello"), Some(Parameters::new()));
        assert_eq!(match_pattern("/hello", "/hello/"), None);
        assert_eq!(match_pattern("/hello", "/hell"), None);
        let parameters = match_pattern("/hello/{name}", "/hello/Alice").unwrap();
        assert_eq!(parameters["name"], "Alice");
        assert_eq!(match_pattern("/hello/{name}", "/hello/"), None);
        assert_eq!(match_pattern("/hello/{name}", "/hello/a/b"), None);
    }
}
