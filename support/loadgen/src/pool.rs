//! The connections in flight: non-blocking sockets watched by one epoll
//! instance, each driven through connect → send → receive by its events.
//!
//! Each connection is a slot in a vector; its index is the epoll "data" the
//! kernel hands back with every event, so finding the connection of an event
//! costs one index, whatever the number of connections.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
use socket2::{Domain, SockRef, Socket, Type};

use crate::response::{Failure, Framing, Progress, ResponseCheck};

/// Bytes read per recv(2). Shared by all connections: a response is checked
/// as it arrives and never stored, so 10,000 idle connections cost no
/// buffers at all.
const RECEIVE_CHUNK: usize = 64 * 1024;

/// What an event did to a connection.
#[derive(Debug)]
pub enum Outcome {
    /// Still connecting, sending or receiving.
    Pending,
    /// The response arrived whole and passed its checks; `latency` counts
    /// from the start of connect(2).
    Answered { latency: Duration },
    /// The request failed; the connection is closed.
    Failed(Failure),
    /// A connection that was answered and held open went wrong afterwards
    /// (the server closed it, or sent bytes nobody asked for); it is closed.
    LostWhileHeld(Failure),
}

enum Phase {
    /// connect(2) returned EINPROGRESS; the kernel reports the result by
    /// making the socket writable.
    Connecting,
    Sending {
        sent: usize,
    },
    Receiving,
    /// Answered, and kept open (keep-alive): any event now is bad news.
    Held,
}

struct Connection {
    stream: TcpStream,
    started: Instant,
    phase: Phase,
    response: ResponseCheck,
}

pub struct Pool {
    epoll: Epoll,
    slots: Vec<Option<Connection>>,
    free_slots: Vec<usize>,
    open_count: usize,
    address: SocketAddr,
    request: Vec<u8>,
    framing: Framing,
    receive_buffer: Box<[u8]>,
}

impl Pool {
    pub fn new(address: SocketAddr, request: Vec<u8>, framing: Framing) -> Result<Pool> {
        Ok(Pool {
            epoll: Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).context("epoll_create1")?,
            slots: Vec::new(),
            free_slots: Vec::new(),
            open_count: 0,
            address,
            request,
            framing,
            receive_buffer: vec![0; RECEIVE_CHUNK].into_boxed_slice(),
        })
    }

    /// Connections open now, in any phase.
    pub fn open_count(&self) -> usize {
        self.open_count
    }

    /// Starts one connection. Loopback connects often complete at once; the
    /// request is then sent on the first writable event either way.
    pub fn open(&mut self) -> Result<(), Failure> {
        let socket = Socket::new(
            Domain::for_address(self.address),
            Type::STREAM.nonblocking(),
            None,
        )
        .map_err(|err| Failure::Connect(describe(&err)))?;
        match socket.connect(&self.address.into()) {
            Ok(()) => {}
            Err(err) if err.raw_os_error() == Some(Errno::EINPROGRESS as i32) => {}
            Err(err) => return Err(Failure::Connect(describe(&err))),
        }
        let stream = TcpStream::from(socket);
        let slot = self.free_slots.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        let interest = EpollEvent::new(EpollFlags::EPOLLOUT, slot as u64);
        if let Err(err) = self.epoll.add(stream.as_fd(), interest) {
            self.free_slots.push(slot);
            return Err(Failure::Connect(format!("epoll_ctl: {err}")));
        }
        self.slots[slot] = Some(Connection {
            stream,
            started: Instant::now(),
            phase: Phase::Connecting,
            response: ResponseCheck::new(self.framing),
        });
        self.open_count += 1;
        Ok(())
    }

    /// Waits up to `timeout` for events; returns how many are in `events`.
    /// nix does not retry EINTR the way std does; a signal simply ends this
    /// wait early with no events.
    pub fn wait(&self, events: &mut [EpollEvent], timeout: Duration) -> Result<usize> {
        let milliseconds = timeout.as_millis().clamp(1, u16::MAX as u128) as u16;
        match self.epoll.wait(events, milliseconds) {
            Ok(count) => Ok(count),
            Err(Errno::EINTR) => Ok(0),
            Err(err) => Err(err).context("epoll_wait"),
        }
    }

    /// Moves the connection of `slot` forward after an event. A connection
    /// that failed is closed here; an answered one stays open (the caller
    /// closes it with [`Pool::close`] when it does not want to hold it).
    pub fn drive(&mut self, slot: usize) -> Outcome {
        let Some(connection) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            // An event for a connection closed earlier in the same batch.
            return Outcome::Pending;
        };
        let outcome = advance(
            connection,
            &self.epoll,
            slot,
            &self.request,
            &mut self.receive_buffer,
        );
        if matches!(outcome, Outcome::Failed(_) | Outcome::LostWhileHeld(_)) {
            self.close(slot);
        }
        outcome
    }

    /// Sends the request again on the answered connection of `slot`
    /// (keep-alive): its next answer then comes like the first, through
    /// [`Pool::drive`]. The request is written at once; only if the socket
    /// cannot take it all is the rest left for its next writable event.
    pub fn request_again(&mut self, slot: usize) -> Outcome {
        let Some(connection) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return Outcome::Failed(Failure::ClosedWhileHeld);
        };
        connection.started = Instant::now();
        connection.response = ResponseCheck::new(self.framing);
        let mut sent = 0;
        let outcome = loop {
            if sent == self.request.len() {
                // Watched for EPOLLIN already, since the last answer.
                connection.phase = Phase::Receiving;
                break Outcome::Pending;
            }
            match connection.stream.write(&self.request[sent..]) {
                Ok(count) => sent += count,
                Err(err) if err.kind() == ErrorKind::WouldBlock => {
                    connection.phase = Phase::Sending { sent };
                    let mut interest = EpollEvent::new(EpollFlags::EPOLLOUT, slot as u64);
                    break match self.epoll.modify(connection.stream.as_fd(), &mut interest) {
                        Ok(()) => Outcome::Pending,
                        Err(err) => Outcome::Failed(Failure::Io(format!("epoll_ctl: {err}"))),
                    };
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => break Outcome::Failed(failure_of(&err)),
            }
        };
        if matches!(outcome, Outcome::Failed(_)) {
            self.close(slot);
        }
        outcome
    }

    /// Closes the connection of `slot`. Dropping the stream closes the
    /// descriptor, which also removes it from the epoll interest list.
    pub fn close(&mut self, slot: usize) {
        if self.slots[slot].take().is_some() {
            self.free_slots.push(slot);
            self.open_count -= 1;
        }
    }

    /// Closes every connection with a reset (SO_LINGER 0) rather than a
    /// FIN, once the measurement is over. The side that closes first keeps
    /// its end in TIME_WAIT for a minute, holding the port: 10,000 ordinary
    /// closes would leave a third of the ~28,000 ephemeral ports unusable
    /// for the next run's connects. A reset leaves nothing behind. (The
    /// server sees ECONNRESET on its next read, as from a client that died.)
    pub fn reset_all(&mut self) {
        for slot in 0..self.slots.len() {
            if let Some(connection) = &self.slots[slot] {
                let _ = SockRef::from(&connection.stream).set_linger(Some(Duration::ZERO));
                self.close(slot);
            }
        }
    }

    /// Closes every connection still waiting for its answer; returns how
    /// many there were. Held (answered) connections stay open.
    pub fn close_unanswered(&mut self) -> usize {
        let unanswered: Vec<usize> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| {
                slot.as_ref()
                    .is_some_and(|c| !matches!(c.phase, Phase::Held))
            })
            .map(|(index, _)| index)
            .collect();
        for &slot in &unanswered {
            self.close(slot);
        }
        unanswered.len()
    }
}

