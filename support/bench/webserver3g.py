#!/usr/bin/env python3
"""The Python webserver3g of "Let's Build A Web Server, Part 3", for bench.

The baseline the Rust webserver3g is measured against: the same design, in
the article's language. One process accepts; every connection is handled by
a forked child, which reads the request once, prints it, sends the greeting
and exits; a SIGCHLD handler reaps every exited child with
waitpid(-1, WNOHANG) in a loop, so no zombie is left; the listen backlog is
1024, and nothing sleeps.

Where it differs from the article's script, and why:
- PORT from the environment (PORT=0: the kernel picks a free port), and the
  banner names the port really bound, as the Rust stages do, so that
  the benchmark can start it beside them.
- The greeting ends its lines with CRLF, byte for byte the Rust stages'
  answer (the article's triple-quoted string has bare LF), so both servers
  send the same bytes and the load tool checks both the same way.
- print(..., flush=True): Rust's stdout writes each line as it is printed;
  Python's is block-buffered when it is a file, and a child leaving through
  os._exit would drop its buffer, doing less work than the Rust child.
- Python 3 retries a system call interrupted by a signal itself (PEP 475),
  so the article's EINTR branch around accept() is kept only for the lesson.

Try it:
    PORT=8888 python3 support/bench/webserver3g.py
    curl http://localhost:8888/hello
"""
import errno
import os
import signal
import socket

REQUEST_QUEUE_SIZE = 1024
GREETING = b"HTTP/1.1 200 OK\r\n\r\nHello, World!\r\n"


def reap_children(signal_number, frame):
    """Collect every child that has exited; stop when none is left."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # ECHILD: no children at all
        if pid == 0:
            return  # children left, all still running


def handle_request(connection):
    request = connection.recv(1024)
    print(request.decode(errors="replace"), flush=True)
    connection.sendall(GREETING)


def serve_forever():
    port = int(os.environ.get("PORT", "8888"))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("", port))
    listener.listen(REQUEST_QUEUE_SIZE)
    print(f"Serving HTTP on port {listener.getsockname()[1]} ...", flush=True)

    signal.signal(signal.SIGCHLD, reap_children)

    while True:
        try:
            connection, _address = listener.accept()
        except InterruptedError:  # never raised since Python 3.5 (PEP 475)
            continue
        except OSError as error:
            if error.errno == errno.EINTR:
                continue
            raise

        if os.fork() == 0:  # child
            listener.close()
            exit_code = 1
            try:
                handle_request(connection)
                exit_code = 0
            finally:
                # The child must never return into the accept loop.
                connection.close()
                os._exit(exit_code)
        else:  # parent: its copy of the connection is not needed
            connection.close()


if __name__ == "__main__":
    serve_forever()
