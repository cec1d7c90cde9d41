//! WRONG ANSWER to 17_uring_receive: reads the result as a count without
//! looking at its sign. A receive that fails completes with -errno; cast to
//! usize, -ECONNRESET is a count past the buffer's end, and the slice of the
//! buffer panics when a client resets its connection.
//! Must fail saying: "negative result"
//! Must fail saying: "panicked"

use std::collections::HashMap;
use std::io;
use std::mem::ManuallyDrop;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::ptr;
use std::thread;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use common::println; // std's println!, except that a closed or full stdout cannot stop the server
use io_uring::{cqueue, opcode, squeue, types, IoUring, Probe};
use nix::libc;
use socket2::{Domain, Socket, Type};

/// The port of this model (epoll_model's is 7788).
const DEFAULT_PORT: u16 = 7789;

/// How many operations the submission queue holds (the completion queue
/// holds twice as many). More can be in flight: a full queue is handed to
/// the kernel, which frees it (`push`).
const RING_ENTRIES: u32 = 64;

/// How long to wait before accepting again after an accept failed: out of
/// descriptors, an accept submitted at once would fail at once, again and
/// again.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// A client: its socket, its address, for the prints, and the buffer its
/// receive fills. (epoll_model reads every client into one buffer, one
/// read at a time; here every client's receive is in flight at once, each
/// into memory of its own.)
struct Client {
    socket: TcpStream,
    address: SocketAddr,
    buffer: Vec<u8>,
}

fn main() {
    // --help, one-line errors and exit codes: the same for every lesson.
    common::run(env!("CARGO_BIN_NAME"), run);
}

/// Every interface, and PORT from the environment, DEFAULT_PORT if unset
/// (PORT=0: any free port).
fn server_address() -> Result<SocketAddrV4> {
    let port = match std::env::var("PORT") {
        Ok(text) => text
            .parse()
            .with_context(|| format!("PORT must be a port number, not {text:?}"))?,
        Err(_) => DEFAULT_PORT,
    };
    Ok(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
}

fn run() -> Result<()> {
    let server_address = server_address()?;

    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).context("socket")?;
    listener
        .set_reuse_address(true)
        .context("setsockopt SO_REUSEADDR")?;
    listener
        .bind(&server_address.into())
        .with_context(|| format!("bind {server_address}"))?;
    listener.listen(10).context("listen")?;
    // Blocking, as webserver1's: this process never calls accept or recv
    // itself. The kernel tries each operation without blocking and, when
    // it would, waits on the socket for the process, which never sees EAGAIN.
    let port = common::bound_port(&listener)?; // PORT=0: the one the kernel chose

    // Made before the banner: where io_uring is forbidden, the model says
    // why and exits without having said it listens.
    let mut ring = open_ring()?;
    println!("Listening on port {port} ...");
    // The operation's user_data is the descriptor, as epoll_model's event
    // data is: its completion carries it back, to say which socket it was for.
    submit_accept(&mut ring, &listener)?;

    // Never dropped as a whole: if run() fails, receives may still be in
    // flight into these buffers. (A client is dropped once its last
    // receive has completed; the process exits right after a failure.)
    let mut connections: ManuallyDrop<HashMap<RawFd, Client>> = ManuallyDrop::new(HashMap::new());
    loop {
        // One system call, io_uring_enter: it hands the kernel the
        // operations queued since the last turn, then sleeps until at least
        // one has completed. No timeout.
        match ring.submit_and_wait(1) {
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error).context("io_uring_enter"),
        }
        // Copied out, which frees their slots: handling them queues more.
        let completions: Vec<cqueue::Entry> = ring.completion().collect();
        for completion in &completions {
            let fd = completion.user_data() as RawFd;
            let result = completion.result(); // what the call returned, or -errno
            if fd == listener.as_raw_fd() {
                accept_completed(result, &listener, &mut ring, &mut connections)?;
            } else if let Some(client) = connections.get_mut(&fd) {
                if !receive_completed(&mut ring, client, result)? {
                    // Its receive has completed and no other is in flight:
                    // the kernel holds neither its buffer nor its socket, and
                    // no completion will come for this descriptor number
                    // once the next client is given it.
                    let client = connections.remove(&fd).expect("just found");
                    println!("{} --- offline ---", client.address);
                    drop(client);
                }
            }
        }
    }
}

