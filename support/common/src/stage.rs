//! How a lesson binary starts and fails: [`run`], `--help`, and one-line
//! errors with a hint for the mistakes learners make most.
//!
//! Every lesson's `main` is the same line, `common::run(env!("CARGO_BIN_NAME"),
//! serve_forever)`, so nothing here ever shows up in a diff between stages.

use std::env;
use std::io::{self, Write};
use std::process;

use anyhow::{Error, Result};

use crate::manifest::Binary;

/// Starts a lesson: answers `--help`, refuses any other argument (one line,
/// exit code 2), checks `SLEEP_SECS`, then calls `serve`. If `serve` fails,
/// prints one line, `NAME: what failed: why`, with a hint where a learner
/// needs one, and exits with code 1. It never returns.
///
/// The error is printed here, not returned from `main`: `main` returning
/// `Err` prints it with `Debug`, which with `RUST_BACKTRACE=1` set adds a
/// backtrace a learner does not need.
pub fn run(name: &str, serve: impl FnOnce() -> Result<()>) -> ! {
    let lesson = crate::manifest::manifest().binary(name);
    if let Some(argument) = env::args_os().nth(1) {
        if argument == "--help" || argument == "-h" {
            print_help(name, lesson);
            process::exit(0);
        }
        say_before_exit(&format!(
            "{name}: unexpected argument {argument:?}; it takes none (settings come from \
             PORT and SLEEP_SECS; try --help)"
        ));
        process::exit(2);
    }
    crate::output::share_dropped_count_with_children();
    crate::output::look_at_the_logs();
    if let Err(err) = crate::check_sleep_secs() {
        exit_with_error(name, &err);
    }
    match serve() {
        Ok(()) => process::exit(0),
        Err(err) => exit_with_error(name, &err),
    }
}

/// Prints `NAME: ERROR` on one line, with a hint for the errors learners
/// meet most, and exits with code 1.
pub fn exit_with_error(name: &str, err: &Error) -> ! {
    say_before_exit(&format!("{name}: {err:#}{}", hint(err)));
    process::exit(1);
}

/// The last words of a lesson that exits: one line on stderr, in one
/// plain `write`, whatever becomes of it. Unlike a server's log lines it
/// may wait for a full pipe (the process is ending anyway), and unlike
/// std's `eprintln!` it does not panic when nobody reads stderr.
fn say_before_exit(line: &str) {
    let _ = io::stderr().write_all(format!("{line}\n").as_bytes());
}

/// A hint to add to an error line, or nothing.
fn hint(err: &Error) -> &'static str {
    let kind = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<io::Error>())
        .map(io::Error::kind);
    match kind {
        Some(io::ErrorKind::AddrInUse) => {
            " (another program is listening on that port: stop it, or choose another \
             port with PORT=8889, or PORT=0 for any free one)"
        }
        _ => "",
    }
}

fn print_help(name: &str, lesson: Option<Binary>) {
    let Some(lesson) = lesson else {
        crate::output::print_line(&format!(
            "{name}: a program of \"Let's Build A Web Server, in Rust\". It takes no arguments."
        ));
        return;
    };
    let mut help = format!(
        "{name}: {summary}.\n\
         Ports {original}.\n\
         Chapter: {chapter} (or the book: mdbook serve docs).\n\
         \n\
         Usage: cargo run -p {crate_name} --bin {name}      (no arguments)\n\
         \n\
         Environment:\n  \
         PORT=N         use port N instead of {port}",
        summary = lesson.description,
        original = lesson.original,
        chapter = lesson.stage.chapter,
        crate_name = lesson.stage.crate_name,
        port = lesson.port,
    );
    if name != "blocking_client" {
        help.push_str(" (PORT=0: any free port, printed at start)");
    }
    if let Some(sleep) = lesson.sleep {
        help.push_str(&format!(
            "\n  SLEEP_SECS=S   {}, instead of {} s (fractions allowed: 0.5)",
            sleep.what, sleep.seconds
        ));
    }
    crate::output::print_line(&help);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_in_use_gets_a_hint_and_other_errors_do_not() {
        let in_use = Error::new(io::Error::from(io::ErrorKind::AddrInUse)).context("bind");
        assert!(hint(&in_use).contains("PORT="));
        let refused = Error::new(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(hint(&refused), "");
    }
}
