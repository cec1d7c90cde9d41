//! prefork_server against the promises every static server keeps about
//! HTTP: the scenarios of `testkit::static_server`, which nonblock_server
//! and epoll_server pass, run against two workers, each on a listening
//! socket of its own, so that a scenario's connections land on either.
//!
//! The two scenarios that run a server out of descriptors count them for
//! one process (`ulimit -n` is per process): they run with one worker.

use std::path::Path;

use testkit::static_server as scenario;

const BINARY: &str = env!("CARGO_BIN_EXE_prefork_server");

testkit::server_contract_tests!(BINARY);

mod two_workers {
    use super::*;

    const TWO: &[&str] = &["--workers", "2"];

    testkit::static_server_scenario_tests!(BINARY, TWO, without_descriptor_limits);

    #[test]
    fn sleeps_while_idle() {
        scenario::sleeps_while_idle(BINARY, TWO);
    }

    #[test]
    fn answers_a_small_file_in_at_most_4_system_calls() {
        scenario::answers_a_small_file_in_at_most_4_system_calls(BINARY, TWO);
    }
}

mod one_worker {
    use super::*;

    const ONE: &[&str] = &["--workers", "1"];

    #[test]
    fn survives_running_out_of_descriptors_without_spinning() {
        scenario::survives_running_out_of_descriptors(BINARY, ONE, true);
    }

    #[test]
    fn trickling_clients_cannot_lock_others_out() {
        scenario::trickling_clients_cannot_lock_others_out(BINARY, ONE);
    }
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
            &["--idle-timeout", "0"],
            &["--workers", "0"],
            &["--workers", "1025"],
            &["--workers", "many"],
            &["--workers"],
        ],
    );
}

#[test]
fn listens_on_the_port_given_as_argument() {
    scenario::listens_on_the_port_given_as_argument(BINARY);
}
