//! nonblock_server against the promises every static server keeps about
//! HTTP, and the lesson of its busy loop: it burns CPU while serving nobody.
//!
//! The scenarios are shared with epoll_server and live in
//! `testkit::static_server`; each `#[test]` here runs one of them against
//! this crate's binary.

use std::path::Path;

use testkit::static_server as scenario;

const BINARY: &str = env!("CARGO_BIN_EXE_nonblock_server");
const NO_EXTRA_ARGUMENTS: &[&str] = &[];

testkit::server_contract_tests!(BINARY);

testkit::static_server_scenario_tests!(BINARY, NO_EXTRA_ARGUMENTS);

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
            &["--header-timeout", "0"],
        ],
    );
}

#[test]
fn listens_on_the_port_given_as_argument() {
    scenario::listens_on_the_port_given_as_argument(BINARY);
}
