//! What to do when a program a run needs is missing (the programs and
//! their packages are testkit's one table): say which and how to install
//! it, and install only when asked to (`--install-missing`), after saying
//! what will be done.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use nix::unistd::geteuid;
use testkit::tools::{apt_install_command, find, Tool, NGINX};

use crate::setup::run_bounded;

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
        apt_install_command(&missing)
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
    let command = apt_install_command(missing);
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
    install.extend(missing.iter().map(|tool| tool.debian));
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
    let what = arguments.join(" ");
    match run_bounded(command, APT_LIMIT)? {
        (Some(status), _) if status.success() => Ok(()),
        (Some(status), output) => bail!("apt-get {what} failed: {status}\n{}", output.trim_end()),
        (None, _) => bail!("apt-get {what} took over {APT_LIMIT:?}"),
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
    fn a_missing_tool_is_named_with_its_install_command() {
        let absent = Tool {
            command: "bench-no-such-tool",
            debian: "no-such-package",
            fedora: "no-such-package",
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
            debian: "dash",
            fedora: "bash",
            role: "a shell",
        };
        ensure(&[shell], false).unwrap();
    }
}
