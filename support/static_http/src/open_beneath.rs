//! Opening a file *beneath* the document root, checked by the kernel.
//!
//! [`crate::target`] makes sure a request's path has no `..` and is not
//! absolute, so joining it to the root cannot leave the root *lexically*.
//! Symbolic links are the other way out: `root/escape.txt -> /etc/passwd`.
//! Resolving the path first (`realpath(3)`), checking that the result is
//! under the root, then opening it leaves a window between the check and
//! the `open`: swap the checked file (or a directory on its path) for a link
//! to a file outside the root, and the `open` follows the link. Under load,
//! a file swapped in a loop for such a link was served 82 times in 56,762
//! requests. Whatever is checked in user space before the `open` can have
//! changed by the time of the `open`.
//!
//! So the check is the `open` itself, made by the kernel as it walks the
//! path, relative to a descriptor of the root held for the server's life
//! ([`Root`]):
//!
//! * `openat2(2)` (Linux 5.6 and later) with `RESOLVE_BENEATH`: every
//!   component, and every symbolic link met on the way, must resolve to
//!   something beneath the root, or the call fails with `EXDEV`; an absolute
//!   link, or a `..` that climbs above the root, fails even if it would come
//!   back. `RESOLVE_NO_MAGICLINKS` also refuses `/proc/self/fd/N`-style
//!   links, which jump without a path.
//! * On older kernels (`openat2` fails with `ENOSYS`) the fallback walks
//!   the path one component at a time, each opened with `O_NOFOLLOW`
//!   relative to the previous one ([`walk_beneath`]): a symbolic link
//!   anywhere on the path makes the open fail with `ELOOP` or `ENOTDIR`.
//!
//! **What is chosen for symbolic links:** with `openat2`, a relative link
//! that stays beneath the root is followed (`alias.html -> index.html` is
//! served), and every other link is refused (404). The fallback follows no
//! link at all, inside the root or not: following them by hand would mean
//! reading each one and resolving it again, the user-space check this module
//! replaces. Either way no path leaves the root, even in a race, and no
//! `readlink` is made on a request's path.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::libc;

/// The document root, opened once (`O_PATH | O_DIRECTORY`): a handle to
/// resolve paths from, not to read. Renaming or replacing the directory the
/// root's path names later does not move it.
#[derive(Debug)]
pub struct Root {
    directory: OwnedFd,
}

impl Root {
    /// Opens `path`, which must be a directory (else `ENOTDIR`).
    pub fn open(path: &Path) -> io::Result<Root> {
        let path = c_string(path.as_os_str().as_bytes())?;
        // SAFETY: `path` is a NUL-terminated string that outlives the call;
        // open(2) reads it and returns a new descriptor or -1.
        let fd = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by open(2) and is owned by nobody
        // else.
        let directory = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Root { directory })
    }

    /// Opens the file at `relative` beneath the root for reading, without
    /// blocking (`O_NONBLOCK`: opening a FIFO left under the root would
    /// otherwise wait for a writer, and stop the whole server).
    ///
    /// `relative` must have only normal components (no `..`, not absolute):
    /// [`crate::target::relative_path`] makes it so, and anything else is
    /// refused here with `EINVAL` before the kernel sees it.
    pub fn open_file(&self, relative: &Path) -> io::Result<File> {
        ensure_plain(relative)?;
        if !OPENAT2_MISSING.load(Ordering::Relaxed) {
            match openat2_beneath(self.directory.as_fd(), relative) {
                Err(error) if error.raw_os_error() == Some(libc::ENOSYS) => {
                    // Linux before 5.6: remember, and walk from now on.
                    OPENAT2_MISSING.store(true, Ordering::Relaxed);
                }
                result => return result,
            }
        }
        walk_beneath(self.directory.as_fd(), relative)
    }
}

/// Set once `openat2` has said ENOSYS: no need to ask again per request.
static OPENAT2_MISSING: AtomicBool = AtomicBool::new(false);

/// The flags of every file opened to be served.
const READ_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC;

