//! The experiments, one per chapter, as the chapters' "Run it" sections
//! describe them, and what legitimately varies in each. Each module's
//! `CHAPTER` says what its experiment does (`--list` prints it).

use anyhow::{Context, Result};

use crate::lab::{pause, until, Lab, CURL, PS, STEP_TIMEOUT};
use testkit::procs::children_of;

mod c10k;
mod client3;
mod epoll_server;
mod nonblock_server;
mod prefork;
mod uring_server;
mod webserver1;
mod webserver2;
mod webserver3a;
mod webserver3b;
mod webserver3c;
mod webserver3d;
mod webserver3e;
mod webserver3f;
mod webserver3g;

pub struct Chapter {
    /// The name used on the command line and in the narration (`3d`).
    pub short: &'static str,
    /// The lesson crate, which names the chapter (`webserver3d.md`) and the
    /// transcripts (`webserver3d-<step>.txt`); or, for a chapter that has no
    /// crate of its own (`c10k`), just the chapter's name.
    pub crate_name: &'static str,
    /// What the experiment does, for --list.
    pub what: &'static str,
    pub run: fn(&mut Lab) -> Result<()>,
    /// Replacements (pattern, placeholder) for what varies between runs of
    /// this experiment, on top of `normalize`'s common ones.
    pub varies: &'static [(&'static str, &'static str)],
    /// Patterns of lines whose consecutive runs come in no fixed order.
    pub sort: &'static [&'static str],
}

pub const CHAPTERS: &[Chapter] = &[
    webserver1::CHAPTER,
    webserver2::CHAPTER,
    webserver3a::CHAPTER,
    webserver3b::CHAPTER,
    webserver3c::CHAPTER,
    webserver3d::CHAPTER,
    webserver3e::CHAPTER,
    webserver3f::CHAPTER,
    webserver3g::CHAPTER,
    client3::CHAPTER,
    nonblock_server::CHAPTER,
    epoll_server::CHAPTER,
    prefork::CHAPTER,
    uring_server::CHAPTER,
    c10k::CHAPTER,
];

/// The chapter named `name`: its short name (`3d`, `1`), or its crate (`webserver3d`).
pub fn find(name: &str) -> Result<&'static Chapter, String> {
    let wanted = name.trim_start_matches("webserver");
    CHAPTERS
        .iter()
        .find(|chapter| {
            chapter.short == name
                || chapter.crate_name == name
                || chapter.crate_name.trim_start_matches("webserver") == wanted
        })
        .ok_or_else(|| {
            let names: Vec<&str> = CHAPTERS.iter().map(|chapter| chapter.short).collect();
            format!("no chapter {name:?}; the chapters are {}", names.join(", "))
        })
}

/// The burst of 3f and 3g: 128 clients of one connection each, then the
/// counts from the server's log and ps, and the process tree as data for a
/// figure.
fn burst(lab: &mut Lab, crate_name: &str, figure: &str) -> Result<()> {
    if !lab.need(&[&CURL, &PS]) {
        return Ok(());
    }
    lab.step("burst");
    lab.say("the server's output is also saved to a file, so that it can be counted afterwards.");
    let log = lab.scratch_file(&format!("{crate_name}.log"));
    let server = lab.server(&format!("PORT=0 cargo run -q -p {crate_name} | tee {log}"))?;
    let port = server.port;
    let parent: i32 = server
        .process
        .lines()
        .iter()
        .find_map(|line| {
            line.strip_prefix("Parent PID (PPID): ")?
                .trim()
                .parse()
                .ok()
        })
        .context("the server's Parent PID line")?;
    lab.say("128 clients at once, one connection each (the article's run):");
    lab.client3(port, 128, 1, STEP_TIMEOUT)?;
    // Every child has printed its request and exited: none is still running.
    server.wait_for(128, |line| line.starts_with("Child PID"));
    until(|| children_of(parent).iter().all(|child| child.state == 'Z'));
    pause(300);
    let tree = children_of(parent);
    lab.say("then, in another terminal: children that served a client, children reported reaped, zombies.");
    lab.sh(&format!("grep -c '^Child PID' {log}"))?;
    let reaped = lab.sh(&format!("grep -c 'terminated' {log}"))?;
    let count_zombies = format!("ps -o pid,stat,cmd --ppid {parent} | grep -c defunct");
    let zombies = lab.sh(&count_zombies)?;
    lab.say(&format!(
        "{} were reaped and {} are zombies.",
        reaped.trim(),
        zombies.trim()
    ));
    lab.say("the server still answers, and the count does not change:");
    lab.sh(&format!("curl -s http://127.0.0.1:{port}/hello"))?;
    pause(300);
    lab.sh(&count_zombies)?;
    let data = crate::figures::tree_data(crate_name, parent, Some(128), &tree);
    lab.figure(figure, data);
    Ok(())
}

#[cfg(test)]
mod tests {
    use common::manifest::manifest;

    /// Every experiment stages.toml names is here, under that name and its
    /// crate, in the book's order, and there is no other.
    #[test]
    fn the_chapters_are_the_experiments_stages_toml_names() {
        let manifest = manifest();
        let mut wanted: Vec<(String, String)> = manifest
            .stage
            .iter()
            .filter_map(|stage| Some((stage.replay.clone()?, stage.crate_name.clone())))
            .collect();
        for chapter in &manifest.chapter {
            let name = chapter
                .replay
                .clone()
                .expect("a chapter without a crate has an experiment");
            wanted.push((name.clone(), name));
        }
        let ours: Vec<(String, String)> = super::CHAPTERS
            .iter()
            .map(|chapter| (chapter.short.to_owned(), chapter.crate_name.to_owned()))
            .collect();
        assert_eq!(
            ours, wanted,
            "replay's chapters (left) and stages.toml's experiments (right)"
        );
    }
}
