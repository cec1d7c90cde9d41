//! Small files kept in memory with their metadata, so that a request for
//! one costs no system call at all.
//!
//! Serving a file from disk costs four system calls before a byte goes out:
//! `openat2`, `fstat`, `pread`, `close`. For a 200-byte page over
//! keep-alive those are most of the server's work (see the book's
//! performance chapter). A [`FileCache`] keeps the content and the metadata
//! of the regular files of at most [`SMALL_FILE`] bytes that were asked
//! for, and answers from memory.
//!
//! What it promises, and how:
//!
//! * **A change is served at most [`REVALIDATE_AFTER`] late.** An entry
//!   checked less than that ago is used as it is; an older one is checked
//!   again: the path is opened beneath the root once more (so a path that
//!   now leads out of the root, or nowhere, is refused as it would be
//!   without the cache) and `fstat`ed, and the entry is kept only if the
//!   file is the same version: same device and inode, length, modification
//!   and change times. Otherwise the file is read again (or served from
//!   disk). So a page, its `ETag` and `Last-Modified` are never more than
//!   one second behind the disk. (inotify would say at once, but it needs a
//!   watch per directory and a descriptor more in the event loop; a
//!   once-a-second check costs two system calls a second per file asked
//!   for.)
//! * **A version is told apart by its change time, so only a file that has
//!   not changed for [`REVALIDATE_AFTER`] is cached.** The kernel stamps
//!   times with a coarse clock (a tick, a few milliseconds): two writes in
//!   one tick give the file the same times. Were a file read into the cache
//!   between two such writes, the second would never be noticed. A file
//!   whose change time is older than a second when it is read cannot be
//!   written again within that tick, so every later write gives it a new
//!   change time. (Git calls the other files "racily clean", and checks
//!   their content.) A file changed within the last second is served from
//!   disk, as it would be without the cache.
//! * **Bounded memory.** Files over [`SMALL_FILE`] are never kept (they go
//!   out with `sendfile(2)`, see [`crate::connection`]); when the cache
//!   would exceed [`CACHE_BYTES`], it is emptied and fills again with what
//!   is asked for next.
//!
//! The server has one thread, and the cache is used from [`crate::Site`]'s
//! `&self`: a `RefCell`, no lock.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::open_beneath::Root;

/// How long a cached file is used without looking at the disk: the bound
/// on how stale a response can be. Also how long a file must have been left
/// alone before it is cached.
pub const REVALIDATE_AFTER: Duration = Duration::from_secs(1);

/// The largest file kept in memory: a page, a stylesheet, a small image.
pub const SMALL_FILE: u64 = 64 * 1024;

/// The most the cache holds in all.
pub const CACHE_BYTES: usize = 4 * 1024 * 1024;

/// A file's body, as [`FileCache::open`] found it.
pub(crate) enum Content {
    /// Open on disk: a large file, a file changed within the last second,
    /// or not a regular file at all.
    Open(File),
    /// The whole file, from memory.
    Cached(Arc<[u8]>),
}

struct Entry {
    content: Arc<[u8]>,
    metadata: Metadata,
    checked_at: Instant,
}

/// See the module's documentation.
#[derive(Default)]
pub struct FileCache {
    entries: RefCell<HashMap<PathBuf, Entry>>,
    bytes: RefCell<usize>,
}

impl FileCache {
    pub fn new() -> FileCache {
        FileCache::default()
    }