/// `struct open_how` of `<linux/openat2.h>`, the argument of `openat2`.
/// (libc's is `#[non_exhaustive]`, so it cannot be built with a literal.)
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// How many times an `openat2` that says EAGAIN is tried again: with
/// `RESOLVE_BENEATH` the kernel says so when a rename elsewhere raced with
/// the walk and it cannot vouch for the result. Rare; past a few tries the
/// request fails (500) rather than spin.
const OPENAT2_TRIES: usize = 4;

/// `openat2(root, relative, O_RDONLY | O_NONBLOCK | O_CLOEXEC,
/// RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`.
fn openat2_beneath(root: BorrowedFd, relative: &Path) -> io::Result<File> {
    let path = c_string(relative.as_os_str().as_bytes())?;
    let how = OpenHow {
        flags: READ_FLAGS as u64,
        mode: 0,
        resolve: libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS,
    };
    let mut tries = 0;
    loop {
        // SAFETY: `path` is NUL-terminated and `how` a properly laid out
        // `struct open_how` whose size is passed with it; both outlive the
        // call, which only reads them. `root` is an open descriptor. The
        // kernel returns a new descriptor or -1.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd >= 0 {
            // SAFETY: a descriptor openat2 just returned, owned by nobody
            // else; descriptors fit in a c_int.
            return Ok(unsafe { File::from_raw_fd(fd as libc::c_int) });
        }
        let error = io::Error::last_os_error();
        tries += 1;
        match error.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) if tries < OPENAT2_TRIES => continue,
            _ => return Err(error),
        }
    }
}

/// The fallback where `openat2` is missing: each directory on the path is
/// opened with `O_PATH | O_DIRECTORY | O_NOFOLLOW` relative to the one
/// before, then the file with `O_NOFOLLOW`. A symbolic link in any place
/// fails the open (`ENOTDIR` for a directory's place, `ELOOP` for the
/// file's), so the walk never leaves the root, whatever is swapped while it
/// runs: every step starts from a descriptor already checked, never from a
/// path.
pub fn walk_beneath(root: BorrowedFd, relative: &Path) -> io::Result<File> {
    ensure_plain(relative)?;
    let mut names = relative.components().peekable();
    let mut directory: Option<OwnedFd> = None;
    while let Some(name) = names.next() {
        let name = c_string(name.as_os_str().as_bytes())?;
        let is_last = names.peek().is_none();
        let flags = libc::O_NOFOLLOW
            | if is_last {
                READ_FLAGS
            } else {
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC
            };
        let from = directory.as_ref().map_or(root, |fd| fd.as_fd());
        let fd = loop {
            // SAFETY: `name` is NUL-terminated and outlives the call; `from`
            // is an open descriptor. openat(2) returns a new descriptor or
            // -1.
            let fd = unsafe { libc::openat(from.as_raw_fd(), name.as_ptr(), flags) };
            if fd >= 0 {
                break fd;
            }
            let error = io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EINTR) {
                return Err(error);
            }
        };
        // SAFETY: a descriptor openat just returned, owned by nobody else.
        let opened = unsafe { OwnedFd::from_raw_fd(fd) };
        if is_last {
            return Ok(File::from(opened));
        }
        // Dropping the previous directory's descriptor closes it.
        directory = Some(opened);
    }
    Err(io::Error::from_raw_os_error(libc::EINVAL)) // an empty path
}

/// Refuses what `relative_path` never produces: an absolute path, `.`,
/// `..`, or an empty one.
fn ensure_plain(relative: &Path) -> io::Result<()> {
    let plain = relative.components().next().is_some()
        && relative
            .components()
            .all(|component| matches!(component, Component::Normal(_)));
    if plain {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(libc::EINVAL))
    }
}

