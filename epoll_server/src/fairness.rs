//! The second step, fairness: a budget per turn, and a ready list.
//!
//! Edge-triggered, a turn goes on until EAGAIN, because nothing left behind
//! is reported again. But a client that pipelines requests and reads the
//! answers as fast as they are sent never makes a read or a write return
//! EAGAIN: its turn would never end, `epoll_wait` would not be called
//! again, and every other client would wait. So a turn also ends once it
//! has read and written [`BYTES_PER_TURN`] bytes, and a connection left
//! with work goes on the server's ready list (static_http's `ReadyList`),
//! to be served again before the next sleep: epoll will not report it
//! again, since nothing new happened on its socket.
//!
//! Level-triggered, none of this is needed: a turn is one read and one
//! write, and the next `epoll_wait` reports every ready socket in turn.

use static_http::Connection;

use crate::{WebServer, READ_BUFFER_SIZE};

// ANCHOR: budget
/// Edge-triggered, how many bytes one connection may read and write in one
/// turn before the others get theirs: one read buffer, about what level
/// mode gives a busy client (one full read or one write per turn). Bigger,
/// the others wait longer behind a fast client; smaller, the same bytes
/// cost more turns and more `epoll_wait` calls.
pub(crate) const BYTES_PER_TURN: usize = READ_BUFFER_SIZE;

/// One client's turn, counted in bytes read and written.
pub(crate) struct Budget {
    /// What the connection had read and written when the turn began.
    transferred_before: u64,
}

impl Budget {
    pub(crate) fn for_one_turn(connection: &Connection) -> Budget {
        Budget {
            transferred_before: connection.transferred(),
        }
    }

    /// Whether the turn has read and written [`BYTES_PER_TURN`] bytes, and
    /// must end whether or not the socket has more.
    pub(crate) fn is_spent(&self, connection: &Connection) -> bool {
        connection.transferred() - self.transferred_before >= BYTES_PER_TURN as u64
    }
}
// ANCHOR_END: budget

impl WebServer {
    // ANCHOR: serve_ready_list
    /// Gives each connection on the ready list one more turn: those whose
    /// budget ran out with work left. One that spends its budget again goes
    /// back on the list, behind whatever the next `epoll_wait` reports.
    pub(crate) fn serve_ready_list(&mut self) {
        for fd in self.ready_list.take_round() {
            self.serve_descriptor(fd);
        }
    }
    // ANCHOR_END: serve_ready_list
}
