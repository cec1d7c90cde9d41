//! The programs the tests, replay and the benchmark need besides the
//! workspace's own, where each comes from, and the one PATH lookup (the
//! `which` crate's, plus /usr/sbin and /sbin, which a user's PATH may lack
//! and where Debian puts nginx).

use std::path::PathBuf;

/// A program a tool may need, and the packages that have it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tool {
    /// The command's name.
    pub command: &'static str,
    /// The Debian (and Ubuntu) package that has it.
    pub debian: &'static str,
    /// The Fedora package that has it.
    pub fedora: &'static str,
    /// What it is needed for, in a few words.
    pub role: &'static str,
}

const fn tool(
    command: &'static str,
    debian: &'static str,
    fedora: &'static str,
    role: &'static str,
) -> Tool {
    Tool {
        command,
        debian,
        fedora,
        role,
    }
}

pub const CURL: Tool = tool("curl", "curl", "curl", "the client the chapters use");
pub const SS: Tool = tool("ss", "iproute2", "iproute", "the sockets and their queues");
pub const PS: Tool = tool(
    "ps",
    "procps",
    "procps-ng",
    "the processes and their states",
);
pub const STRACE: Tool = tool("strace", "strace", "strace", "the system calls of a server");
pub const SETPRIV: Tool = tool(
    "setpriv",
    "util-linux",
    "util-linux",
    "runs a server as nobody",
);
pub const TASKSET: Tool = tool(
    "taskset",
    "util-linux",
    "util-linux",
    "pins the server and the load to a core each",
);
pub const WRK: Tool = tool("wrk", "wrk", "wrk", "the keep-alive load");
pub const NGINX: Tool = tool("nginx", "nginx-light", "nginx", "the reference server");
pub const PYTHON3: Tool = tool("python3", "python3", "python3", "runs webserver3g.py");
pub const VALGRIND: Tool = tool(
    "valgrind",
    "valgrind",
    "valgrind",
    "the user-space profile (callgrind) of a server",
);

impl Tool {
    /// Where the command is, if anywhere.
    pub fn path(&self) -> Option<PathBuf> {
        find(self.command)
    }

    pub fn is_installed(&self) -> bool {
        self.path().is_some()
    }

    /// How a person installs it: `sudo apt-get install X (Debian, Ubuntu)
    /// or sudo dnf install Y (Fedora)`.
    pub fn install_hint(&self) -> String {
        format!(
            "sudo apt-get install {} (Debian, Ubuntu) or sudo dnf install {} (Fedora)",
            self.debian, self.fedora
        )
    }
}

/// Where `command` is: on PATH, or in /usr/sbin or /sbin.
pub fn find(command: &str) -> Option<PathBuf> {
    which::which(command)
        .or_else(|_| which::which_in(command, Some("/usr/sbin:/sbin"), "/"))
        .ok()
}

/// The one command that installs `tools` on Debian, packages once each.
pub fn apt_install_command(tools: &[Tool]) -> String {
    let mut packages: Vec<&str> = Vec::new();
    for tool in tools {
        if !packages.contains(&tool.debian) {
            packages.push(tool.debian);
        }
    }
    format!("apt-get install -y {}", packages.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_and_not_a_made_up_command() {
        assert!(find("sh").is_some());
        assert!(find("no-such-command-anywhere").is_none());
        assert_eq!(
            apt_install_command(&[SETPRIV, TASKSET, WRK]),
            "apt-get install -y util-linux wrk"
        );
        assert!(CURL.install_hint().contains("apt-get install curl"));
    }
}