fn c_string(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::symlink;

    /// `root/` with `index.html`, `docs/page.html`, a link to each that
    /// stays inside, and links (to a file, to a directory) that leave.
    fn tree() -> (testkit::TempDir, Root) {
        let outside = testkit::TempDir::new("beneath");
        outside.write("secret.txt", "secret");
        outside.write("root/index.html", "index");
        outside.write("root/docs/page.html", "page");
        let root = outside.path().join("root");
        symlink("index.html", root.join("alias.html")).unwrap();
        symlink("docs", root.join("docs-alias")).unwrap();
        symlink("../secret.txt", root.join("escape.txt")).unwrap();
        symlink(outside.path().join("secret.txt"), root.join("absolute.txt")).unwrap();
        symlink("..", root.join("up")).unwrap();
        let opened = Root::open(&root).unwrap();
        (outside, opened)
    }

    fn read(file: io::Result<File>) -> io::Result<String> {
        let mut text = String::new();
        file?.read_to_string(&mut text)?;
        Ok(text)
    }

    fn errno(result: io::Result<String>) -> Option<i32> {
        result.err().and_then(|error| error.raw_os_error())
    }

    #[test]
    fn the_walk_opens_plain_paths_and_refuses_every_link() {
        let (_outside, root) = tree();
        let walk = |path: &str| read(walk_beneath(root.directory.as_fd(), Path::new(path)));
        assert_eq!(walk("index.html").unwrap(), "index");
        assert_eq!(walk("docs/page.html").unwrap(), "page");
        // Links, in the file's place or in a directory's, inside or out.
        assert_eq!(errno(walk("alias.html")), Some(libc::ELOOP));
        assert_eq!(errno(walk("escape.txt")), Some(libc::ELOOP));
        assert_eq!(errno(walk("absolute.txt")), Some(libc::ELOOP));
        assert_eq!(errno(walk("docs-alias/page.html")), Some(libc::ENOTDIR));
        assert_eq!(errno(walk("up/secret.txt")), Some(libc::ENOTDIR));
        assert_eq!(errno(walk("missing")), Some(libc::ENOENT));
        assert_eq!(errno(walk("../secret.txt")), Some(libc::EINVAL));
        assert_eq!(errno(walk("/etc/passwd")), Some(libc::EINVAL));
    }

    /// The race the walk exists for: `dir` exchanged, as fast as a thread
    /// can (`renameat2` with `RENAME_EXCHANGE`, atomic), between a
    /// directory and a link to one outside the root, while `dir/file.txt`
    /// is opened again and again for a second.
    #[test]
    fn the_walk_never_leaves_the_root_in_a_race() {
        use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
        use std::sync::Arc;
        use std::time::{Duration, Instant};

        let outside = testkit::TempDir::new("walk-race");
        outside.write("elsewhere/file.txt", "secret");
        outside.write("root/dir/file.txt", "inside");
        let root = outside.path().join("root");
        symlink(outside.path().join("elsewhere"), root.join("swap")).unwrap();
        let opened = Root::open(&root).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let swapper = {
            let stop = Arc::clone(&stop);
            let (dir, swap) = (root.join("dir"), root.join("swap"));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    renameat2(
                        AT_FDCWD,
                        &dir,
                        AT_FDCWD,
                        &swap,
                        RenameFlags::RENAME_EXCHANGE,
                    )
                    .unwrap();
                }
            })
        };
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut read_inside = 0;
        while Instant::now() < deadline {
            let walked = walk_beneath(opened.directory.as_fd(), Path::new("dir/file.txt"));
            if let Ok(text) = read(walked) {
                assert_eq!(text, "inside", "read through the link");
                read_inside += 1;
            }
        }
        stop.store(true, Ordering::SeqCst);
        swapper.join().unwrap();
        assert!(read_inside > 0);
    }

    #[test]
    fn openat2_follows_links_that_stay_beneath_and_no_other() {
        let (_outside, root) = tree();
        let open = |path: &str| read(root.open_file(Path::new(path)));
        assert_eq!(open("index.html").unwrap(), "index");
        assert_eq!(open("docs/page.html").unwrap(), "page");
        if OPENAT2_MISSING.load(Ordering::Relaxed) {
            return; // Linux before 5.6: the walk's test covers the rest.
        }
        assert_eq!(open("alias.html").unwrap(), "index");
        assert_eq!(open("docs-alias/page.html").unwrap(), "page");
        assert_eq!(errno(open("escape.txt")), Some(libc::EXDEV));
        assert_eq!(errno(open("absolute.txt")), Some(libc::EXDEV));
        assert_eq!(errno(open("up/secret.txt")), Some(libc::EXDEV));
        assert_eq!(errno(open("../secret.txt")), Some(libc::EINVAL));
    }

    #[test]
    fn the_root_must_be_a_directory() {
        let (outside, _root) = tree();
        let error = Root::open(&outside.path().join("secret.txt")).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::ENOTDIR));
    }
}
