//! Sending: one IORING_OP_SEND at a time per connection, of what its `Connection` has to
//! send, and the accounting of its CQE.
//!
//! epoll_server called `send` when the socket was writable and learned at once how much
//! the kernel took. Here the send is submitted with a pointer to the bytes, and the kernel
//! reads them when it performs the send: at once if the socket buffer has room (inline,
//! during the io_uring_enter that submitted it), or later, when the client has read enough
//! to make room. Until the CQE says how many bytes went, the bytes must stay where they
//! are: so nothing is queued on the connection while its send is in flight (main.rs's
//! `take_turn`), and a connection is not dropped while the kernel holds one of its
//! operations (closing.rs). A short send is followed by a send of the rest.

use std::os::fd::AsRawFd;

use io_uring::{opcode, types};
use nix::errno::Errno;
use nix::libc::{MSG_MORE, MSG_NOSIGNAL};
use static_http::Output;

use crate::{errno_of, is_errno, Client, Operation, WebServer};

/// What the send in flight is sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sending {
    /// The connection's bytes in memory: heads, error pages, cached small files.
    Bytes,
    /// A chunk of a file, from the pipe or the buffer it was read into (files.rs).
    FileChunk,
    /// Nothing yet: a poll waits until the socket has room for the next splice (files.rs).
    Writable,
}

impl WebServer {
    // ANCHOR: send_output
    /// Submits the send of what the connection has to send next.
    pub(crate) fn send_output(&mut self, id: u64, client: &mut Client) {
        let socket = types::Fd(client.stream.as_raw_fd());
        match client.connection.output() {
            Output::Bytes { bytes, more } => {
                // MSG_MORE before a file's chunks: the head waits for them, as with
                // epoll_server's sendfile, rather than going out in a segment of its own.
                let flags = MSG_NOSIGNAL | if more { MSG_MORE } else { 0 };
                let length = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                let send = opcode::Send::new(socket, bytes.as_ptr(), length)
                    .flags(flags)
                    .build()
                    .user_data(Operation::Send(id).user_data());
                // SAFETY: `bytes` are the connection's unsent output, on the heap: moving the
                // client in and out of the map does not move them, and nothing changes them
                // until this send's CQE (nothing is queued while `client.sending` is set, and
                // a client is dropped only once the kernel holds none of its operations).
                unsafe { self.push(&[send]) };
                client.sending = Some(Sending::Bytes);
            }
            Output::File {
                file,
                offset,
                length,
            } => {
                let file = types::Fd(file.as_raw_fd());
                self.send_file_chunk(id, client, file, offset, length); // files.rs
            }
            Output::Nothing => {}
        }
    }
    // ANCHOR_END: send_output

    // ANCHOR: sent
    /// The CQE of a send: how many bytes the kernel took, or -errno.
    pub(crate) fn sent(&mut self, id: u64, result: i32) {
        let Some(mut client) = self.clients.remove(&id) else {
            return;
        };
        match client.sending.take() {
            // The poll's CQE (POLLOUT, or -ECANCELED): the turn splices again (files.rs).
            Some(Sending::Writable) => {}
            // A splice to a full socket, non-blocking so that the worker thread does not
            // sleep in it: wait for room (files.rs).
            Some(Sending::FileChunk) if is_errno(result, Errno::EAGAIN) => {
                self.wait_until_writable(id, &mut client);
            }
            sending if result >= 0 => {
                let count = result as usize;
                if sending == Some(Sending::FileChunk) {
                    client.chunk.sent(count);
                }
                if let Err(error) = client.connection.sent(count) {
                    client.failed = Some(error);
                }
            }
            // ECANCELED: the server cancelled it, or the file's read it was linked to
            // came short (files.rs).
            _ if is_errno(result, Errno::ECANCELED) => {}
            // EPIPE, ECONNRESET: the client is gone.
            _ => client.failed = Some(errno_of(result)),
        }
        self.serve_client(id, client);
    }
    // ANCHOR_END: sent
}
