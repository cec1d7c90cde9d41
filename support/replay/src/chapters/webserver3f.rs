use anyhow::Result;

use super::{burst, Chapter};
use crate::lab::Lab;

pub const CHAPTER: Chapter = Chapter {
    short: "3f",
    crate_name: "webserver3f",
    what: "128 clients at once (client3 --max-conns=1): children served, reaped, zombies counted with ps",
    run,
    // How many of the 128 exits were merged into one signal varies.
    varies: &[
        (r"(?m)^(\$ grep -c 'terminated' .*\n)\d+", "$1<count>"),
        (r"(?m)^(\$ ps .*grep -c defunct\n)\d+", "$1<count>"),
        (r"\d+ were reaped and \d+ are zombies", "<n> were reaped and <n> are zombies"),
    ],
    sort: &[],
};

fn run(lab: &mut Lab) -> Result<()> {
    burst(lab, "webserver3f", "3f-zombies")
}
