//! epoll_server against the promises of a static server (issue 3), in both
//! trigger modes, and the lesson of epoll: it sleeps while idle, where
//! nonblock_server burns a core.
//!
//! The scenarios are shared with nonblock_server and live in
//! `testkit::static_server`; each `#[test]` here runs one of them against
//! this crate's binary, once edge-triggered and once level-triggered.

use std::path::Path;

use testkit::static_server as scenario;

const BINARY: &str = env!("CARGO_BIN_EXE_epoll_server");

testkit::server_contract_tests!(BINARY);

macro_rules! in_both_trigger_modes {
    ($($name:ident),* $(,)?) => {
        mod edge_triggered {
            use super::*;
            $(
                #[test]
                fn $name() {
                    scenario::$name(BINARY, &["--trigger", "edge"]);
                }
            )*

            #[test]
            fn survives_running_out_of_descriptors_without_spinning() {
                scenario::survives_running_out_of_descriptors(BINARY, &["--trigger", "edge"], true);
            }
        }

        mod level_triggered {
            use super::*;
            $(
                #[test]
                fn $name() {
                    scenario::$name(BINARY, &["--trigger", "level"]);
                }
            )*

            #[test]
            fn survives_running_out_of_descriptors_without_spinning() {
                scenario::survives_running_out_of_descriptors(BINARY, &["--trigger", "level"], true);
            }
        }
    };
}

in_both_trigger_modes!(
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
    sleeps_while_idle,
);

/// Without `--trigger`, the server is edge-triggered, as the course's last
/// server, and says so.
#[test]
fn is_edge_triggered_by_default() {
    let site = scenario::test_site();
    let server = scenario::launch(BINARY, &[], site.path()).start_server();
    server.wait_for_line("the trigger mode", |line| line.starts_with("Trigger: edge"));
}

#[test]
fn serves_the_sample_site_from_the_default_root() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    scenario::serves_the_sample_site_from_the_default_root(BINARY, &[], repository);
}

#[test]
fn rejects_bad_arguments_with_usage() {
    scenario::rejects_bad_arguments_with_usage(
        BINARY,
        &[
            &["--no-such-option"],
            &["not-a-port"],
            &["70000"],
            &["--trigger", "sideways"],
            &["--trigger"],
            &["--idle-timeout", "0"],
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
