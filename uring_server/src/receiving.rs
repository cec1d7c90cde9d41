//! Receiving: one multishot receive per connection, into the provided buffers.
//!
//! One SQE (IORING_OP_RECV with IORING_RECV_MULTISHOT and IOSQE_BUFFER_SELECT), and the
//! kernel completes it again each time bytes arrive, a CQE per buffer filled, with the flag
//! MORE while it stays armed. So a keep-alive connection costs no submission per request:
//! its next request simply completes. A CQE without MORE ends it: the client's end of file
//! (result 0), an error, ENOBUFS (the buffer ring ran dry), or our cancellation.
//!
//! The server cancels it when the connection may receive no more ([`Connection::
//! accepts_input`](static_http::Connection::accepts_input)): its last response is queued,
//! or a client pipelining faster than it reads has 64 KiB of requests waiting. It is armed
//! again when the connection accepts input again, and after ENOBUFS.

use io_uring::{cqueue, opcode, squeue, types};
use nix::errno::Errno;
use std::os::fd::AsRawFd;

use crate::{errno_of, is_errno, Client, Operation, WebServer, BUFFER_GROUP};

/// Where a connection's multishot receive is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Receiving {
    /// Not armed: never yet, or ended by its last CQE (no MORE).
    Off,
    /// Armed: each arrival completes it, with MORE.
    Armed,
    /// A cancellation was submitted; its last CQE is still to come.
    Cancelling,
}

impl WebServer {
    // ANCHOR: receive_as_needed
    /// Arms the connection's multishot receive if it accepts input and none is armed;
    /// cancels it if it accepts none.
    pub(crate) fn receive_as_needed(&mut self, id: u64, client: &mut Client) {
        let wanted = client.connection.accepts_input() && !client.closing;
        match client.receiving {
            Receiving::Off if wanted => {
                let socket = types::Fd(client.stream.as_raw_fd());
                let receive = opcode::RecvMulti::new(socket, BUFFER_GROUP)
                    .build()
                    .user_data(Operation::Receive(id).user_data());
                // SAFETY: the receive names a buffer group, not a buffer of ours: the kernel
                // writes only into the provided buffers, mapped for the process's life. The
                // socket stays open until this receive's last CQE (closing.rs).
                unsafe { self.push(&[receive]) };
                client.receiving = Receiving::Armed;
            }
            Receiving::Armed if !wanted => {
                self.cancel(Operation::Receive(id));
                client.receiving = Receiving::Cancelling;
            }
            _ => {}
        }
    }
    // ANCHOR_END: receive_as_needed

    // ANCHOR: received
    /// A CQE of a connection's multishot receive: `result` bytes in the provided buffer its
    /// flags name, 0 for the client's end of file, or -errno.
    pub(crate) fn received(&mut self, id: u64, result: i32, flags: u32) {
        let buffer = cqueue::buffer_select(flags);
        let client = self.clients.remove(&id);
        if let Some(mut client) = client {
            if !cqueue::more(flags) {
                client.receiving = Receiving::Off; // the kernel holds it no more
            }
            if result >= 0 && !client.closing {
                match buffer {
                    // Copied out of the shared buffer, which goes back to the ring below.
                    Some(buffer) => {
                        let bytes = self.buffers.filled(buffer, result as usize);
                        client.connection.has_received(bytes);
                    }
                    // The client's end of file: no bytes, so no buffer was taken.
                    None if result == 0 => {
                        client.connection.has_received(&[]);
                    }
                    None => {}
                }
            } else if result < 0 && !is_quiet_end(result) {
                // A reset, most often: the connection's turn ends it, with a line in the log.
                client.failed = Some(errno_of(result));
            }
            self.give_back(buffer);
            self.serve_client(id, client);
        } else {
            self.give_back(buffer);
        }
    }

    /// Gives the buffer a CQE handed over back to the ring: at once, so that the ring never
    /// runs dry while a connection holds bytes it has already copied.
    fn give_back(&mut self, buffer: Option<u16>) {
        if let Some(buffer) = buffer {
            self.buffers.give_back(buffer);
        }
    }
    // ANCHOR_END: received

    /// Submits the cancellation of `operation`, a request still in the kernel. The cancelled
    /// request completes with -ECANCELED (or its own result, if it was finishing anyway);
    /// the cancellation's own CQE is skipped when it succeeds (IOSQE_CQE_SKIP_SUCCESS).
    pub(crate) fn cancel(&mut self, operation: Operation) {
        let cancel = opcode::AsyncCancel::new(operation.user_data())
            .build()
            .flags(squeue::Flags::SKIP_SUCCESS)
            .user_data(Operation::Cancel.user_data());
        // SAFETY: a cancellation points to no memory: it names its target by user_data.
        unsafe { self.push(&[cancel]) };
    }
}

/// ENOBUFS: the buffer ring ran dry while bytes were waiting. Nothing is lost: the bytes
/// stay in the socket, and the receive, armed again at the end of this connection's turn,
/// completes at once with them; by then this turn has given its buffers back. ECANCELED:
/// the server asked for it.
fn is_quiet_end(result: i32) -> bool {
    is_errno(result, Errno::ENOBUFS) || is_errno(result, Errno::ECANCELED)
}
