//! Processes as `/proc` shows them: who a process's children are, and what
//! state each is in (running, sleeping, stopped, zombie).

use std::fs;

/// A process as `/proc/PID/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessState {
    pub pid: i32,
    /// `R` running, `S` sleeping, `Z` zombie, …: the STAT column of `ps`.
    pub state: char,
}

/// Every process whose parent is `parent`, read from `/proc/*/stat`.
pub fn children_of(parent: i32) -> Vec<ProcessState> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        // A process may exit between read_dir and read: skip it.
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some((state, ppid)) = parse_stat(&stat) {
            if ppid == parent {
                children.push(ProcessState { pid, state });
            }
        }
    }
    children
}

/// The state of process `pid` (`R`, `S`, `T` when stopped, `Z` when a
/// zombie, …), or `None` once it is gone from `/proc`: reaped, or never
/// there.
pub fn process_state(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat).map(|(state, _ppid)| state)
}

/// State and parent PID from a `/proc/PID/stat` line:
/// `pid (comm) state ppid …`.
pub(crate) fn parse_stat(stat: &str) -> Option<(char, i32)> {
    let mut fields = fields_after_name(stat)?;
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// The fields of a `/proc/PID/stat` line that follow the command name,
/// from the state (the line's 3rd field) on. The command name may hold
/// spaces and parentheses, so they are counted from the last `)`.
pub(crate) fn fields_after_name(stat: &str) -> Option<std::str::SplitWhitespace<'_>> {
    Some(stat[stat.rfind(')')? + 1..].split_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn parses_stat_with_odd_command_names() {
        assert_eq!(
            parse_stat("42 (a (weird) name) Z 7 42 42 0 -1"),
            Some(('Z', 7))
        );
    }

    #[test]
    fn finds_its_own_children_in_proc() {
        let mut child = Command::new("sleep").arg("5").spawn().unwrap();
        let me = std::process::id() as i32;
        let found = children_of(me)
            .iter()
            .any(|state| state.pid == child.id() as i32);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found);
    }
}
