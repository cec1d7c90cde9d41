//! Files' bodies, without sendfile(2): spliced through a pipe, or read into a buffer and
//! sent.
//!
//! sendfile has the socket take the page cache's pages themselves: the server copies no
//! byte. io_uring has no sendfile, but it has IORING_OP_SPLICE, and sendfile is a splice
//! through a pipe the kernel keeps for the purpose: so a large file goes file → pipe →
//! socket, two splices linked (IOSQE_IO_LINK: the second starts when the first has
//! completed, and is cancelled if the first comes short), with one pipe per transfer, its
//! capacity raised to [`PIPE_CHUNK`]. No copy: the pipe holds references to the page
//! cache's pages, and the socket takes them over.
//!
//! The price: io_uring cannot try a splice without blocking, so every splice goes to a
//! worker thread of the ring's (io-wq), a thread switch each way; a pipe costs two
//! descriptors; and the splice to the socket must not sleep in the worker while the
//! client is slow, so the socket is non-blocking, and when it is full the splice fails
//! with EAGAIN and the server waits for room with IORING_OP_POLL_ADD (POLLOUT). For a
//! megabyte, two thread switches cost far less than two copies; for a small file the
//! reverse. So a body of at most [`SMALL_BODY`] bytes (a file the cache did not keep: just
//! changed) is read with IORING_OP_READ into a buffer and sent with IORING_OP_SEND, linked
//! the same way, as is a large one when no pipe can be had (descriptors ran out). A read of
//! cached pages completes inline, in the io_uring_enter that submits it.
//!
//! Either way a file's pages are read by the kernel, which waits for the disk in a worker
//! thread if they are not cached, while the server goes on serving: what epoll could not
//! do (a file is always "ready").

use std::ops::Range;
use std::os::fd::{AsRawFd, OwnedFd};

use io_uring::{opcode, squeue, types};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::libc::{MSG_NOSIGNAL, POLLOUT};
use static_http::Output;

use crate::sending::Sending;
use crate::{errno_of, is_errno, Client, Operation, WebServer};

/// Bodies up to this long go through a buffer (read, then send); longer ones through a
/// pipe (splice, then splice). The largest file static_http's cache keeps.
const SMALL_BODY: u64 = static_http::file_cache::SMALL_FILE;

/// The most one splice into the pipe moves, and the capacity each pipe is given
/// (F_SETPIPE_SZ; 1 MiB is `/proc/sys/fs/pipe-max-size`'s default).
const PIPE_CHUNK: usize = 1024 * 1024;

/// How many idle pipes (two descriptors each) and buffers are kept for the next files.
const KEPT_PIPES: usize = 4;
const KEPT_BUFFERS: usize = 4;

/// A connection's file on its way: through what, and what of it is on the way.
#[derive(Default)]
pub(crate) struct FileChunk {
    /// The pipe or the buffer, while the connection is sending a file.
    through: Option<Through>,
    /// The bytes read from the file and not yet sent: in the pipe (`0..n`), or this range
    /// of the buffer.
    unsent: Range<usize>,
}

/// What a file's bytes go through between the file and the socket.
pub(crate) enum Through {
    /// A pipe: the read end, the write end, and its capacity.
    Pipe(OwnedFd, OwnedFd, usize),
    /// A buffer of the server's.
    Buffer(Box<[u8]>),
}

impl FileChunk {
    /// Accounts for `count` bytes of the chunk sent.
    pub(crate) fn sent(&mut self, count: usize) {
        self.unsent.start = (self.unsent.start + count).min(self.unsent.end);
    }
}

