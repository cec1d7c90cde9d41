//! A scratch directory, removed when dropped: `tempfile`'s, with a label
//! in its name and a helper to write files into it.

use std::fs;
use std::path::{Path, PathBuf};

/// A directory under the system's temporary directory, removed on drop.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    /// A new empty directory whose name starts with `testkit-LABEL-`.
    pub fn new(label: &str) -> TempDir {
        let directory = tempfile::Builder::new()
            .prefix(&format!("testkit-{label}-"))
            .tempdir()
            .unwrap_or_else(|err| panic!("create a temporary directory: {err}"));
        TempDir(directory)
    }

    /// A new empty directory under `/dev/shm` (tmpfs, whose timestamps
    /// reach past the year 9999, where ext4's stop in 2446), or under the
    /// system's temporary directory where there is no `/dev/shm`.
    pub fn in_memory(label: &str) -> TempDir {
        match tempfile::Builder::new()
            .prefix(&format!("testkit-{label}-"))
            .tempdir_in("/dev/shm")
        {
            Ok(directory) => TempDir(directory),
            Err(_) => TempDir::new(label),
        }
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes `content` to `relative` under the directory, creating the
    /// directories on the way; returns the file's path.
    pub fn write(&self, relative: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let file = self.path().join(relative);
        if let Some(parent) = file.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|err| panic!("create {}: {err}", parent.display()));
        }
        fs::write(&file, content).unwrap_or_else(|err| panic!("write {}: {err}", file.display()));
        file
    }
}
