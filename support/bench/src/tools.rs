//! The programs a run needs besides the workspace's own, and what to do
//! when one is missing: say which and how to install it, and install only
//! when asked to (`--install-missing`), after saying what will be done.

use std::env;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nix::unistd::geteuid;

use crate::process::Guarded;

/// A program a run may need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tool {
    /// The command's name.
    pub command: &'static str,
    /// The Debian package that has it.
    pub package: &'static str,
    /// What the run needs it for.
    pub role: &'static str,
}

pub const WRK: Tool = Tool {
    command: "wrk",
    package: "wrk",
    role: "the keep-alive load",
};
pub const NGINX: Tool = Tool {
    command: "nginx",
    package: "nginx-light",
    role: "the reference server",
};
pub const PYTHON3: Tool = Tool {
    command: "python3",
    package: "python3",
    role: "runs webserver3g.py",
};
pub const TASKSET: Tool = Tool {
    command: "taskset",
    package: "util-linux",
    role: "pins the server and the load to a core each",
};
pub const STRACE: Tool = Tool {
    command: "strace",
    package: "strace",
    role: "the system calls of a server that misses a target",
};
/// Optional: without it, a profile has strace's half only.
pub const VALGRIND: Tool = Tool {
    command: "valgrind",
    package: "valgrind",
    role: "the user-space profile (callgrind) of a server that misses a target",
};

/// Where a command is: on PATH, or in /usr/sbin and /sbin, which a user's
/// PATH may lack and where Debian puts nginx.
pub fn find(command: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|directory| directory.join(command))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

/// The command that installs `tools`, as a person would type it.
pub fn install_command(tools: &[Tool]) -> String {
    let mut packages: Vec<&str> = Vec::new();
    for tool in tools {
        if !packages.contains(&tool.package) {
            packages.push(tool.package);
        }
    }
    format!("apt-get install -y {}", packages.join(" "))
}

/// Checks that every tool in `needed` is there. When some are not: with
/// `install`, installs them (see [`install`]); else fails, naming each and
/// the command that installs them.
pub fn ensure(needed: &[Tool], install: bool) -> Result<()> {
    let missing: Vec<Tool> = needed
        .iter()
        .copied()
        .filter(|tool| find(tool.command).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if install {
        return self::install(&missing);
    }
    if missing.contains(&NGINX) {
        eprintln!("bench: {}", NGINX_SERVICE_WARNING);
    }
    let named: Vec<String> = missing
        .iter()
        .map(|tool| format!("{} ({})", tool.command, tool.role))
        .collect();
    bail!(
        "missing {}; install with `{}` as root, or rerun with --install-missing to have bench do it",
        named.join(", "),
        install_command(&missing)
    )
}

const NGINX_SERVICE_WARNING: &str =
    "installing nginx-light also starts nginx as a system service on port 80, \
     where an init system runs services; --install-missing prevents that with a temporary \
     /usr/sbin/policy-rc.d when there is none";

/// How long apt-get may take, each of its two steps.
const APT_LIMIT: Duration = Duration::from_secs(600);

/// `apt-get update`, then `apt-get install -y` of the missing tools'
/// packages, as root, after saying so. For nginx-light, service starts are
/// forbidden during the install with a policy-rc.d (see
/// [`ServiceStartsForbidden`]).
pub fn install(missing: &[Tool]) -> Result<()> {
    let command = install_command(missing);
    if !geteuid().is_root() {
        bail!("--install-missing needs root: run `apt-get update && {command}` as root");
    }
    eprintln!("bench: --install-missing: running `apt-get update`, then `{command}`");
    let _forbidden = if missing.contains(&NGINX) {
        ServiceStartsForbidden::during_install()?
    } else {
        None
    };
    apt_get(&["update", "-q"])?;
    let mut install = vec!["install", "-y", "-q"];
    install.extend(missing.iter().map(|tool| tool.package));
    apt_get(&install)?;
    let still: Vec<&str> = missing
        .iter()
        .filter(|tool| find(tool.command).is_none())
        .map(|tool| tool.command)
        .collect();
    if !still.is_empty() {
        bail!("apt-get succeeded, yet still missing: {}", still.join(", "));
    }
    Ok(())
}

fn apt_get(arguments: &[&str]) -> Result<()> {
    let mut command = Command::new("apt-get");
    command
        .args(arguments)
        .env("DEBIAN_FRONTEND", "noninteractive");
    let mut apt = Guarded::spawn(command, "apt-get")?;
    match apt.wait_for(APT_LIMIT) {
        Some(status) if status.success() => Ok(()),
        Some(status) => bail!("apt-get {} failed: {status}", arguments.join(" ")),
        None => bail!("apt-get {} took over {APT_LIMIT:?}", arguments.join(" ")),
    }
}

/// `/usr/sbin/policy-rc.d` answering 101 ("action forbidden"), which
/// Debian's package scripts ask before starting a service: written for the
/// install (so that nginx-light does not start a system nginx on port 80)
/// and removed when dropped. An existing one is never touched.
pub struct ServiceStartsForbidden {
    /// The file written, removed on drop.
    path: PathBuf,
}

impl ServiceStartsForbidden {
    const PATH: &'static str = "/usr/sbin/policy-rc.d";

    fn during_install() -> Result<Option<ServiceStartsForbidden>> {
        let path = PathBuf::from(Self::PATH);
        if path.exists() {
            eprintln!(
                "bench: {} exists; left as it is: it decides whether nginx-light's package \
                 starts a system nginx on port 80",
                path.display()
            );
            return Ok(None);
        }
        eprintln!(
            "bench: nginx-light's package starts a system nginx on port 80 where an init system \
             runs services: writing {} (exit 101: no service starts) for the install, removed after",
            path.display()
        );
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        file.write_all(
            b"#!/bin/sh\n# Written by bench for one apt-get install; removed after.\nexit 101\n",
        )?;
        Ok(Some(ServiceStartsForbidden { path }))
    }
}

impl Drop for ServiceStartsForbidden {
    fn drop(&mut self) {
        match fs::remove_file(&self.path) {
            Ok(()) => eprintln!("bench: removed {}", self.path.display()),
            Err(err) => eprintln!("bench: could not remove {}: {err}", self.path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_command_names_each_package_once() {
        assert_eq!(
            install_command(&[WRK, NGINX, STRACE, NGINX]),
            "apt-get install -y wrk nginx-light strace"
        );
    }

    #[test]
    fn a_missing_tool_is_named_with_its_install_command() {
        let absent = Tool {
            command: "bench-no-such-tool",
            package: "no-such-package",
            role: "nothing",
        };
        let message = format!("{:#}", ensure(&[absent], false).unwrap_err());
        assert_eq!(
            message,
            "missing bench-no-such-tool (nothing); install with \
             `apt-get install -y no-such-package` as root, or rerun with --install-missing to have bench do it"
        );
    }

    #[test]
    fn present_tools_pass() {
        let shell = Tool {
            command: "sh",
            package: "dash",
            role: "a shell",
        };
        ensure(&[shell], false).unwrap();
        assert!(find("sh").is_some());
    }
}
