//! webserver2: a server that runs any application written to an interface.
//!
//! Ports `part2/webserver2.py` of "Let's Build A Web Server, Part 2"; the
//! article's applications (`wsgiapp.py`, `pyramidapp.py`, `flaskapp.py`,
//! `djangoapp.py`) are the modules of `apps/`.
//!
//! Changed from webserver1: the server is split from the application.
//!
//! - The interface between them is WSGI's, in Rust terms (`wsgi.rs`): the
//!   request's environ in, status and headers handed to a `start_response`
//!   callback, the body out as chunks.
//! - `WsgiServer` holds an application, any value that implements
//!   `wsgi::Application`, and names none: `main` picks one by the name on
//!   the command line, as the Python imports `module:callable`.
//! - `handle_one_request` reads the whole request (`request.rs`), builds the
//!   environ (`get_environ`), calls the application, and sends what it
//!   handed over as an HTTP/1.1 response with `Content-Length`, `Date` and
//!   `Server` (`response.rs`). It prints both, a la `curl -v`.
//! - A request the server cannot read gets a 400 (or 413, 431, 501, 505); an
//!   application that fails (an error, a panic, a malformed response) gets a
//!   500. Either way the server goes on to the next client. (In the Python,
//!   a request line without three words, or an exception in the
//!   application, ends the server.)
//!
//! Try it:
//!
//! ```text
//! cargo run -p webserver2 -- hello        # or: router, counter, faulty
//! curl -v http://localhost:8888/hello
//! cargo run -p webserver2 -- router
//! curl http://localhost:8888/hello/Alice
//! curl 'http://localhost:8888/environ?x=1'
//! ```

mod apps;
mod request;
mod response;
mod wsgi;

use std::any::Any;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{SocketAddrV4, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use socket2::{Domain, Socket, Type};

use request::{Incoming, Request};
use response::Response;
use wsgi::{Application, Environ};

/// The `backlog` of listen(2), 1 as in the Python: how many completed
/// connections the kernel queues while the server is busy elsewhere.
const REQUEST_QUEUE_SIZE: i32 = 1;

/// A body longer than this is not printed, only counted.
const MAX_PRINTED_BODY_BYTES: usize = 1024;

/// Part 1's server with an application added: the Python's `WSGIServer`.
struct WsgiServer {
    listen_socket: Socket,
    application: Box<dyn Application>,
}

impl WsgiServer {
    /// The socket steps, in the article's order, up to a socket that the
    /// kernel accepts connections on; then the application to call. The
    /// Python's `make_server`: `WSGIServer(address)` and `set_app(app)`.
    fn bind(server_address: SocketAddrV4, application: Box<dyn Application>) -> Result<WsgiServer> {
        let listen_socket = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket")?;
        // Without SO_REUSEADDR, a restarted server could not bind its port
        // while connections of the previous run linger in TIME_WAIT.
        listen_socket
            .set_reuse_address(true)
            .context("setsockopt SO_REUSEADDR")?;
        listen_socket
            .bind(&server_address.into())
            .with_context(|| format!("bind {server_address}"))?;
        listen_socket.listen(REQUEST_QUEUE_SIZE).context("listen")?;
        Ok(WsgiServer {
            listen_socket,
            application,
        })
    }

    /// The port the kernel really bound: the one asked for, or a free one
    /// picked by the kernel when `PORT=0`.
    fn port(&self) -> Result<u16> {
        let address = self.listen_socket.local_addr().context("getsockname")?;
        let address = address.as_socket().context("not an internet socket")?;
        Ok(address.port())
    }

    /// One client at a time, for ever: the next `accept` happens only after
    /// the previous client's connection is closed.
    fn serve_forever(&mut self) -> Result<()> {
        loop {
            let (client_socket, _client_address) = self.listen_socket.accept().context("accept")?;
            let mut client_connection = TcpStream::from(client_socket);
            if let Err(err) = self.handle_one_request(&mut client_connection) {
                // One client's trouble (a reset, a closed connection) is not
                // the server's: say so and go on to the next client.
                eprintln!("{err:#}");
            }
            // Dropping the stream closes the socket: the kernel sends FIN.
            // Python: client_connection.close().
            drop(client_connection);
        }
    }

    /// Reads one request, runs the application on it, sends the response.
    fn handle_one_request(&mut self, client_connection: &mut TcpStream) -> Result<()> {
        let request = match request::read_request(client_connection).context("recv from client")? {
            Incoming::Request(request) => request,
            // Connected and closed without a word: nobody to answer.
            Incoming::NothingSent => return Ok(()),
            Incoming::Rejected(rejection) => {
                eprintln!(
                    "refused a request: {}: {}",
                    rejection.status, rejection.reason
                );
                let response = Response::plain_text(rejection.status, rejection.reason);
                return finish_response(client_connection, &response, true);
            }
        };
        print_request(&request);
        let include_body = request.method != "HEAD";
        let environ = get_environ(request, client_connection)?;
        let response = self.run_application(&environ);
        finish_response(client_connection, &response, include_body)
    }

    /// The application's response, or a 500 if it failed in any way. The
    /// error goes to stderr (WSGI's `wsgi.errors`), not to the client.
    fn run_application(&mut self, environ: &Environ) -> Response {
        match self.call_application(environ) {
            Ok(response) => response,
            Err(err) => {
                eprintln!(
                    "{}: the application failed: {err:#}",
                    env!("CARGO_BIN_NAME")
                );
                Response::plain_text("500 Internal Server Error", "The application failed.")
            }
        }
    }

    /// Python: `result = self.application(env, self.start_response)`, then
    /// the body collected from the chunks.
    ///
    /// The whole body is collected before anything is sent, so that the
    /// server can send `Content-Length` and can still answer 500 when a
    /// chunk fails. A production server streams large bodies instead: with
    /// the application's own `Content-Length`, or chunked encoding.
    fn call_application(&mut self, environ: &Environ) -> Result<Response> {
        let mut headers_set: Option<(String, Vec<(String, String)>)> = None;
        let application = &mut self.application;
        // A panic unwinds through every frame up to main, and the process
        // exits: one bug on one path would stop the server for every
        // client. catch_unwind stops the unwinding here, so that a panic is
        // a 500 like an error. It is AssertUnwindSafe because the
        // application is used again after a panic, although the panic may
        // have left its state half updated: the same bet as a Python
        // server that catches an exception. (With `panic = "abort"` in the
        // build profile, there is no unwinding, and nothing to catch.)
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| -> Result<Vec<u8>> {
            let mut start_response = |status: &str, headers: &[(&str, &str)]| {
                let headers = headers
                    .iter()
                    .map(|&(name, value)| (name.to_owned(), value.to_owned()))
                    .collect();
                headers_set = Some((status.to_owned(), headers));
            };
            let chunks = application.call(environ, &mut start_response)?;
            let mut body = Vec::new();
            for chunk in chunks {
                body.extend_from_slice(&chunk?);
            }
            Ok(body)
        }));
        let body = match outcome {
            Ok(body) => body.context("it returned an error")?,
            Err(panic) => bail!("it panicked: {}", panic_message(panic.as_ref())),
        };
        let (status, headers) =
            headers_set.context("it returned without calling start_response")?;
        Response::from_application(status, headers, body)
    }
}

