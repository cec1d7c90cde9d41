//! webserver2 (part2/webserver2.py): the server split from the application (WSGI).
//! Part 2 of "Let's Build A Web Server"; its chapter, docs/src/webserver2.md, says why.
//!
//! For each client, `handle_one_request` does what the Python's does:
//!
//! ```text
//! request = read_request(client)        // wsgi_http (support/): not the lesson
//! environ = get_environ(request)        // the request as CGI variables
//! body    = application.call(&environ, &mut start_response)
//! finish_response(client, status, headers, body)
//! ```
//!
//! Try it:
//!
//! ```text
//! cargo run -p webserver2 -- router     # or: hello, counter, faulty
//! curl -v http://localhost:8888/hello/Alice
//! ```

mod apps;
mod wsgi;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{SocketAddrV4, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::time::SystemTime;

use anyhow::{anyhow, Context, Result};
use clap::{Parser, ValueEnum};
use common::{eprintln, println}; // std's, except that a closed or full log cannot stop the server
use socket2::{Domain, Socket, Type};
use wsgi_http::{Incoming, Request};

use wsgi::{Application, Environ};

/// The `backlog` of listen(2), 1 as in the Python: how many completed
/// connections the kernel queues while the server is busy elsewhere. Linux
/// queues one more than asked; when the queue is full it drops a new
/// client's SYN, and that client's kernel sends it again a second later.
/// Part 3 (webserver3b) makes that queue visible.
const REQUEST_QUEUE_SIZE: i32 = 1;

/// Part 1's server with an application added: the Python's `WSGIServer`.
struct WsgiServer {
    /// The socket the kernel queues new connections on.
    listen_socket: Socket,
    /// What answers every request: any value that implements the interface.
    application: Box<dyn Application>,
}

impl WsgiServer {
    // ANCHOR: socket_steps
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
    // ANCHOR_END: socket_steps

    // ANCHOR: accept_loop
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
            // Dropping the stream closes the socket: the kernel sends FIN and
            // the client reads end-of-file, which ends the body. Python:
            // client_connection.close().
            drop(client_connection);
        }
    }
    // ANCHOR_END: accept_loop

    // ANCHOR: handle_request
    /// Reads one request, runs the application on it, sends the response.
    fn handle_one_request(&mut self, client_connection: &mut TcpStream) -> Result<()> {
        let incoming = wsgi_http::read_request(client_connection).context("recv from client")?;
        let request = match incoming {
            Incoming::Request(request) => request,
            // Connected and closed without a word: nobody to answer.
            Incoming::NothingSent => return Ok(()),
            Incoming::Refused(status, reason) => {
                eprintln!("refused a request: {status}: {reason}");
                return finish_response(client_connection, plain_text(status, reason), true);
            }
        };
        wsgi_http::print_request(&request);
        let include_body = request.method != "HEAD";
        let environ = get_environ(request, client_connection)?;
        let response = self.call_application(&environ).unwrap_or_else(|err| {
            // To stderr (WSGI's `wsgi.errors`), not to the client.
            eprintln!(
                "{}: the application failed: {err:#}",
                env!("CARGO_BIN_NAME")
            );
            plain_text("500 Internal Server Error", "The application failed.")
        });
        finish_response(client_connection, response, include_body)
    }
    // ANCHOR_END: handle_request

    // ANCHOR: call_application
    /// Python: `result = self.application(env, self.start_response)`, then
    /// the body collected from the chunks, whole, so that the server can
    /// send `Content-Length` and can still answer 500 when a chunk fails.
    /// (A production server streams a large body instead.)
    fn call_application(&mut self, environ: &Environ) -> Result<Response> {
        let mut headers_set = None;
        let application = &mut self.application;
        // A panic unwinds up to main and ends the process: one bug on one
        // path would stop the server for every client. catch_unwind stops
        // it here, so that a panic is a 500 like an error. The application
        // is used again although the panic may have left its state half
        // updated (hence AssertUnwindSafe): the bet a Python server makes
        // when it catches an exception.
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| -> Result<Vec<u8>> {
            // Python's `start_response`: keeps the status and the headers,
            // the server's own added, for `finish_response`.
            let mut start_response = |status: &str, response_headers: &[(&str, &str)]| {
                headers_set = Some(with_server_headers(status, response_headers));
            };
            let chunks = application.call(environ, &mut start_response)?;
            Ok(chunks.collect::<Result<Vec<_>>>()?.concat())
        }));
        let body = outcome
            .map_err(|panic| {
                let text = panic.downcast_ref::<&str>().copied();
                let text = text.or_else(|| panic.downcast_ref::<String>().map(String::as_str));
                anyhow!("it panicked: {}", text.unwrap_or("(no message)"))
            })?
            .context("it returned an error")?;
        let (status, headers) =
            headers_set.context("it returned without calling start_response")?;
        wsgi_http::check_response(&status, &headers, body.len())?;
        Ok((status, headers, body))
    }
    // ANCHOR_END: call_application
}

/// What goes back to the client: the status (`200 OK`), the headers, the
/// body; Python's `headers_set` and the body.
type Response = (String, Vec<(String, String)>, Vec<u8>);

