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
pub type Parameters = BTreeMap<&'static str, String>;

/// What a route calls: the environ, the route's parameters, and the
/// `start_response` callback, as a WSGI application gets, plus parameters.
pub type Handler = fn(&Environ, &Parameters, &mut StartResponse<'_>) -> Result<Chunks>;

/// One route: Flask's `@app.route(pattern, methods=[method])` on a handler.
struct Route {
    /// The method it answers; HEAD is answered as GET.
    method: &'static str,
    /// The path it matches: `/hello/{name}`.
    pattern: &'static str,
    /// What answers it.
    handler: Handler,
}

/// This application: a router, its routes tried in order.
pub struct Router {
    /// The routes, in the order they are tried.
    routes: Vec<Route>,
}

/// The router and its routes.
pub fn application() -> Router {
    let route = |method, pattern, handler| Route {
        method,
        pattern,
        handler,
    };
    Router {
        routes: vec![
            route("GET", "/hello", hello),
            route("GET", "/hello/{name}", hello_name),
            route("GET", "/environ", show_environ),
            route("POST", "/echo", echo),
        ],
    }
}

impl Application for Router {
    fn call(
        &mut self,
        environ: &Environ,
        start_response: &mut StartResponse<'_>,
    ) -> Result<Chunks> {
        let path = environ.variable("PATH_INFO");
        let method = match environ.variable("REQUEST_METHOD") {
            "HEAD" => "GET",
            other => other,
        };
        let mut allowed = Vec::new();
        for route in &self.routes {
            let Some(parameters) = match_pattern(route.pattern, path) else {
                continue;
            };
            if route.method == method {
                return (route.handler)(environ, &parameters, start_response);
            }
            allowed.push(route.method);
            if route.method == "GET" {
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

/// The parameters of `path` if it matches `pattern`: the same number of
/// segments, literal segments equal, each `{name}` segment not empty.
fn match_pattern(pattern: &'static str, path: &str) -> Option<Parameters> {
    let mut parameters = Parameters::new();
    let mut expected_segments = pattern.split('/');
    let mut segments = path.split('/');
    loop {
        match (expected_segments.next(), segments.next()) {
            (None, None) => return Some(parameters),
            (Some(expected), Some(segment)) => {
                match expected
                    .strip_prefix('{')
                    .and_then(|rest| rest.strip_suffix('}'))
                {
                    Some(name) if !segment.is_empty() => {
                        parameters.insert(name, segment.to_owned());
                    }
                    Some(_) => return None,
                    None if expected == segment => {}
                    None => return None,
                }
            }
            _ => return None,
        }
    }
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

fn hello_name(
    _: &Environ,
    parameters: &Parameters,
    start_response: &mut StartResponse<'_>,
) -> Result<Chunks> {
    // The server refused paths with control characters, so the name is
    // text that is safe to send back as text/plain.
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
        .variables()
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect();
    listing.push_str(&format!("wsgi.input: {} bytes\n", environ.input().len()));
    text(start_response, "200 OK", &listing)
}

/// The request body, sent back as bytes: the body arrives through the
/// environ's input, as through WSGI's `wsgi.input`.
fn echo(
    environ: &Environ,
    _: &Parameters,
    start_response: &mut StartResponse<'_>,
) -> Result<Chunks> {
    // Not the client's Content-Type: an echo labelled text/html would be
    // a page anyone could make this server serve.
    start_response("200 OK", &[("Content-Type", "application/octet-stream")]);
    Ok(chunks([environ.input().to_vec()]))
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