/// The text a panic was raised with, if it was text.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(message) = panic.downcast_ref::<&str>() {
        message
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message
    } else {
        "(no message)"
    }
}

/// The environ for `request`: the CGI variables WSGI requires, one
/// `HTTP_*` variable per header, and the body as the input.
fn get_environ(request: Request, client_connection: &TcpStream) -> Result<Environ> {
    let server_address = client_connection.local_addr().context("getsockname")?;
    let client_address = client_connection.peer_addr().context("getpeername")?;
    let mut variables = BTreeMap::new();
    let mut set = |name: &str, value: String| {
        variables.insert(name.to_owned(), value);
    };
    set("wsgi.url_scheme", "http".to_owned());
    set("REQUEST_METHOD", request.method);
    // The application is mounted at the root: all of the path is its own.
    set("SCRIPT_NAME", String::new());
    set("PATH_INFO", request.path);
    set("QUERY_STRING", request.query);
    set("SERVER_PROTOCOL", request.version);
    // The Python asks for the machine's name (getfqdn). Here it is the
    // address the client connected to: what the client reached, with no
    // DNS lookup, and right whichever interface it came in on.
    set("SERVER_NAME", server_address.ip().to_string());
    set("SERVER_PORT", server_address.port().to_string());
    set("REMOTE_ADDR", client_address.ip().to_string());
    set("REMOTE_PORT", client_address.port().to_string());

    for (header, value) in request.headers {
        let Some(name) = cgi_variable_name(&header) else {
            continue;
        };
        // A header sent twice becomes one variable, values joined by
        // commas, as HTTP allows (RFC 9110 §5.3). Content-Length is the
        // exception: repeated, it must repeat the same number (the request
        // was checked for that), and the number is what CGI wants.
        let is_length = name == "CONTENT_LENGTH";
        variables
            .entry(name)
            .and_modify(|earlier: &mut String| {
                if !is_length {
                    earlier.push_str(", ");
                    earlier.push_str(&value);
                }
            })
            .or_insert(value);
    }
    Ok(Environ::new(variables, request.body))
}

