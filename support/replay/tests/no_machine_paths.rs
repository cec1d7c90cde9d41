//! No committed file carries a path of the machine it was made on: a home
//! directory, a scratch directory, the checkout itself. A transcript, a
//! result or a sample shows the learner's checkout (`./html`,
//! `./target/debug/…`) or a placeholder instead. Paths that are the lesson
//! (`/proc/PID/fd`, `/dev/null`, `/usr/lib/…`) are not machine paths.

use std::path::Path;
use std::process::Command;

use regex::Regex;

/// Where machines keep checkouts, homes and scratch files. Written without
/// their slashes, so that this file does not name them itself.
const MACHINE_DIRECTORIES: &[&str] = &["work", "tmp", "root", "home", "Users"];

/// Lines that may name such a directory because it is the lesson: (file,
/// text on the line, why). Empty: no file needs one now.
const ALLOWED: &[(&str, &str, &str)] = &[];

#[test]
fn no_committed_file_names_a_path_of_the_machine_it_was_made_on() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("support/replay sits two levels below the workspace root");
    let listed = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output();
    let files = match listed {
        Ok(output) if output.status.success() => output.stdout,
        _ => {
            eprintln!("not a git checkout (or no git): nothing to check");
            return;
        }
    };
    // An absolute path starts the word (after a space, a quote or the line's
    // start), so that a relative `x/tmp/y` is not one.
    let machine_path = Regex::new(&format!(
        r"(^|[^\w./~-])/({})/",
        MACHINE_DIRECTORIES.join("|")
    ))
    .unwrap();
    let checkout = root.canonicalize().unwrap().display().to_string();
    let mut found = Vec::new();
    for file in files
        .split(|&byte| byte == 0)
        .filter(|name| !name.is_empty())
    {
        let file = String::from_utf8_lossy(file);
        let Ok(text) = std::fs::read_to_string(root.join(&*file)) else {
            continue; // not text (an image, a binary)
        };
        for (number, line) in text.lines().enumerate() {
            let allowed = ALLOWED
                .iter()
                .any(|(path, text, _)| *path == file && line.contains(text));
            if (machine_path.is_match(line) || line.contains(&checkout)) && !allowed {
                let shown: String = line.trim().chars().take(120).collect();
                found.push(format!("{file}:{}: {shown}", number + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "{} committed lines name a path of the machine they were made on \
         (a home, a scratch directory, the checkout); write the checkout's \
         own relative path or a placeholder:\n{}",
        found.len(),
        found.join("\n")
    );
}
