//! How a lesson binary starts and fails: [`run`], `--help`, and one-line
//! errors with a hint for the mistakes learners make most.
//!
//! Every lesson's `main` is the same line, `common::run(env!("CARGO_BIN_NAME"),
//! serve_forever)`, so nothing here ever shows up in a diff between stages.

use std::env;
use std::io;
use std::process;

use anyhow::{Error, Result};

/// What `--help` says about one lesson binary.
struct Lesson {
    /// The binary's name, as `cargo run -p CRATE --bin NAME` knows it.
    name: &'static str,
    /// One line: what the program is and what it shows.
    summary: &'static str,
    /// The original it ports.
    original: &'static str,
    /// The book's chapter, from the repository root.
    chapter: &'static str,
    /// The port it listens on (or, for a client, connects to).
    port: u16,
    /// `SLEEP_SECS`: the default it overrides and what it shortens.
    sleep: Option<(u64, &'static str)>,
}

const PART3: &str = "Let's Build A Web Server, Part 3";

/// Every binary that starts through [`run`].
const LESSONS: &[Lesson] = &[
    Lesson {
        name: "webserver1",
        summary: "the first server: the socket steps, one read, one greeting for any request",
        original: "part1/webserver1.py (Let's Build A Web Server, Part 1)",
        chapter: "docs/src/webserver1.md",
        port: 8888,
        sleep: None,
    },
    Lesson {
        name: "blocking_server",
        summary: "an iterative server that works 10 s per request; the next client waits",
        original: "the blocking server of seed 002",
        chapter: "docs/src/webserver1.md",
        port: 50007,
        sleep: Some((10, "the work done for each request")),
    },
    Lesson {
        name: "blocking_client",
        summary: "the client of the blocking pair: sends one line, prints the answer and the wait",
        original: "the blocking client of seed 002",
        chapter: "docs/src/webserver1.md",
        port: 50007,
        sleep: None,
    },
    Lesson {
        name: "hello_name",
        summary: "a service: GET /Alice answers Hello, Alice!",
        original: "the hello-name server of seed 004",
        chapter: "docs/src/webserver1.md",
        port: 8888,
        sleep: None,
    },
    Lesson {
        name: "webserver3a",
        summary: "an iterative server: one client at a time",
        original: "part3/webserver3a.py",
        chapter: "docs/src/webserver3a.md",
        port: 8888,
        sleep: None,
    },
    Lesson {
        name: "webserver3b",
        summary: "an iterative server that sleeps after answering: the listen queue",
        original: "part3/webserver3b.py",
        chapter: "docs/src/webserver3b.md",
        port: 8888,
        sleep: Some((60, "the sleep after each answer")),
    },
    Lesson {
        name: "webserver3c",
        summary: "a forking server: one child per client; zombies appear",
        original: "part3/webserver3c.py",
        chapter: "docs/src/webserver3c.md",
        port: 8888,
        sleep: Some((60, "each child's sleep after answering")),
    },
    Lesson {
        name: "webserver3d",
        summary: "the parent keeps its copies of client sockets (on purpose): no FIN, curl hangs",
        original: "part3/webserver3d.py",
        chapter: "docs/src/webserver3d.md",
        port: 8888,
        sleep: None,
    },
    Lesson {
        name: "webserver3e",
        summary: "a SIGCHLD handler reaps children; accept fails with EINTR and the server dies",
        original: "part3/webserver3e.py",
        chapter: "docs/src/webserver3e.md",
        port: 8888,
        sleep: Some((3, "each child's sleep after answering")),
    },
    Lesson {
        name: "webserver3f",
        summary: "accept restarted after EINTR; one wait per signal leaves zombies",
        original: "part3/webserver3f.py",
        chapter: "docs/src/webserver3f.md",
        port: 8888,
        sleep: None,
    },
    Lesson {
        name: "webserver3g",
        summary: "waitpid in a loop reaps every child: the finished forking server",
        original: "part3/webserver3g.py",
        chapter: "docs/src/webserver3g.md",
        port: 8888,
        sleep: None,
    },
    Lesson {
        name: "nonblock_model",
        summary: "the course's first non-blocking accept/recv loop",
        original: "the non-blocking model of seed 003",
        chapter: "docs/src/nonblock_server.md",
        port: 7899,
        sleep: Some((0, "the pause between turns of the busy loop")),
    },
    Lesson {
        name: "epoll_model",
        summary: "the course's simplest epoll server (EPOLLIN | EPOLLET)",
        original: "the epoll model of seed 003",
        chapter: "docs/src/epoll_server.md",
        port: 7788,
        sleep: None,
    },
];

/// Starts a lesson: answers `--help`, refuses any other argument (one line,
/// exit code 2), checks `SLEEP_SECS`, then calls `serve`. If `serve` fails,
/// prints one line, `NAME: what failed: why`, with a hint where a learner
/// needs one, and exits with code 1. It never returns.
///
/// The error is printed here, not returned from `main`: `main` returning
/// `Err` prints it with `Debug`, which with `RUST_BACKTRACE=1` set adds a
/// backtrace a learner does not need.
pub fn run(name: &str, serve: impl FnOnce() -> Result<()>) -> ! {
    let lesson = LESSONS.iter().find(|lesson| lesson.name == name);
    if let Some(argument) = env::args_os().nth(1) {
        if argument == "--help" || argument == "-h" {
            print_help(name, lesson);
            process::exit(0);
        }
        eprintln!(
            "{name}: unexpected argument {argument:?}; it takes none (settings come from \
             PORT and SLEEP_SECS; try --help)"
        );
        process::exit(2);
    }
    crate::output::share_dropped_count_with_children();
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
    eprintln!("{name}: {err:#}{}", hint(err));
    process::exit(1);
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

fn print_help(name: &str, lesson: Option<&Lesson>) {
    let Some(lesson) = lesson else {
        crate::output::print_line(&format!(
            "{name}: a program of \"Let's Build A Web Server, in Rust\". It takes no arguments."
        ));
        return;
    };
    let original = if lesson.original.starts_with("part3/") {
        format!("{} ({PART3})", lesson.original)
    } else {
        lesson.original.to_owned()
    };
    let mut help = format!(
        "{name}: {summary}.\n\
         Ports {original}.\n\
         Chapter: {chapter} (or the book: mdbook serve docs).\n\
         \n\
         Usage: cargo run -p CRATE --bin {name}      (no arguments)\n\
         \n\
         Environment:\n  \
         PORT=N         use port N instead of {port}",
        summary = lesson.summary,
        chapter = lesson.chapter,
        port = lesson.port,
    );
    if lesson.name != "blocking_client" {
        help.push_str(" (PORT=0: any free port, printed at start)");
    }
    if let Some((seconds, what)) = lesson.sleep {
        help.push_str(&format!(
            "\n  SLEEP_SECS=S   {what}, instead of {seconds} s (fractions allowed: 0.5)"
        ));
    }
    crate::output::print_line(&help);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_names_a_chapter_that_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for lesson in LESSONS {
            assert!(
                root.join(lesson.chapter).is_file(),
                "{}: no {}",
                lesson.name,
                lesson.chapter
            );
        }
    }

    #[test]
    fn an_address_in_use_gets_a_hint_and_other_errors_do_not() {
        let in_use = Error::new(io::Error::from(io::ErrorKind::AddrInUse)).context("bind");
        assert!(hint(&in_use).contains("PORT="));
        let refused = Error::new(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(hint(&refused), "");
    }
}
