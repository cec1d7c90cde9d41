//! Running out of file descriptors: what both servers do when `accept`
//! fails with EMFILE, and why it is not their lesson.
//!
//! Every connection costs the process a descriptor, and `ulimit -n` caps
//! how many it may hold (1024 by default on many systems). At the cap,
//! `accept` fails with EMFILE ("too many open files"), and it fails before
//! the kernel even looks at the listen queue, so the waiting client stays
//! queued, unanswered, until its own timeout. Worse, its presence keeps the
//! listening socket ready: nonblock_server's busy loop sees it on every
//! turn, and a level-triggered epoll_wait returns it at once, forever, so
//! epoll_server would spin at 100% CPU while serving nobody new.
//!
//! The remedy is the same whatever the I/O model, which is why it lives
//! here and not in either `main.rs`: keep one descriptor open on
//! `/dev/null` from the start ([`Spare`]); when descriptors run out, close
//! it, so that `accept` has a descriptor to use, close the accepted
//! connection at once (the client sees its connection closed, not an
//! endless wait), and open the spare again ([`turn_away_one_client`]).
//! Chosen over "stop watching the listening socket until a client leaves"
//! because it works unchanged in the busy loop and in both of epoll's
//! modes, and answers the client instead of leaving it waiting. The clients
//! already connected go on being served meanwhile.

use std::fs::File;
use std::io;

use anyhow::{Context, Result};
use common::println;
use nix::errno::Errno;
use socket2::Socket;

/// Whether `error` says the process (EMFILE) or the system (ENFILE) has no
/// file descriptor left: `accept` and `open` fail this way under
/// `ulimit -n`.
pub fn is_out_of_descriptors(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error().map(Errno::from_raw),
        Some(Errno::EMFILE | Errno::ENFILE)
    )
}

/// A descriptor kept open for nothing but to be given up when the process
/// runs out, so that one client can still be accepted, and turned away.
pub struct Spare {
    /// `/dev/null`, opened for reading. `None` only if reopening it after a
    /// client was turned away failed; the next turn-away tries again.
    file: Option<File>,
}

impl Spare {
    /// Opens the spare; done at start, while descriptors are plenty.
    pub fn open() -> Result<Spare> {
        Ok(Spare {
            file: Some(open_dev_null()?),
        })
    }
}

fn open_dev_null() -> Result<File> {
    File::open("/dev/null").context("open /dev/null as the spare descriptor")
}

/// Called when `accept` on `listener` failed with EMFILE or ENFILE: gives
/// up the spare, accepts the first waiting client and closes its
/// connection at once, then takes the spare again. Logs the client turned
/// away.
///
/// Returns whether a client was waiting (and was turned away): the caller
/// loops while it is true, to empty the queue.
pub fn turn_away_one_client(listener: &Socket, spare: &mut Spare) -> bool {
    drop(spare.file.take());
    let turned_away = match listener.accept() {
        Ok((socket, address)) => {
            let address = address.as_socket().map(|address| address.to_string());
            println!(
                "out of file descriptors: turned away {}",
                address.as_deref().unwrap_or("a client")
            );
            drop(socket);
            true
        }
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => false,
        Err(error) => {
            println!("accept: {error}");
            false
        }
    };
    // The descriptor just freed is the one this takes again: the servers
    // have one thread, so nothing else could have taken it meanwhile.
    spare.file = open_dev_null()
        .inspect_err(|error| println!("{error:#}"))
        .ok();
    turned_away
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::{SocketAddr, TcpStream};
    use std::thread;
    use std::time::{Duration, Instant};

    #[test]
    fn recognizes_running_out_of_descriptors() {
        assert!(is_out_of_descriptors(&io::Error::from_raw_os_error(
            Errno::EMFILE as i32
        )));
        assert!(is_out_of_descriptors(&io::Error::from_raw_os_error(
            Errno::ENFILE as i32
        )));
        assert!(!is_out_of_descriptors(&io::Error::from_raw_os_error(
            Errno::ENOENT as i32
        )));
    }

    #[test]
    fn turns_away_a_waiting_client_and_keeps_the_spare() {
        let listener = Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        listener
            .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        listener.listen(1).unwrap();
        listener.set_nonblocking(true).unwrap();
        let mut spare = Spare::open().unwrap();
        assert!(!turn_away_one_client(&listener, &mut spare), "nobody waits");
        assert!(spare.file.is_some());

        let address = listener.local_addr().unwrap().as_socket().unwrap();
        let mut client = TcpStream::connect(address).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        // The connection is complete in the listen queue once connect
        // returns; the wait is only for a loaded machine.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !turn_away_one_client(&listener, &mut spare) {
            assert!(Instant::now() < deadline, "nobody was turned away");
            thread::sleep(Duration::from_millis(5));
        }
        assert!(spare.file.is_some());
        // Turned away: the client reads end-of-file (or a reset), at once.
        let read = client.read(&mut [0u8; 1]);
        let closed = match &read {
            Ok(count) => *count == 0,
            Err(error) => error.kind() == io::ErrorKind::ConnectionReset,
        };
        assert!(closed, "{read:?}");
    }
}
