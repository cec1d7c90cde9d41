//! The WSGI-like interface of webserver2, and a small server for it: given,
//! not part of the exercise. (webserver2's own is larger: it reads bodies,
//! catches an application's panic, and more.)
//!
//! An application is called once per request with the `environ` (the
//! request as CGI-style variables: `REQUEST_METHOD`, `PATH_INFO`,
//! `QUERY_STRING`, ...) and a `start_response` callback; it calls
//! `start_response(status, headers)` once, then returns the body as chunks.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;

use anyhow::{bail, Context, Result};
use common::println; // std's println!, except that a closed or full stdout cannot stop the server
use socket2::{Domain, Socket, Type};

/// The request, as the application sees it.
#[allow(dead_code)] // a starter may not read it yet
#[derive(Debug, Default)]
pub struct Environ {
    /// `REQUEST_METHOD`, `PATH_INFO`, `QUERY_STRING`, `SERVER_PROTOCOL`, `HTTP_*`.
    variables: BTreeMap<String, String>,
}

#[allow(dead_code)] // a starter may not read it yet
impl Environ {
    /// The variable `name`, or "" when the request did not set it.
    pub fn variable(&self, name: &str) -> &str {
        self.variables
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }
}

/// `start_response(status, headers)`: e.g. `("200 OK", &[("Content-Type", "text/plain")])`.
pub type StartResponse<'a> = dyn FnMut(&str, &[(&str, &str)]) + 'a;

/// The body, in chunks the server sends one after the other.
pub type Chunks = Vec<Vec<u8>>;

/// What webserver2 calls for each request; `&mut self`, so that an
/// application may keep state between requests.
pub trait Application {
    fn call(&mut self, environ: &Environ, start_response: &mut StartResponse<'_>) -> Chunks;
}

/// Reads a request head (to its blank line, at most 8 KiB) into an Environ.
fn get_environ(client_connection: &mut TcpStream) -> Result<Environ> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    while !received.windows(4).any(|window| window == b"\r\n\r\n") {
        if received.len() > 8 * 1024 {
            bail!("the request head is longer than 8 KiB");
        }
        let count = client_connection
            .read(&mut chunk)
            .context("recv from client")?;
        if count == 0 {
            bail!("the client closed before the end of the request head");
        }
        received.extend_from_slice(&chunk[..count]);
    }
    let head = String::from_utf8_lossy(&received).into_owned();
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    println!("{request_line}");
    let [method, target, version] = request_line.split(' ').collect::<Vec<_>>()[..] else {
        bail!("a malformed request line: {request_line:?}");
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut variables = BTreeMap::new();
    variables.insert("REQUEST_METHOD".to_owned(), method.to_owned());
    variables.insert("PATH_INFO".to_owned(), path.to_owned());
    variables.insert("QUERY_STRING".to_owned(), query.to_owned());
    variables.insert("SERVER_PROTOCOL".to_owned(), version.to_owned());
    for line in lines.take_while(|line| !line.is_empty()) {
        if let Some((name, value)) = line.split_once(':') {
            let name = format!("HTTP_{}", name.trim().to_uppercase().replace('-', "_"));
            variables.insert(name, value.trim().to_owned());
        }
    }
    Ok(Environ { variables })
}

/// Calls the application and sends what it returned: the status line and
/// headers it gave start_response, a blank line, the chunks; then closes.
fn handle_one_request(
    application: &mut dyn Application,
    client_connection: &mut TcpStream,
) -> Result<()> {
    let environ = get_environ(client_connection)?;
    let mut head: Option<String> = None;
    let body = application.call(&environ, &mut |status, headers| {
        let mut text = format!("HTTP/1.1 {status}\r\n");
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        head = Some(text);
    });
    let Some(mut head) = head else {
        bail!("the application returned without calling start_response");
    };
    let length: usize = body.iter().map(Vec::len).sum();
    head.push_str(&format!(
        "Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ));
    client_connection
        .write_all(head.as_bytes())
        .context("send to client")?;
    for chunk in body {
        client_connection
            .write_all(&chunk)
            .context("send to client")?;
    }
    Ok(())
}

/// The socket steps, then one client at a time, for ever.
pub fn serve_forever(application: &mut dyn Application) -> Result<()> {
    let server_address = common::server_address()?;
    let listen_socket = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket")?;
    listen_socket
        .set_reuse_address(true)
        .context("setsockopt SO_REUSEADDR")?;
    listen_socket
        .bind(&server_address.into())
        .with_context(|| format!("bind {server_address}"))?;
    listen_socket.listen(1).context("listen")?;
    let port = common::bound_port(&listen_socket)?; // PORT=0: the one the kernel chose
    println!("Serving HTTP on port {port} ...");
    loop {
        let (client_socket, _client_address) = listen_socket.accept().context("accept")?;
        let mut client_connection = TcpStream::from(client_socket);
        if let Err(err) = handle_one_request(application, &mut client_connection) {
            eprintln!("{err:#}");
        }
    }
}
