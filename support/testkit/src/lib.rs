//! Helpers shared by the integration tests of every lesson crate. Every
//! wait here is bounded: a test that goes wrong fails with a message
//! instead of hanging the suite. Dropping a running binary kills it *and
//! the processes it forked*, which share its process group, so no test
//! leaves a server behind.
//!
//! Where things are:
//!
//! | module | what it holds |
//! | --- | --- |
//! | `wait` | [`PATIENCE`] and [`eventually`]: every bounded wait |
//! | `process` | [`Launch`], [`Process`] (a [`run::Running`] with panicking waits), [`Server`], banner parsing |
//! | `http` | the raw HTTP client: [`connect`], [`request`], [`read_response`], [`Response`], ... |
//! | [`run`] | [`run::Running`]: the one process runner of the tooling (groups, drained output, bounded waits) |
//! | [`procs`] | `/proc` readings (the `procfs` crate): children, states, CPU, memory, listening sockets |
//! | `proc_net` | [`tcp_end`]: a TCP socket's queues and its peer's window, which `procfs` does not parse |
//! | [`tools`] | the programs the tooling needs, their packages, the one PATH lookup |
//! | `resources` | [`raise_open_file_limit`] |
//! | `forking` | for the forking servers: [`wait_for_child_lines`], [`exit_children_while_server_is_stopped`] |
//! | [`contract`] | what every server binary promises, and [`server_contract_tests!`] |
//! | `listeners` | servers for client tests: [`RecordingListener`], [`ScriptedListener`], [`RefusingPort`], [`UnacceptingListener`] |
//! | [`static_server`] | the static servers' shared scenarios, and [`static_server_scenario_tests!`] |
//! | `stdout_pipe` | [`LogPipe`]: a server's stdout or stderr, a pipe or a terminal held by the test itself |
//! | `unprivileged` | [`Launch::unprivileged_with_process_limit`]: `ulimit -u` as the user nobody |
//! | `contract_cli_log` | `--help`, unknown arguments, and a log reader that leaves or stops reading |
//! | `temp_dir` | [`TempDir`], on `tempfile` |

pub mod contract;
#[doc(hidden)]
pub mod contract_cli_log;
pub mod csv;
mod forking;
mod http;
mod listeners;
mod proc_net;
mod process;
pub mod procs;
mod resources;
pub mod run;
pub mod static_server;
mod stdout_pipe;
mod temp_dir;
pub mod tools;
mod unprivileged;
mod wait;

pub use forking::{exit_children_while_server_is_stopped, wait_for_child_lines, ChildLine};
pub use http::{
    connect, contains, has_control_characters, raw_request, read_response, read_to_eof,
    read_until_contains, request, request_for, send_request, stays_open_for, Response,
};
pub use listeners::{
    RecordingListener, RefusingPort, Reply, ScriptedListener, UnacceptingListener,
};
pub use proc_net::{tcp_end, TcpEnd};
pub use process::{parse_banner, Launch, Process, Server};
pub use procs::{children_of, cpu_time, process_state, resident_memory, ProcessState};
pub use resources::raise_open_file_limit;
pub use run::within;
pub use stdout_pipe::LogPipe;
pub use temp_dir::TempDir;
pub use wait::{eventually, PATIENCE};