/// `User-Agent` becomes `HTTP_USER_AGENT`; `Content-Type` and
/// `Content-Length` become `CONTENT_TYPE` and `CONTENT_LENGTH`, as in CGI.
///
/// None for a name with an underscore: `X_Forwarded_For` would become the
/// same variable as `X-Forwarded-For`, and a client could pass off its own
/// header as one a proxy in front of the server set. nginx and gunicorn
/// drop such headers too.
fn cgi_variable_name(header: &str) -> Option<String> {
    if header.contains('_') {
        return None;
    }
    let name = header.to_ascii_uppercase().replace('-', "_");
    match name.as_str() {
        "CONTENT_TYPE" | "CONTENT_LENGTH" => Some(name),
        _ => Some(format!("HTTP_{name}")),
    }
}

/// Sends the response (its head only when `include_body` is false) and
/// prints it.
fn finish_response(
    client_connection: &mut TcpStream,
    response: &Response,
    include_body: bool,
) -> Result<()> {
    let bytes = response.to_bytes(SystemTime::now(), include_body);
    print_message('>', &bytes);
    client_connection
        .write_all(&bytes)
        .context("send to client")
}

/// Prints the request a la `curl -v`, one `< ` line per line. The server
/// refused control characters in the head, so the lines are safe to show.
fn print_request(request: &Request) {
    println!(
        "< {} {} {}",
        request.method, request.target, request.version
    );
    for (name, value) in &request.headers {
        println!("< {name}: {value}");
    }
    println!("<");
    print_body('<', &request.body);
}

/// Prints a whole response: head, blank line, body.
fn print_message(direction: char, bytes: &[u8]) {
    let (head, body) = match bytes.windows(4).position(|window| window == b"\r\n\r\n") {
        Some(end) => (&bytes[..end], &bytes[end + 4..]),
        None => (bytes, &[][..]),
    };
    for line in String::from_utf8_lossy(head).lines() {
        println!("{direction} {line}");
    }
    println!("{direction}");
    print_body(direction, body);
}

/// Prints a body if it is short text; otherwise only its size. Control
/// characters in it could drive the terminal, so text that has some is not
/// printed either.
fn print_body(direction: char, body: &[u8]) {
    if body.is_empty() {
        return;
    }
    let printable = std::str::from_utf8(body).ok().filter(|text| {
        body.len() <= MAX_PRINTED_BODY_BYTES
            && !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    });
    match printable {
        Some(text) => {
            for line in text.lines() {
                println!("{direction} {line}");
            }
        }
        None => println!("{direction} [{} bytes of body]", body.len()),
    }
}

/// Serves one of the applications in `apps/` over HTTP, one client at a
/// time, on port 8888 (or the port in PORT; PORT=0 picks a free one).
#[derive(Parser)]
#[command(name = "webserver2", arg_required_else_help = true)]
struct Arguments {
    /// The application to serve.
    #[arg(value_enum)]
    application: ApplicationName,
}

/// The applications, by the name the command line gives them.
#[derive(Clone, Copy, ValueEnum)]
enum ApplicationName {
    /// A plain function: the same greeting for every request (wsgiapp.py)
    Hello,
    /// Routes with path parameters: /hello, /hello/{name}, /environ, POST /echo (Flask, Pyramid)
    Router,
    /// A struct that counts its visits (Django)
    Counter,
    /// Bugs on purpose: each path fails its own way, each gets a 500
    Faulty,
}

impl ApplicationName {
    /// The application itself: the Python's `getattr(module, callable)`.
    fn load(self) -> Box<dyn Application> {
        match self {
            ApplicationName::Hello => Box::new(apps::hello::application),
            ApplicationName::Router => Box::new(apps::router::application()),
            ApplicationName::Counter => Box::new(apps::counter::Counter::new()),
            ApplicationName::Faulty => Box::new(apps::faulty::application),
        }
    }

    fn name(self) -> String {
        self.to_possible_value()
            .map(|value| value.get_name().to_owned())
            .unwrap_or_default()
    }
}

fn run(application_name: ApplicationName) -> Result<()> {
    let mut server = WsgiServer::bind(common::server_address()?, application_name.load())?;
    println!("Serving HTTP on port {} ...", server.port()?);
    println!(
        "WSGIServer: serving the {} application",
        application_name.name()
    );
    server.serve_forever()
}

fn main() {
    // A missing or unknown application name: clap prints the usage with the
    // names and exits with code 2, the convention for a usage error.
    let arguments = Arguments::parse();
    if let Err(err) = run(arguments.application) {
        eprintln!("{}: {err:#}", env!("CARGO_BIN_NAME"));
        std::process::exit(1);
    }
}
