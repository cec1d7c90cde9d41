//! The exercises, in the order to hand them out: the book's order.

use crate::checks;
use crate::probe::Probe;

/// One exercise: a crate `exercises/NAME` (package `exNAME`), its check.
pub struct Exercise {
    /// The folder under exercises/, e.g. `10_reap_every_child`.
    pub name: &'static str,
    /// The lesson (and the book's chapter) it belongs to.
    pub stage: &'static str,
    /// What the check proves, in a few words.
    pub concept: &'static str,
    /// About how long a student needs, in minutes.
    pub minutes: u32,
    /// Starts the built binary and tries its behaviour.
    pub check: fn(&Probe) -> Result<(), String>,
}

impl Exercise {
    /// The package and binary name: `ex` and the folder's name.
    pub fn package(&self) -> String {
        format!("ex{}", self.name)
    }
}

pub const EXERCISES: &[Exercise] = &[
    Exercise {
        name: "01_socket_steps",
        stage: "webserver1",
        concept: "socket, SO_REUSEADDR, bind, listen, accept",
        minutes: 20,
        check: checks::socket_steps,
    },
    Exercise {
        name: "02_greet_by_name",
        stage: "webserver1",
        concept: "the name in the path: query, %-decoding, 400",
        minutes: 25,
        check: checks::greet_by_name,
    },
    Exercise {
        name: "03_wsgi_app",
        stage: "webserver2",
        concept: "an application for the WSGI-like interface",
        minutes: 20,
        check: checks::wsgi_app,
    },
    Exercise {
        name: "04_read_and_answer",
        stage: "webserver3a",
        concept: "read the request, answer, close: EOF",
        minutes: 10,
        check: checks::read_and_answer,
    },
    Exercise {
        name: "05_sleep_after_answer",
        stage: "webserver3b",
        concept: "the next client waits in the listen queue",
        minutes: 10,
        check: checks::sleep_after_answer,
    },
    Exercise {
        name: "06_fork_per_client",
        stage: "webserver3c",
        concept: "fork: two clients served at once by two PIDs",
        minutes: 20,
        check: checks::fork_per_client,
    },
    Exercise {
        name: "07_close_parents_copy",
        stage: "webserver3d",
        concept: "the parent closes its copy: the client reads EOF",
        minutes: 10,
        check: checks::close_parents_copy,
    },
    Exercise {
        name: "08_sigchld_handler",
        stage: "webserver3e",
        concept: "a SIGCHLD handler that waits: no zombie",
        minutes: 20,
        check: checks::sigchld_handler,
    },
    Exercise {
        name: "09_restart_accept",
        stage: "webserver3f",
        concept: "accept restarted after EINTR: the server survives",
        minutes: 10,
        check: checks::restart_accept,
    },
    Exercise {
        name: "10_reap_every_child",
        stage: "webserver3g",
        concept: "waitpid WNOHANG in a loop: no zombie after a burst",
        minutes: 15,
        check: checks::reap_every_child,
    },
    Exercise {
        name: "11_client_connections",
        stage: "client3",
        concept: "N clients x M connections, each a request",
        minutes: 15,
        check: checks::client_connections,
    },
    Exercise {
        name: "12_nonblock_loop",
        stage: "nonblock_server",
        concept: "non-blocking accept and recv: one process, many clients",
        minutes: 20,
        check: checks::nonblock_loop,
    },
    Exercise {
        name: "13_epoll_edge",
        stage: "epoll_server",
        concept: "edge-triggered: accept and read until EAGAIN",
        minutes: 20,
        check: checks::epoll_edge,
    },
    Exercise {
        name: "14_epoll_register",
        stage: "epoll_server",
        concept: "register the listener and each client, edge-triggered",
        minutes: 15,
        check: checks::epoll_register,
    },
    Exercise {
        name: "15_read_whole_head",
        stage: "webserver1",
        concept: "read until the blank line, bounded: requests in pieces",
        minutes: 15,
        check: checks::read_whole_head,
    },
];
