//! Files' bodies, without sendfile(2): each chunk read into a buffer with IORING_OP_READ,
//! then sent with IORING_OP_SEND, the two linked (IOSQE_IO_LINK) so that one submission
//! does both, in order.
//!
//! Why not splice(2), file to pipe to socket, which copies nothing, as sendfile does?
//! io_uring cannot try a splice without blocking, so it hands every splice to a worker
//! thread of its own (io-wq): two thread switches per chunk, and a pipe (two descriptors)
//! per transfer. A read of pages already in the page cache completes inline, in the
//! io_uring_enter that submits it; one not cached goes to a worker thread, which waits for
//! the disk while the server goes on (what epoll cannot do: a file is always "ready"). The
//! price is a copy: page cache to buffer, buffer to socket, where sendfile has the socket
//! take the page cache's pages. Small files (64 KiB at most) cost neither: they are in
//! memory (static_http's file cache) and go out in the same send as their head.
//!
//! A link fails as a whole: if the read brings fewer bytes than asked (the file shrank),
//! the linked send completes with -ECANCELED and is never performed, and the server sends
//! what the read brought instead.

use std::ops::Range;
use std::os::fd::AsRawFd;

use io_uring::{opcode, squeue, types};
use nix::errno::Errno;
use nix::libc::MSG_NOSIGNAL;
use static_http::Output;

use crate::sending::Sending;
use crate::{errno_of, is_errno, Client, Operation, WebServer};

/// The largest chunk of a file read and sent at once: 256 KiB, the memory a connection
/// holds while a large file goes out. Bigger, fewer submissions per file and more memory;
/// smaller, the reverse.
pub(crate) const FILE_CHUNK: usize = 256 * 1024;

/// How many chunk buffers are kept for the next files once their transfer is done: reused,
/// a buffer costs neither an allocation nor page faults.
const KEPT_FILE_BUFFERS: usize = 16;

/// A connection's chunk of a file: the buffer, and what of it is still to be sent.
#[derive(Default)]
pub(crate) struct FileChunk {
    /// The buffer reads land in, while the connection is sending a file.
    buffer: Option<Box<[u8]>>,
    /// The bytes of `buffer` read from the file and not yet sent.
    unsent: Range<usize>,
}

impl FileChunk {
    /// Accounts for `count` bytes of the chunk sent.
    pub(crate) fn sent(&mut self, count: usize) {
        self.unsent.start = (self.unsent.start + count).min(self.unsent.end);
    }
}

impl WebServer {
    // ANCHOR: send_file_chunk
    /// Submits the next chunk of the file: what a short send left of the last chunk, else a
    /// read of the next `FILE_CHUNK` bytes at `offset` linked to their send.
    pub(crate) fn send_file_chunk(
        &mut self,
        id: u64,
        client: &mut Client,
        file: types::Fd,
        offset: u64,
        length: u64,
    ) {
        let socket = types::Fd(client.stream.as_raw_fd());
        let user_data = Operation::Send(id).user_data();
        let buffer = client.chunk.buffer.get_or_insert_with(|| {
            self.file_buffers
                .pop()
                .unwrap_or_else(|| vec![0; FILE_CHUNK].into_boxed_slice())
        });
        if !client.chunk.unsent.is_empty() {
            let rest = &buffer[client.chunk.unsent.clone()];
            let send = opcode::Send::new(socket, rest.as_ptr(), rest.len() as u32)
                .flags(MSG_NOSIGNAL)
                .build()
                .user_data(user_data);
            // SAFETY: the buffer is the client's, on the heap, and stays there untouched
            // until this send's CQE: it is given back only when no send or read is in
            // flight, and the client is dropped only once the kernel holds none of its
            // operations (closing.rs).
            unsafe { self.push(&[send]) };
            client.sending = Some(Sending::FileChunk);
            return;
        }
        let chunk = length.min(FILE_CHUNK as u64) as u32;
        let read = opcode::Read::new(file, buffer.as_mut_ptr(), chunk)
            .offset(offset)
            .build()
            .flags(squeue::Flags::IO_LINK)
            .user_data(Operation::ReadFile(id).user_data());
        let send = opcode::Send::new(socket, buffer.as_ptr(), chunk)
            .flags(MSG_NOSIGNAL)
            .build()
            .user_data(user_data);
        // SAFETY: as above for the buffer, which the read fills and the send then reads;
        // the file stays open in the connection until its last byte is accounted for, after
        // these CQEs. Pushed together, the two are submitted in the same io_uring_enter, so
        // the link holds.
        unsafe { self.push(&[read, send]) };
        client.chunk.unsent = 0..chunk as usize;
        client.reading = true;
        client.sending = Some(Sending::FileChunk);
    }
    // ANCHOR_END: send_file_chunk

    /// The CQE of a file's read: how many bytes it brought, or -errno.
    pub(crate) fn file_read(&mut self, id: u64, result: i32) {
        if let Some(client) = self.clients.get_mut(&id) {
            client.reading = false;
            if result >= 0 {
                let count = result as usize;
                if count < client.chunk.unsent.len() {
                    // Short: the linked send was cancelled; this turn sends what came.
                    client.chunk.unsent = 0..count;
                }
                if count == 0 {
                    // The file shrank after its length went out: the connection ends.
                    if let Err(error) = client.connection.sent(0) {
                        client.failed = Some(error);
                    }
                }
            } else if !is_errno(result, Errno::ECANCELED) {
                client.failed = Some(errno_of(result));
            }
        }
        self.serve_client(id);
    }

    /// Keeps the client's chunk buffer for another file once its file is out.
    pub(crate) fn give_back_file_buffer(&mut self, client: &mut Client) {
        let sending_a_file = matches!(client.connection.output(), Output::File { .. });
        if client.is_busy() || sending_a_file || !client.chunk.unsent.is_empty() {
            return;
        }
        if let Some(buffer) = client.chunk.buffer.take() {
            if self.file_buffers.len() < KEPT_FILE_BUFFERS {
                self.file_buffers.push(buffer);
            }
        }
    }
}