/// What `start_response` keeps: the status and the application's headers,
/// and the server's own, `Date` and `Server`, unless the application set
/// them. Python: `self.headers_set = [status, response_headers + server_headers]`.
fn with_server_headers(
    status: &str,
    response_headers: &[(&str, &str)],
) -> (String, Vec<(String, String)>) {
    // Clamped, not a panic, should the clock say the year 10000.
    let date = common::http_date::format(SystemTime::now());
    let server = concat!("webserver2/", env!("CARGO_PKG_VERSION"));
    let server_headers = [("Date", date.as_str()), ("Server", server)];
    let unset = server_headers
        .iter()
        .filter(|(name, _)| !has_header(response_headers, name));
    let headers = response_headers
        .iter()
        .chain(unset)
        .map(|&(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    (status.to_owned(), headers)
}

/// Whether `headers` has one called `name`, in any case.
fn has_header<T: AsRef<str>>(headers: &[(T, T)], name: &str) -> bool {
    let mut names = headers.iter().map(|(header, _)| header.as_ref());
    names.any(|header| header.eq_ignore_ascii_case(name))
}

// ANCHOR: get_environ
/// The environ for `request`: the CGI variables WSGI requires, one
/// `HTTP_*` variable per header, and the body as the input.
fn get_environ(request: Request, client_connection: &TcpStream) -> Result<Environ> {
    let server_address = client_connection.local_addr().context("getsockname")?;
    let client_address = client_connection.peer_addr().context("getpeername")?;
    let mut variables = BTreeMap::new();
    let mut set = |name: &str, value: String| variables.insert(name.to_owned(), value);
    set("wsgi.url_scheme", "http".to_owned());
    set("REQUEST_METHOD", request.method);
    // The application is mounted at the root: all of the path is its own.
    set("SCRIPT_NAME", String::new());
    set("PATH_INFO", request.path);
    set("QUERY_STRING", request.query);
    set("SERVER_PROTOCOL", request.version.to_owned());
    // The Python asks for the machine's name (getfqdn). Here it is the
    // address the client connected to: no DNS lookup, and right whichever
    // interface the client came in on.
    set("SERVER_NAME", server_address.ip().to_string());
    set("SERVER_PORT", server_address.port().to_string());
    set("REMOTE_ADDR", client_address.ip().to_string());
    set("REMOTE_PORT", client_address.port().to_string());
    // `X_Forwarded_For` would become the same variable as `X-Forwarded-For`:
    // a client could pass off its own header as one a proxy in front set.
    // nginx and gunicorn drop such headers too.
    for (header, value) in request
        .headers
        .into_iter()
        .filter(|(name, _)| !name.contains('_'))
    {
        let name = match header.to_ascii_uppercase().replace('-', "_") {
            name if name == "CONTENT_TYPE" || name == "CONTENT_LENGTH" => name,
            name => format!("HTTP_{name}"),
        };
        // A header sent twice is one variable, values joined by commas, as
        // HTTP allows (RFC 9110 §5.3); but a repeated Content-Length repeats
        // the same number (checked), and the number is what CGI wants.
        match variables.get_mut(&name) {
            Some(earlier) if name != "CONTENT_LENGTH" => *earlier = format!("{earlier}, {value}"),
            Some(_) => {}
            None => {
                variables.insert(name, value);
            }
        }
    }
    let input = request.body;
    Ok(Environ { variables, input })
}
// ANCHOR_END: get_environ

/// The server's own answer, for a refused request or a failed application.
fn plain_text(status: &str, reason: &str) -> Response {
    let text = [("Content-Type", "text/plain; charset=utf-8")];
    let (status, headers) = with_server_headers(status, &text);
    let body = format!("{status}: {reason}\n").into_bytes();
    (status, headers, body)
}

// ANCHOR: finish_response
/// Python's `finish_response`: the status line, the headers, a blank line
/// and the body (not for HEAD), printed and sent; the caller then closes.
/// `Content-Length` tells the client where the body ends without waiting
/// for the close; a HEAD response has the length of the body it leaves out.
fn finish_response(
    client_connection: &mut TcpStream,
    response: Response,
    include_body: bool,
) -> Result<()> {
    let (status, headers, body) = response;
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !has_header(&headers, "Content-Length") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n");
    let body = if include_body { &body[..] } else { &[] };
    wsgi_http::print_message('>', &head, body);
    client_connection
        .write_all(&[head.as_bytes(), b"\r\n", body].concat())
        .context("send to client")
}
// ANCHOR_END: finish_response

/// Serves one of the applications in `apps/` over HTTP, one client at a
/// time, on port 8888 (or the port in PORT; PORT=0 picks a free one).
#[derive(Parser)]
#[command(
    name = "webserver2",
    arg_required_else_help = true,
    after_help = "Ports part2/webserver2.py (Let's Build A Web Server, Part 2). Chapter: docs/src/webserver2.md"
)]
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

/// The application itself: the Python's `getattr(module, callable)`.
fn load(name: ApplicationName) -> Box<dyn Application> {
    match name {
        ApplicationName::Hello => Box::new(apps::hello::application),
        ApplicationName::Router => Box::new(apps::router::application()),
        ApplicationName::Counter => Box::new(apps::counter::Counter::default()),
        ApplicationName::Faulty => Box::new(apps::faulty::application),
    }
}

fn run(name: ApplicationName) -> Result<()> {
    let mut server = WsgiServer::bind(common::server_address()?, load(name))?;
    let port = common::bound_port(&server.listen_socket)?; // PORT=0: the one the kernel chose
    println!("Serving HTTP on port {port} ...");
    let name = name.to_possible_value().context("a nameless application")?;
    println!("WSGIServer: serving the {} application", name.get_name());
    server.serve_forever()
}

fn main() {
    // A missing or unknown application name: clap prints the usage with the
    // names and exits with code 2, the convention for a usage error.
    let arguments = Arguments::parse();
    if let Err(err) = run(arguments.application) {
        // One line, with a hint for an address in use, as every lesson.
        common::exit_with_error(env!("CARGO_BIN_NAME"), &err);
    }
}
