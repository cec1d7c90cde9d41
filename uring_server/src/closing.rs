//! Closing a connection: not before the kernel is done with it.
//!
//! epoll_server closed a socket at once. Here the kernel may still hold operations of the
//! connection: its multishot receive, almost always, a send or a file's read sometimes. A
//! receive holds its own reference to the socket, so closing our descriptor would not even
//! end it; a send or a read holds a pointer into the client's buffers, which must not be
//! freed under it. So closing cancels each operation still in flight (IORING_OP_ASYNC_CANCEL,
//! by its user_data), keeps the client, and drops it, closing the socket, once the last of
//! their CQEs has come back. Client numbers are never reused, so no late CQE is mistaken
//! for another client's.

use crate::receiving::Receiving;
use crate::{Client, Operation, WebServer};

impl WebServer {
    // ANCHOR: close_client
    /// Closes the client: cancels what the kernel still holds of it, and drops it (closing
    /// the socket) once nothing is left; until then it stays in the map, marked `closing`,
    /// and each of its CQEs calls this again.
    pub(crate) fn close_client(&mut self, id: u64, mut client: Client) {
        if !client.closing {
            client.closing = true;
            if client.receiving == Receiving::Armed {
                self.cancel(Operation::Receive(id));
                client.receiving = Receiving::Cancelling;
            }
            if client.reading {
                self.cancel(Operation::ReadFile(id));
            }
            if client.sending.is_some() {
                self.cancel(Operation::Send(id));
            }
        }
        if client.receiving != Receiving::Off || client.is_busy() {
            self.clients.insert(id, client);
        }
        // Else dropped here: the socket is closed, its buffers freed.
    }
    // ANCHOR_END: close_client
}