/// One step of one connection's life, as far as its socket lets it go
/// without blocking.
fn advance(
    connection: &mut Connection,
    epoll: &Epoll,
    slot: usize,
    request: &[u8],
    receive_buffer: &mut [u8],
) -> Outcome {
    if let Phase::Connecting = connection.phase {
        // The result of a non-blocking connect is in SO_ERROR.
        match connection.stream.take_error() {
            Ok(None) => connection.phase = Phase::Sending { sent: 0 },
            Ok(Some(err)) | Err(err) => return Outcome::Failed(Failure::Connect(describe(&err))),
        }
    }
    if let Phase::Sending { sent } = &mut connection.phase {
        while *sent < request.len() {
            match connection.stream.write(&request[*sent..]) {
                Ok(count) => *sent += count,
                // The send buffer is full: wait for the next EPOLLOUT.
                Err(err) if err.kind() == ErrorKind::WouldBlock => return Outcome::Pending,
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => return Outcome::Failed(failure_of(&err)),
            }
        }
        // Sent: from now on only incoming bytes matter. EPOLLRDHUP reports
        // the server's FIN even when no data comes with it.
        let mut interest =
            EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP, slot as u64);
        if let Err(err) = epoll.modify(connection.stream.as_fd(), &mut interest) {
            return Outcome::Failed(Failure::Io(format!("epoll_ctl: {err}")));
        }
        connection.phase = Phase::Receiving;
        // Level-triggered: if the answer is already here, the next
        // epoll_wait reports it.
        return Outcome::Pending;
    }
    if let Phase::Held = connection.phase {
        return check_held(&mut connection.stream, receive_buffer);
    }
    receive(connection, receive_buffer)
}

/// Reads whatever has arrived and checks it.
fn receive(connection: &mut Connection, receive_buffer: &mut [u8]) -> Outcome {
    loop {
        match connection.stream.read(receive_buffer) {
            Ok(0) => {
                return match connection.response.at_end_of_file() {
                    Ok(()) => Outcome::Answered {
                        latency: connection.started.elapsed(),
                    },
                    Err(failure) => Outcome::Failed(failure),
                }
            }
            Ok(count) => match connection.response.feed(&receive_buffer[..count]) {
                Ok(Progress::NeedMore) => {}
                Ok(Progress::Complete) => {
                    connection.phase = Phase::Held;
                    return Outcome::Answered {
                        latency: connection.started.elapsed(),
                    };
                }
                Err(failure) => return Outcome::Failed(failure),
            },
            Err(err) if err.kind() == ErrorKind::WouldBlock => return Outcome::Pending,
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Outcome::Failed(failure_of(&err)),
        }
    }
}

/// An event on an answered, held connection: either a spurious wake-up, or
/// the server closed it or sent something more.
fn check_held(stream: &mut TcpStream, receive_buffer: &mut [u8]) -> Outcome {
    match stream.read(receive_buffer) {
        Ok(0) => Outcome::LostWhileHeld(Failure::ClosedWhileHeld),
        Ok(_) => Outcome::LostWhileHeld(Failure::ExtraBytes),
        Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
            Outcome::Pending
        }
        Err(_) => Outcome::LostWhileHeld(Failure::ClosedWhileHeld),
    }
}

fn failure_of(err: &io::Error) -> Failure {
    match err.kind() {
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe => Failure::Reset,
        _ => Failure::Io(describe(err)),
    }
}

/// The error's text without the "(os error N)" that std appends.
fn describe(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}
