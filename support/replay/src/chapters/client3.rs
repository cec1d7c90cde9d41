use anyhow::Result;

use super::Chapter;
use crate::lab::{free_port, Lab};

pub const CHAPTER: Chapter = Chapter {
    short: "client3",
    crate_name: "client3",
    what: "--help; two clients of three connections against webserver3g; a port where nobody listens; ulimit -n 64",
    run,
    varies: &[],
    // The lines of two client processes interleave as they run.
    sort: &[r"^client \d+: connection \d+( failed: .*)?$"],
};

fn run(lab: &mut Lab) -> Result<()> {
    lab.step("help");
    lab.say("the options, as clap prints them:");
    lab.sh("cargo run -q -p client3 -- --help")?;

    lab.step("two-clients");
    lab.say("against webserver3g, two clients (processes) of three connections each:");
    let server = lab.server("PORT=0 cargo run -q -p webserver3g")?;
    let port = server.port;
    lab.sh(&format!(
        "cargo run -q -p client3 -- --host=127.0.0.1 --port={port} --max-clients=2 --max-conns=3"
    ))?;
    lab.look("the lines of the two processes interleave, since they run at the same time; the summary counts them all.");

    lab.step("refused");
    let free = free_port()?;
    lab.say("against a port where nobody listens, each client stops at its first failure, and the summary counts what was not even tried:");
    lab.sh(&format!(
        "cargo run -q -p client3 -- --host=127.0.0.1 --port={free} --max-clients=2"
    ))?;

    lab.step("nofile");
    lab.say("with too few descriptors for the connections asked, client3 warns before it starts, then fails where the warning said, and exits with code 1:");
    lab.sh(&format!(
        "(ulimit -n 64; cargo run -q -p client3 -- --host=127.0.0.1 --port={port} --max-conns=100 > /dev/null); echo \"exit code $?\""
    ))?;
    drop(server);
    Ok(())
}