    /// The file at `relative` beneath `root` and its metadata: from memory
    /// if it was checked less than [`REVALIDATE_AFTER`] ago, else opened
    /// (and cached, if small and settled).
    pub(crate) fn open(&self, root: &Root, relative: &Path) -> io::Result<(Content, Metadata)> {
        let now = Instant::now();
        let mut entries = self.entries.borrow_mut();
        if let Some(entry) = entries.get(relative) {
            if now.saturating_duration_since(entry.checked_at) < REVALIDATE_AFTER {
                return Ok((
                    Content::Cached(entry.content.clone()),
                    entry.metadata.clone(),
                ));
            }
        }
        let opened = root
            .open_file(relative)
            .and_then(|file| file.metadata().map(|metadata| (file, metadata)));
        let (file, metadata) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                self.forget(&mut entries, relative);
                return Err(error);
            }
        };
        if let Some(entry) = entries.get_mut(relative) {
            if same_version(&entry.metadata, &metadata) {
                entry.checked_at = now;
                return Ok((Content::Cached(entry.content.clone()), metadata));
            }
        }
        self.forget(&mut entries, relative);
        if !metadata.is_file() || metadata.len() > SMALL_FILE || !settled(&metadata) {
            return Ok((Content::Open(file), metadata));
        }
        let Some(content) = read_whole(&file, metadata.len())? else {
            // It changed while being read: from disk this time.
            return Ok((Content::Open(file), metadata));
        };
        let content: Arc<[u8]> = content.into();
        let mut bytes = self.bytes.borrow_mut();
        if *bytes + content.len() > CACHE_BYTES {
            entries.clear();
            *bytes = 0;
        }
        *bytes += content.len();
        entries.insert(
            relative.to_owned(),
            Entry {
                content: content.clone(),
                metadata: metadata.clone(),
                checked_at: now,
            },
        );
        Ok((Content::Cached(content), metadata))
    }

    fn forget(&self, entries: &mut HashMap<PathBuf, Entry>, relative: &Path) {
        if let Some(entry) = entries.remove(relative) {
            *self.bytes.borrow_mut() -= entry.content.len();
        }
    }
}

/// Whether two `fstat`s describe the same version of the same file.
fn same_version(old: &Metadata, new: &Metadata) -> bool {
    old.dev() == new.dev()
        && old.ino() == new.ino()
        && old.len() == new.len()
        && (old.mtime(), old.mtime_nsec()) == (new.mtime(), new.mtime_nsec())
        && (old.ctime(), old.ctime_nsec()) == (new.ctime(), new.ctime_nsec())
}

/// Whether the file last changed at least [`REVALIDATE_AFTER`] ago, so
/// that any later change gets a change time of its own.
fn settled(metadata: &Metadata) -> bool {
    let changed = SystemTime::UNIX_EPOCH
        + Duration::new(
            u64::try_from(metadata.ctime()).unwrap_or(0),
            u32::try_from(metadata.ctime_nsec()).unwrap_or(0),
        );
    SystemTime::now()
        .duration_since(changed)
        .is_ok_and(|age| age >= REVALIDATE_AFTER)
}

/// The file's `length` bytes, or `None` if it is not that long any more.
fn read_whole(file: &File, length: u64) -> io::Result<Option<Vec<u8>>> {
    let mut content = vec![0; usize::try_from(length).unwrap_or(usize::MAX)];
    let mut filled = 0;
    while filled < content.len() {
        match file.read_at(&mut content[filled..], filled as u64) {
            Ok(0) => return Ok(None),
            Ok(count) => filled += count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(Some(content))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread::sleep;

    fn cached(cache: &FileCache, root: &Root, name: &str) -> Option<Vec<u8>> {
        match cache.open(root, Path::new(name)).unwrap().0 {
            Content::Cached(bytes) => Some(bytes.to_vec()),
            Content::Open(_) => None,
        }
    }

    #[test]
    fn only_small_regular_files_left_alone_for_a_second_are_kept() {
        let directory = testkit::TempDir::new("cache-kept");
        directory.write("new.txt", "new");
        directory.write("big.bin", "x".repeat(SMALL_FILE as usize + 1));
        directory.write("dir/a.txt", "a");
        let root = Root::open(directory.path()).unwrap();
        let cache = FileCache::new();
        // Just written: its next change could have the same change time.
        assert_eq!(cached(&cache, &root, "new.txt"), None);
        sleep(REVALIDATE_AFTER + Duration::from_millis(100));
        assert_eq!(
            cached(&cache, &root, "new.txt").as_deref(),
            Some(&b"new"[..])
        );
        assert_eq!(cached(&cache, &root, "big.bin"), None);
        assert_eq!(cached(&cache, &root, "dir"), None);
        assert_eq!(*cache.bytes.borrow(), 3);
        // Gone: refused, and forgotten.
        std::fs::remove_file(directory.path().join("new.txt")).unwrap();
        sleep(REVALIDATE_AFTER);
        assert!(cache.open(&root, Path::new("new.txt")).is_err());
        assert_eq!(*cache.bytes.borrow(), 0);
    }
}
