//! nonblock_server against the promises of a static server (issue 3), and
//! the lesson of its busy loop: it burns CPU while serving nobody.
//!
//! The scenarios are shared with epoll_server and live in
//! `testkit::static_server`; each `#[test]` here runs one of them against
//! this crate's binary.

use std::path::Path;

use testkit::static_server as scenario;

const BINARY: &str = env!("CARGO_BIN_EXE_nonblock_server");
const NO_EXTRA_ARGUMENTS: &[&str] = &[];

testkit::server_contract_tests!(BINARY);

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                scenario::$name(BINARY, NO_EXTRA_ARGUMENTS);
            }
        )*
    };
}

scenarios!(
    serves_files_with_length_and_type,
    answers_errors_with_the_right_status,
    head_sends_the_headers_without_the_body,
    keeps_a_connection_alive_over_100_requests,
    closes_or_keeps_the_connection_as_the_client_asks,
    answers_pipelined_requests_in_order,
    reads_a_request_sent_byte_by_byte,
    sends_a_large_file_whole_to_a_slow_reader,
    never_serves_a_file_outside_the_root,
    slow_and_silent_clients_do_not_delay_others,
    closes_idle_connections,
    serves_2000_keep_alive_connections,
);

/// The lesson: with no client at all, the loop still runs flat out.
#[test]
fn burns_cpu_while_idle() {
    scenario::burns_cpu_while_idle(BINARY, NO_EXTRA_ARGUMENTS);
}

/// Out of descriptors, it turns clients away and serves the ones it has.
/// (It spins anyway, by design, so there is no "does not spin" check.)
#[test]
fn survives_running_out_of_descriptors() {
    scenario::survives_running_out_of_descriptors(BINARY, NO_EXTRA_ARGUMENTS, false);
}

#[test]
fn serves_the_sample_site_from_the_default_root() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    scenario::serves_the_sample_site_from_the_default_root(BINARY, NO_EXTRA_ARGUMENTS, repository);
}

#[test]
fn rejects_bad_arguments_with_usage() {
    scenario::rejects_bad_arguments_with_usage(
        BINARY,
        &[
            &["--no-such-option"],
            &["not-a-port"],
            &["70000"],
            &["7890", "7891"],
            &["--idle-timeout", "0"],
            &["--idle-timeout", "soon"],
        ],
    );
}

#[test]
fn reports_a_missing_root() {
    scenario::reports_a_missing_root(BINARY);
}

#[test]
fn listens_on_the_port_given_as_argument() {
    scenario::listens_on_the_port_given_as_argument(BINARY);
}
