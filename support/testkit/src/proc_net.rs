//! TCP sockets as `/proc/net/tcp` shows them: how many bytes wait in each
//! end's queues, and whether the peer's receive window is closed. This is
//! how a test sees inside the kernel's socket buffers of a server it does
//! not own the sockets of.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

/// One end of a TCP connection, as a line of `/proc/net/tcp` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpEnd {
    /// Bytes the owner wrote that the peer has not acknowledged yet
    /// (`tx_queue`): what sits in this end's send buffer.
    pub send_queue: u64,
    /// Bytes that arrived and the owner has not read yet (`rx_queue`):
    /// what sits in this end's receive buffer.
    pub receive_queue: u64,
    /// Whether the zero-window probe timer runs (`tr` is 4): the peer
    /// advertised a receive window of 0, so the bytes in this end's send
    /// buffer may not go out until the peer reads.
    pub peer_window_closed: bool,
}

/// The `tr` (timer) value of a socket whose zero-window probe timer runs.
const ZERO_WINDOW_PROBE_TIMER: u8 = 4;

/// The end of the IPv4 TCP connection whose local address is `local` and
/// whose peer is `remote`, as `/proc/net/tcp` shows it now; `None` when
/// there is no such socket (or the addresses are not IPv4). Both ends of a
/// connection on this machine are listed, each with its own queues.
pub fn tcp_end(local: SocketAddr, remote: SocketAddr) -> Option<TcpEnd> {
    let (SocketAddr::V4(local), SocketAddr::V4(remote)) = (local, remote) else {
        return None;
    };
    let table = fs::read_to_string("/proc/net/tcp").ok()?;
    table
        .lines()
        .skip(1) // the column titles
        .filter_map(parse_line)
        .find(|(line_local, line_remote, _)| *line_local == local && *line_remote == remote)
        .map(|(_, _, end)| end)
}

/// `  0: 0100007F:1F90 0100007F:D2F0 01 00000000:0001BA00 04:00000007 …`:
/// local address, remote address, state, `tx_queue:rx_queue`,
/// `tr:tm->when`, ….
fn parse_line(line: &str) -> Option<(SocketAddrV4, SocketAddrV4, TcpEnd)> {
    let mut fields = line.split_whitespace().skip(1);
    let local = parse_address(fields.next()?)?;
    let remote = parse_address(fields.next()?)?;
    let _state = fields.next()?;
    let (send_queue, receive_queue) = fields.next()?.split_once(':')?;
    let (timer, _when) = fields.next()?.split_once(':')?;
    let end = TcpEnd {
        send_queue: u64::from_str_radix(send_queue, 16).ok()?,
        receive_queue: u64::from_str_radix(receive_queue, 16).ok()?,
        peer_window_closed: u8::from_str_radix(timer, 16).ok()? == ZERO_WINDOW_PROBE_TIMER,
    };
    Some((local, remote, end))
}

/// `0100007F:1F90` → 127.0.0.1:8080. The kernel prints the address as the
/// 32-bit number whose bytes in memory are the address in network order,
/// in this machine's byte order; the port as a plain number.
fn parse_address(field: &str) -> Option<SocketAddrV4> {
    let (address, port) = field.split_once(':')?;
    let address = u32::from_str_radix(address, 16).ok()?;
    let port = u16::from_str_radix(port, 16).ok()?;
    Some(SocketAddrV4::new(
        Ipv4Addr::from(address.to_ne_bytes()),
        port,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{ErrorKind, Write};
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn parses_a_line_of_proc_net_tcp() {
        // The address as this machine's kernel would print it.
        let loopback = format!("{:08X}", u32::from_ne_bytes([127, 0, 0, 1]));
        let line = format!(
            "   3: {loopback}:1F90 {loopback}:D2F0 01 003E1200:0001BA00 04:00000015 00000000  1000        0 4242 1"
        );
        let (local, remote, end) = parse_line(&line).expect("a socket line");
        assert_eq!(local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(remote, "127.0.0.1:54000".parse().unwrap());
        assert_eq!(
            end,
            TcpEnd {
                send_queue: 0x3E1200,
                receive_queue: 0x1BA00,
                peer_window_closed: true,
            }
        );
    }

    #[test]
    fn sees_the_peer_window_close_when_the_reader_does_not_read() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let reader = TcpStream::connect(listener.local_addr().unwrap()).expect("connect");
        let (mut writer, _) = listener.accept().expect("accept");
        writer.set_nonblocking(true).unwrap();
        // Write until the kernel takes no more: the reader's receive buffer
        // and the writer's send buffer are full.
        let chunk = [0u8; 64 * 1024];
        loop {
            match writer.write(&chunk) {
                Ok(_) => {}
                Err(err) if err.kind() == ErrorKind::WouldBlock => break,
                Err(err) => panic!("write: {err}"),
            }
        }
        let (writer_address, reader_address) =
            (writer.local_addr().unwrap(), reader.local_addr().unwrap());
        crate::eventually(crate::PATIENCE, "the writer to see a zero window", || {
            let writer_end = tcp_end(writer_address, reader_address)?;
            let reader_end = tcp_end(reader_address, writer_address)?;
            (writer_end.peer_window_closed
                && writer_end.send_queue > 0
                && reader_end.receive_queue > 0)
                .then_some(())
        });
    }
}
