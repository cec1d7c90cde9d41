//! What a completion is about: the `user_data` every submission carries.

// ANCHOR: operation
/// What a completion is about. Every submission carries a `user_data`, 64 bits the kernel
/// does not look at and copies into its completion (CQE): here the kind of operation in
/// the top byte and the connection's number below. Numbers are never reused, so a late
/// completion can never be taken for a newer connection's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// The multishot accept on the listening socket: one completion per new connection.
    Accept,
    /// The multishot receive of a connection: one completion per buffer filled.
    Receive(u64),
    /// A send on a connection: response bytes, or a chunk of a file.
    Send(u64),
    /// A read of the file a connection is being sent (files.rs).
    ReadFile(u64),
    /// The ring timeout after which expired connections are closed (deadlines.rs).
    CheckDeadlines,
    /// The ring timeout after which accepting starts again, when descriptors ran out.
    RetryAccept,
    /// A cancellation: the cancelled operation's own completion says the rest.
    Cancel,
}

impl Operation {
    pub(crate) fn user_data(self) -> u64 {
        let (kind, connection) = match self {
            Operation::Accept => (0, 0),
            Operation::Receive(id) => (1, id),
            Operation::Send(id) => (2, id),
            Operation::ReadFile(id) => (3, id),
            Operation::CheckDeadlines => (4, 0),
            Operation::RetryAccept => (5, 0),
            Operation::Cancel => (6, 0),
        };
        kind << 56 | connection
    }

    pub(crate) fn from_user_data(user_data: u64) -> Operation {
        let id = user_data & ((1 << 56) - 1);
        match user_data >> 56 {
            0 => Operation::Accept,
            1 => Operation::Receive(id),
            2 => Operation::Send(id),
            3 => Operation::ReadFile(id),
            4 => Operation::CheckDeadlines,
            5 => Operation::RetryAccept,
            _ => Operation::Cancel,
        }
    }
}
// ANCHOR_END: operation

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_says_the_operation_and_the_connection_back() {
        for operation in [
            Operation::Accept,
            Operation::Receive(0),
            Operation::Send(7),
            Operation::ReadFile((1 << 56) - 1),
            Operation::CheckDeadlines,
            Operation::RetryAccept,
            Operation::Cancel,
        ] {
            assert_eq!(Operation::from_user_data(operation.user_data()), operation);
        }
    }
}