/// A completed accept: prints the new client, submits its first receive,
/// and submits the next accept (one accept operation accepts one client,
/// as the system call does).
fn accept_completed(
    result: i32,
    listener: &Socket,
    ring: &mut IoUring,
    connections: &mut HashMap<RawFd, Client>,
) -> Result<()> {
    if result < 0 {
        // A client that reset while queued, or out of descriptors: this
        // model reports it and goes on after a pause (epoll_server shows
        // the full remedy for the latter).
        println!("accept: {}", io::Error::from_raw_os_error(-result));
        thread::sleep(ACCEPT_PAUSE);
    } else {
        // SAFETY: a completed accept's result is a new descriptor that
        // nothing else owns; the TcpStream closes it when dropped.
        let socket = unsafe { TcpStream::from_raw_fd(result) };
        // The accept was given no memory for the address; ask for it.
        match socket.peer_addr() {
            Ok(address) => {
                println!("new client {address}");
                let fd = socket.as_raw_fd();
                let client = Client {
                    socket,
                    address,
                    buffer: vec![0; 1024], // epoll_model's size, one per client
                };
                connections.insert(fd, client);
                submit_receive(ring, connections.get_mut(&fd).expect("just inserted"))?;
            }
            // Gone already (reset): its socket is closed, here.
            Err(error) => println!("accept: {error}"),
        }
    }
    submit_accept(ring, listener)
}

/// Prints what a completed receive brought and submits the next one.
/// Returns false when the client is gone: end of file (0 bytes), or an
/// error such as a reset (a negative result, -errno); no receive is then
/// in flight for it.
fn receive_completed(ring: &mut IoUring, client: &mut Client, result: i32) -> Result<bool> {
    let count = result as usize;
    if count == 0 {
        return Ok(false);
    }
    println!(
        "recv from {} ({count} bytes): {}",
        client.address,
        common::printable(&client.buffer[..count]).trim_end()
    );
    // One receive operation receives once: ask for the next.
    submit_receive(ring, client)?;
    Ok(true)
}

/// Queues an accept on the listening socket, its user_data the listener's
/// descriptor.
fn submit_accept(ring: &mut IoUring, listener: &Socket) -> Result<()> {
    let accept = opcode::Accept::new(
        types::Fd(listener.as_raw_fd()),
        ptr::null_mut(), // no memory for the client's address
        ptr::null_mut(),
    )
    .flags(libc::SOCK_CLOEXEC)
    .build()
    .user_data(listener.as_raw_fd() as u64);
    // SAFETY: the accept points to no memory of ours.
    unsafe { push(ring, &accept) }
}

/// Queues a receive of at most the client's buffer, into its buffer, its
/// user_data the client's descriptor.
fn submit_receive(ring: &mut IoUring, client: &mut Client) -> Result<()> {
    let fd = client.socket.as_raw_fd();
    let receive = opcode::Recv::new(
        types::Fd(fd),
        client.buffer.as_mut_ptr(),
        client.buffer.len() as u32,
    )
    .build()
    .user_data(fd as u64);
    // SAFETY: the kernel writes into client.buffer until the receive
    // completes. The buffer is on the heap (it does not move when the map
    // grows), nothing reads or writes it meanwhile (one receive per client
    // is in flight, and the buffer is read only after its completion), and
    // the client, buffer included, is dropped only after that completion
    // (run's loop) or never (run's connections on failure).
    unsafe { push(ring, &receive) }
}

/// Puts `entry` on the submission queue, for the next io_uring_enter to
/// hand to the kernel. A full queue is handed over now, to make room.
///
/// # Safety
///
/// The memory `entry` points to must stay valid, and untouched by the
/// program, until the operation's completion has been reaped.
unsafe fn push(ring: &mut IoUring, entry: &squeue::Entry) -> Result<()> {
    // SAFETY: the caller keeps the entry's memory valid (above).
    while unsafe { ring.submission().push(entry) }.is_err() {
        ring.submit()
            .context("io_uring_enter: submit a full queue")?;
    }
    Ok(())
}

/// The ring, or one line saying why there is none here and how to check.
fn open_ring() -> Result<IoUring> {
    let ring = match IoUring::new(RING_ENTRIES) {
        Ok(ring) => ring,
        Err(error) => {
            let why = match error.raw_os_error() {
                Some(libc::ENOSYS) => {
                    "this kernel has no io_uring (it came in Linux 5.1, and a kernel may be \
                     built without it: `uname -r` shows the version)"
                }
                Some(libc::EPERM) => {
                    "io_uring is switched off (`sysctl kernel.io_uring_disabled` shows 1 or 2; \
                     0 allows it) or forbidden by a seccomp filter, as in a container with \
                     Docker's default profile (`grep Seccomp /proc/self/status` shows 2 under \
                     a filter)"
                }
                _ => "the kernel refused to make a ring",
            };
            bail!("io_uring_setup: {error}: {why}");
        }
    };
    // The operations this model submits, which older kernels lack.
    let mut probe = Probe::new();
    let supported = ring.submitter().register_probe(&mut probe).is_ok()
        && probe.is_supported(opcode::Accept::CODE)
        && probe.is_supported(opcode::Recv::CODE);
    if !supported {
        bail!(
            "this kernel's io_uring cannot accept or receive (Linux 5.6 or later can: \
             `uname -r` shows the version)"
        );
    }
    Ok(ring)
}
