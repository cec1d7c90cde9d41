//! The scenery of a run: where the binaries are, the build, the temporary
//! directory with the document root, the cores, the open-file limit.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use nix::sys::resource::{getrlimit, setrlimit, Resource};

use crate::process::{command, run_bounded};

/// The crates whose binaries the benchmark runs, built in release.
const PACKAGES: [&str; 5] = [
    "loadgen",
    "webserver3a",
    "webserver3g",
    "nonblock_server",
    "epoll_server",
];

/// Everything a server start or a load needs to know about this run.
pub struct Setup {
    /// The workspace's root directory.
    pub workspace: PathBuf,
    /// Where the release binaries are (`<target>/release`).
    pub release: PathBuf,
    /// This run's temporary directory: the document root, nginx's
    /// configuration, the servers' logs, the tools' outputs.
    pub work: PathBuf,
    /// The document root every static server and nginx serve.
    pub site: PathBuf,
    /// Prefix that runs a server on core 0 (empty on one core).
    pub pin_server: Vec<OsString>,
    /// Prefix that runs a load tool on core 1 (empty on one core).
    pub pin_load: Vec<OsString>,
    /// The open-file limit every child inherits (raised to the hard limit).
    pub open_files: u64,
    /// nginx's executable, when nginx is measured.
    pub nginx: Option<PathBuf>,
}

impl Setup {
    pub fn loadgen(&self) -> PathBuf {
        self.release.join("loadgen")
    }
}

/// The workspace root (two levels above this crate) and the release
/// directory of the target directory bench itself was built in, so that
/// `cargo run --release -p bench` and the build below agree on it.
pub fn locate() -> Result<(PathBuf, PathBuf)> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workspace = workspace
        .canonicalize()
        .with_context(|| format!("no workspace at {}", workspace.display()))?;
    let executable = env::current_exe().context("cannot find bench's own executable")?;
    // <target>/<profile>/bench, or <target>/<profile>/deps/bench-… in tests.
    let target = executable
        .ancestors()
        .find(|directory| directory.join("CACHEDIR.TAG").is_file())
        .or_else(|| executable.parent().and_then(Path::parent))
        .context("cannot tell the target directory from bench's path")?
        .to_owned();
    Ok((workspace, target.join("release")))
}

/// `cargo build --release` of the servers and loadgen, into the same
/// target directory.
pub fn build(workspace: &Path, release: &Path) -> Result<()> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = release
        .parent()
        .context("release directory has no parent")?;
    let mut argv: Vec<OsString> = vec![cargo, "build".into(), "--release".into()];
    argv.extend([
        "--manifest-path".into(),
        workspace.join("Cargo.toml").into(),
    ]);
    argv.extend(["--target-dir".into(), target.into()]);
    for package in PACKAGES {
        argv.extend(["-p".into(), package.into()]);
    }
    eprintln!("bench: building in release: {}", PACKAGES.join(", "));
    let log = env::temp_dir().join(format!("bench-build.{}.log", process::id()));
    // A first build of the workspace takes minutes on two cores.
    let finished = run_bounded(
        command(&argv),
        "cargo build",
        Duration::from_secs(1800),
        &log,
    )?;
    let _ = fs::remove_file(&log);
    match finished.status {
        Some(status) if status.success() => Ok(()),
        _ => bail!("the release build failed:\n{}", finished.output.trim_end()),
    }
}

/// The server on core 0, the load on core 1: each gets a core of its own,
/// as far as the rest of the machine lets it, and the scheduler's choices
/// do not vary from run to run. A forking server's children inherit core 0.
/// With one core, nothing is pinned.
pub fn pinning(cores: usize) -> (Vec<OsString>, Vec<OsString>) {
    if cores >= 2 {
        let on = |core: &str| vec!["taskset".into(), "-c".into(), core.into()];
        (on("0"), on("1"))
    } else {
        (Vec::new(), Vec::new())
    }
}

/// Raises this process's soft open-file limit to the hard one, which every
/// child inherits: 10,000 connections need 10,000 descriptors on each side.
pub fn raise_open_file_limit() -> Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("getrlimit")?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).context("setrlimit(RLIMIT_NOFILE)")?;
    }
    Ok(hard)
}

/// A directory under the system's temporary directory, removed with its
/// contents when dropped.
pub struct TempDir {
    /// The directory.
    path: PathBuf,
    /// Whether to leave it in place (the smoke run's output).
    keep: bool,
}

impl TempDir {
    pub fn new(prefix: &str) -> Result<TempDir> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let path = env::temp_dir().join(format!("{prefix}.{}.{nanos:09}", process::id()));
        // create_dir, not create_dir_all: a name already taken is an error,
        // never a directory shared with someone else.
        fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
        // nginx's worker runs as "nobody" when started by root: let it in.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
        Ok(TempDir { path, keep: false })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leaves the directory in place when dropped, and returns its path.
    pub fn keep(mut self) -> PathBuf {
        self.keep = true;
        self.path.clone()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// The page of the keep-alive and C10K workloads: exactly 200 bytes.
pub fn small_page() -> Vec<u8> {
    let mut page = b"<!doctype html><title>small</title><p>".to_vec();
    page.resize(200, b'x');
    page
}

/// The document root: a 15-byte hello (connection per request), a
/// 200-byte page (keep-alive, C10K), a 1 MiB file (keep-alive, large).
pub fn create_site(site: &Path) -> Result<()> {
    fs::create_dir(site).with_context(|| format!("cannot create {}", site.display()))?;
    fs::write(site.join("hello.txt"), "Hello, World!\r\n")?;
    fs::write(site.join("small.html"), small_page())?;
    // Random bytes: nothing along the way can make a 1 MiB file cheaper by
    // noticing it repeats.
    let mut big = vec![0; 1024 * 1024];
    fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut big))
        .context("cannot read /dev/urandom")?;
    fs::write(site.join("big.bin"), big)?;
    fs::set_permissions(site, fs::Permissions::from_mode(0o755))?;
    for name in ["hello.txt", "small.html", "big.bin"] {
        fs::set_permissions(site.join(name), fs::Permissions::from_mode(0o644))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_small_page_is_200_bytes_of_html() {
        let page = small_page();
        assert_eq!(page.len(), 200);
        assert!(page.starts_with(b"<!doctype html>"));
    }

    #[test]
    fn one_core_pins_nothing_two_pin_server_and_load_apart() {
        assert_eq!(pinning(1), (Vec::new(), Vec::new()));
        let (server, load) = pinning(2);
        assert_eq!(server, ["taskset", "-c", "0"]);
        assert_eq!(load, ["taskset", "-c", "1"]);
    }

    #[test]
    fn a_temporary_directory_goes_away_unless_kept() {
        let gone = TempDir::new("bench-test").unwrap();
        let gone_path = gone.path().to_owned();
        fs::write(gone_path.join("file"), "x").unwrap();
        drop(gone);
        assert!(!gone_path.exists());

        let kept = TempDir::new("bench-test").unwrap().keep();
        assert!(kept.is_dir());
        fs::remove_dir(kept).unwrap();
    }
}
