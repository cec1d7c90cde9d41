//! The scenery of a run: where the binaries are, the build, the temporary
//! directory with the document root, the cores, the open-file limit.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use testkit::run::{Limits, Output, Running};

/// How long a child gets to exit after SIGTERM before it gets SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

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
    /// The machine's cores, which decide where servers and loads run
    /// ([`placement`]).
    pub cores: usize,
    /// The open-file limit every child inherits (raised to the hard limit).
    pub open_files: u64,
    /// nginx's executable, when nginx is measured.
    pub nginx: Option<PathBuf>,
}

impl Setup {
    pub fn loadgen(&self) -> PathBuf {
        self.release.join("loadgen")
    }

    /// Where a server of `workers` processes and its load run on this
    /// machine.
    pub fn placement(&self, workers: u32) -> Placement {
        placement(self.cores, workers)
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

/// `cargo build --release` of loadgen and `crates` (the course's servers),
/// into the same target directory.
pub fn build(workspace: &Path, release: &Path, crates: &[&str]) -> Result<()> {
    let target = release
        .parent()
        .context("release directory has no parent")?;
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.args(["build", "--release", "--manifest-path"]);
    command
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target);
    let packages = [&["loadgen"], crates].concat();
    for package in &packages {
        command.args(["-p", package]);
    }
    eprintln!("bench: building in release: {}", packages.join(", "));
    // A first build of the workspace takes minutes on two cores.
    match run_bounded(command, Duration::from_secs(1800))? {
        (Some(status), _) if status.success() => Ok(()),
        (_, output) => bail!("the release build failed:\n{}", output.trim_end()),
    }
}

/// A `Command` from an argument vector (the program first).
pub fn command(argv: &[OsString]) -> Command {
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    command
}

/// Runs `command` to its end, or for at most `limit` (then stops it and
/// its group); gives its exit status (`None` when the limit came first)
/// and its stdout and stderr as written.
pub fn run_bounded(command: Command, limit: Duration) -> Result<(Option<ExitStatus>, String)> {
    let mut running = Running::start(command, Output::Merged, Limits::default())?;
    let status = running.wait_exit(limit);
    running.stop(GRACE);
    Ok((status, running.output()))
}

/// This run's directory, removed when dropped. nginx's worker runs as
/// "nobody" when started by root: the directory lets it in.
pub fn work_directory(prefix: &str) -> Result<tempfile::TempDir> {
    let directory = tempfile::Builder::new().prefix(prefix).tempdir()?;
    fs::set_permissions(directory.path(), fs::Permissions::from_mode(0o755))?;
    Ok(directory)
}

/// Where a server and its load run: the core split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Prefix that starts the server (taskset, or nothing).
    pub server: Vec<OsString>,
    /// Prefix that starts the load tool (taskset, or nothing).
    pub load: Vec<OsString>,
    /// The load tool's threads (wrk's `-t`): as many as the server has
    /// workers, so that the load is never one thread against several.
    pub load_threads: u32,
    /// Whether the server and the load share every core, unpinned.
    pub shared: bool,
}

/// A server of one worker on core 0 and the load on core 1: each gets a
/// core of its own, as far as the rest of the machine lets it, and the
/// scheduler's choices do not vary from run to run; a forking server's
/// children inherit core 0. A server of several workers (prefork_server,
/// nginx with `worker_processes 2`) is built to use every core, so it is
/// not pinned: its workers and the load tool (with a thread per worker)
/// share the machine as the scheduler sees fit, and the load tool's CPU,
/// measured beside the server's, says how much of it the load took. With
/// one core, nothing is pinned.
pub fn placement(cores: usize, workers: u32) -> Placement {
    let on = |core: &str| vec!["taskset".into(), "-c".into(), core.into()];
    if cores >= 2 && workers <= 1 {
        Placement {
            server: on("0"),
            load: on("1"),
            load_threads: 1,
            shared: false,
        }
    } else {
        Placement {
            server: Vec::new(),
            load: Vec::new(),
            load_threads: workers.max(1),
            shared: true,
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
    fn one_worker_gets_a_core_and_the_load_the_other_several_share_them_all() {
        let one = placement(2, 1);
        assert_eq!(one.server, ["taskset", "-c", "0"]);
        assert_eq!(one.load, ["taskset", "-c", "1"]);
        assert_eq!((one.load_threads, one.shared), (1, false));
        let two = placement(2, 2);
        assert!(two.server.is_empty() && two.load.is_empty());
        assert_eq!((two.load_threads, two.shared), (2, true));
        // One core: nothing to pin to.
        let alone = placement(1, 1);
        assert!(alone.server.is_empty() && alone.load.is_empty());
        assert_eq!((alone.load_threads, alone.shared), (1, true));
    }

    #[test]
    fn the_work_directory_lets_nginx_in_and_goes_away() {
        let directory = work_directory("bench-test").unwrap();
        let path = directory.path().to_owned();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        drop(directory);
        assert!(!path.exists());
    }
}
