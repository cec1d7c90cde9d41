//! epoll_server against the promises every static server keeps about
//! HTTP, in both trigger modes, and the lesson of epoll: it sleeps while
//! idle, where nonblock_server burns a core.
//!
//! The scenarios are shared with nonblock_server and live in
//! `testkit::static_server`; each `#[test]` here runs one of them against
//! this crate's binary, once edge-triggered and once level-triggered.

use std::path::Path;

use testkit::static_server as scenario;

const BINARY: &str = env!("CARGO_BIN_EXE_epoll_server");

testkit::server_contract_tests!(BINARY);

mod edge_triggered {
    use super::*;

    const EDGE: &[&str] = &["--trigger", "edge"];

    testkit::static_server_scenario_tests!(BINARY, EDGE);

    #[test]
    fn sleeps_while_idle() {
        scenario::sleeps_while_idle(BINARY, EDGE);
    }

    #[test]
    fn survives_running_out_of_descriptors_without_spinning() {
        scenario::survives_running_out_of_descriptors(BINARY, EDGE, true);
    }

    #[test]
    fn answers_a_small_file_in_at_most_4_system_calls() {
        scenario::answers_a_small_file_in_at_most_4_system_calls(BINARY, EDGE);
    }
}

mod level_triggered {
    use super::*;

    const LEVEL: &[&str] = &["--trigger", "level"];

    testkit::static_server_scenario_tests!(BINARY, LEVEL);

    #[test]
    fn sleeps_while_idle() {
        scenario::sleeps_while_idle(BINARY, LEVEL);
    }

    #[test]
    fn survives_running_out_of_descriptors_without_spinning() {
        scenario::survives_running_out_of_descriptors(BINARY, LEVEL, true);
    }

    #[test]
    fn answers_a_small_file_in_at_most_4_system_calls() {
        scenario::answers_a_small_file_in_at_most_4_system_calls(BINARY, LEVEL);
    }
}

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
            &["--header-timeout", "0"],
        ],
    );
}

#[test]
fn listens_on_the_port_given_as_argument() {
    scenario::listens_on_the_port_given_as_argument(BINARY);
}