impl WebServer {
    // ANCHOR: send_file_chunk
    /// Submits the next part of the file: what the socket has not yet taken of the last
    /// chunk, else the next chunk, read from `offset` and linked to its sending.
    pub(crate) fn send_file_chunk(
        &mut self,
        id: u64,
        client: &mut Client,
        file: types::Fd,
        offset: u64,
        length: u64,
    ) {
        let socket = types::Fd(client.stream.as_raw_fd());
        let sending = Operation::Send(id).user_data();
        let reading = Operation::ReadFile(id).user_data();
        let through = match client.chunk.through.take() {
            Some(through) => through,
            None if length > SMALL_BODY => self.take_pipe().unwrap_or_else(|| self.take_buffer()),
            None => self.take_buffer(),
        };
        let through = client.chunk.through.insert(through);
        let unsent = client.chunk.unsent.clone();
        let entries = match through {
            Through::Pipe(pipe_out, _, _) if !unsent.is_empty() => {
                let out = types::Fd(pipe_out.as_raw_fd());
                vec![
                    opcode::Splice::new(out, -1, socket, -1, unsent.len() as u32)
                        .build()
                        .user_data(sending),
                ]
            }
            // ANCHOR: splice_pair
            Through::Pipe(pipe_out, pipe_in, capacity) => {
                let chunk = length.min(*capacity as u64) as u32;
                let (out, into) = (
                    types::Fd(pipe_out.as_raw_fd()),
                    types::Fd(pipe_in.as_raw_fd()),
                );
                client.chunk.unsent = 0..chunk as usize;
                vec![
                    opcode::Splice::new(file, offset as i64, into, -1, chunk)
                        .build()
                        .flags(squeue::Flags::IO_LINK)
                        .user_data(reading),
                    opcode::Splice::new(out, -1, socket, -1, chunk)
                        .build()
                        .user_data(sending),
                ]
            }
            // ANCHOR_END: splice_pair
            Through::Buffer(buffer) if !unsent.is_empty() => {
                let rest = &buffer[unsent];
                vec![opcode::Send::new(socket, rest.as_ptr(), rest.len() as u32)
                    .flags(MSG_NOSIGNAL)
                    .build()
                    .user_data(sending)]
            }
            Through::Buffer(buffer) => {
                let chunk = length.min(buffer.len() as u64) as u32;
                client.chunk.unsent = 0..chunk as usize;
                vec![
                    opcode::Read::new(file, buffer.as_mut_ptr(), chunk)
                        .offset(offset)
                        .build()
                        .flags(squeue::Flags::IO_LINK)
                        .user_data(reading),
                    opcode::Send::new(socket, buffer.as_ptr(), chunk)
                        .flags(MSG_NOSIGNAL)
                        .build()
                        .user_data(sending),
                ]
            }
        };
        // SAFETY: a splice points to no memory. The buffer is the client's, on the heap,
        // and stays there untouched until these CQEs: it is given back only when no send
        // or read is in flight, and the client is dropped only once the kernel holds none
        // of its operations (closing.rs). The file and the pipe stay open as long. Pushed
        // together, a read and its send are submitted in the same io_uring_enter, so the
        // link holds.
        unsafe { self.push(&entries) };
        client.reading = entries.len() == 2;
        client.sending = Some(Sending::FileChunk);
    }
    // ANCHOR_END: send_file_chunk

    /// The CQE of a file's read, into the pipe or the buffer: how many bytes it brought,
    /// or -errno.
    pub(crate) fn file_read(&mut self, id: u64, result: i32) {
        let Some(mut client) = self.clients.remove(&id) else {
            return;
        };
        client.reading = false;
        if result >= 0 {
            let count = result as usize;
            if count < client.chunk.unsent.len() {
                // Short: the linked send was cancelled; the next turn sends what came.
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
        self.serve_client(id, client);
    }

    /// A splice to a full socket failed with EAGAIN: waits until it has room
    /// (IORING_OP_POLL_ADD, one-shot), then the next turn splices again.
    pub(crate) fn wait_until_writable(&mut self, id: u64, client: &mut Client) {
        let socket = types::Fd(client.stream.as_raw_fd());
        let poll = opcode::PollAdd::new(socket, POLLOUT as u32)
            .build()
            .user_data(Operation::Send(id).user_data());
        // SAFETY: a poll points to no memory; the socket stays open until its CQE.
        unsafe { self.push(&[poll]) };
        client.sending = Some(Sending::Writable);
    }

    /// Once the client's file is out, keeps its pipe or buffer for another file.
    pub(crate) fn end_file_transfer(&mut self, client: &mut Client) {
        let sending_a_file = matches!(client.connection.output(), Output::File { .. });
        if client.is_busy() || sending_a_file {
            return;
        }
        // A pipe still holding bytes (a file that shrank, a client gone) is closed.
        let empty = client.chunk.unsent.is_empty();
        match client.chunk.through.take() {
            Some(pipe @ Through::Pipe(..)) if empty && self.pipes.len() < KEPT_PIPES => {
                self.pipes.push(pipe)
            }
            Some(buffer @ Through::Buffer(_)) if self.buffers_kept.len() < KEPT_BUFFERS => {
                self.buffers_kept.push(buffer)
            }
            _ => {}
        }
        client.chunk.unsent = 0..0;
    }

    /// A pipe for a file: a kept one, or a new one with its capacity raised to
    /// [`PIPE_CHUNK`] (or what the kernel allows). `None` when descriptors have run out.
    fn take_pipe(&mut self) -> Option<Through> {
        if let Some(pipe) = self.pipes.pop() {
            return Some(pipe);
        }
        // Non-blocking: a splice that would wait on it fails instead, in the worker.
        let (pipe_out, pipe_in) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).ok()?;
        let capacity = fcntl(&pipe_in, FcntlArg::F_SETPIPE_SZ(PIPE_CHUNK as i32))
            .or_else(|_| fcntl(&pipe_in, FcntlArg::F_GETPIPE_SZ))
            .ok()?;
        Some(Through::Pipe(pipe_out, pipe_in, capacity as usize))
    }

    /// A buffer for a file: a kept one, or a new one of [`SMALL_BODY`] bytes.
    fn take_buffer(&mut self) -> Through {
        self.buffers_kept
            .pop()
            .unwrap_or_else(|| Through::Buffer(vec![0; SMALL_BODY as usize].into_boxed_slice()))
    }
}

/// The kept pipes and buffers of the server (`WebServer::pipes`, `buffers_kept`).
pub(crate) type Kept = Vec<Through>;
