//! Which stages the book diffs, and which chapter teaches which crate.

/// One diff the book shows: what a stage changed from the one before it.
/// Both sources are read without their mdBook anchor lines (`// ANCHOR:`,
/// `// ANCHOR_END:`), which are the chapters' markup, not the stage's code:
/// see [`crate::stage_source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageDiff {
    /// The earlier source, relative to the workspace root.
    pub from: &'static str,
    /// The later source, relative to the workspace root.
    pub to: &'static str,
}

impl StageDiff {
    const fn new(from: &'static str, to: &'static str) -> StageDiff {
        StageDiff { from, to }
    }

    /// The name of the file under `docs/src/diffs/`: the two crates for two
    /// `src/main.rs` files (`webserver3a-webserver3b.diff`), else the two
    /// file stems (`nonblock_model-epoll_model.diff`).
    pub fn file_name(&self) -> String {
        format!("{}-{}.diff", short_name(self.from), short_name(self.to))
    }
}

/// `webserver3a` for `webserver3a/src/main.rs`; `epoll_model` for
/// `epoll_server/src/bin/epoll_model.rs`.
fn short_name(path: &str) -> &str {
    match path.strip_suffix("/src/main.rs") {
        Some(crate_directory) => crate_directory,
        None => {
            let file = path.rsplit('/').next().unwrap_or(path);
            file.strip_suffix(".rs").unwrap_or(file)
        }
    }
}

/// Every diff in the book, in the order of the chapters: each stage against
/// the one it grew from. The Part 3 pairs are the README's (3e grew from 3c,
/// not from 3d, whose unclosed descriptors were the bug). webserver3a starts
/// Part 3 afresh and client3 and nonblock_server start something new, so
/// they have no diff.
pub const STAGE_DIFFS: &[StageDiff] = &[
    StageDiff::new("webserver1/src/main.rs", "webserver2/src/main.rs"),
    StageDiff::new("webserver3a/src/main.rs", "webserver3b/src/main.rs"),
    StageDiff::new("webserver3b/src/main.rs", "webserver3c/src/main.rs"),
    StageDiff::new("webserver3c/src/main.rs", "webserver3d/src/main.rs"),
    StageDiff::new("webserver3c/src/main.rs", "webserver3e/src/main.rs"),
    StageDiff::new("webserver3e/src/main.rs", "webserver3f/src/main.rs"),
    StageDiff::new("webserver3f/src/main.rs", "webserver3g/src/main.rs"),
    StageDiff::new("nonblock_server/src/main.rs", "epoll_server/src/main.rs"),
    StageDiff::new(
        "nonblock_server/src/bin/nonblock_model.rs",
        "epoll_server/src/bin/epoll_model.rs",
    ),
];

/// A chapter that teaches one crate: it must show the crate's whole source
/// and, if the crate grew from another, the diff between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageChapter {
    /// The chapter, relative to `docs/src`.
    pub chapter: &'static str,
    /// The sources the chapter includes whole, relative to the workspace root.
    pub sources: &'static [&'static str],
}

/// Every chapter that teaches a crate, in the book's order.
pub const STAGE_CHAPTERS: &[StageChapter] = &[
    StageChapter {
        chapter: "webserver1.md",
        sources: &[
            "webserver1/src/main.rs",
            "webserver1/src/bin/blocking_server.rs",
            "webserver1/src/bin/blocking_client.rs",
            "webserver1/src/bin/hello_name.rs",
        ],
    },
    StageChapter {
        chapter: "webserver2.md",
        sources: &[
            "webserver2/src/main.rs",
            "webserver2/src/wsgi.rs",
            "webserver2/src/apps/mod.rs",
            "webserver2/src/apps/hello.rs",
            "webserver2/src/apps/router.rs",
            "webserver2/src/apps/counter.rs",
            "webserver2/src/apps/faulty.rs",
            // Not the lesson, and shown as such: what serves webserver2's
            // split, and the request-head reader every server shares.
            "support/wsgi_http/src/lib.rs",
            "support/common/src/request_head.rs",
        ],
    },
    StageChapter {
        chapter: "webserver3a.md",
        sources: &["webserver3a/src/main.rs"],
    },
    StageChapter {
        chapter: "webserver3b.md",
        sources: &["webserver3b/src/main.rs"],
    },
    StageChapter {
        chapter: "webserver3c.md",
        sources: &["webserver3c/src/main.rs"],
    },
    StageChapter {
        chapter: "webserver3d.md",
        sources: &["webserver3d/src/main.rs"],
    },
    StageChapter {
        chapter: "webserver3e.md",
        sources: &["webserver3e/src/main.rs"],
    },
    StageChapter {
        chapter: "webserver3f.md",
        sources: &["webserver3f/src/main.rs"],
    },
    StageChapter {
        chapter: "webserver3g.md",
        sources: &["webserver3g/src/main.rs"],
    },
    StageChapter {
        chapter: "client3.md",
        sources: &[
            "client3/src/main.rs",
            "client3/src/cli.rs",
            "client3/src/limits.rs",
            "client3/src/report.rs",
        ],
    },
    StageChapter {
        chapter: "nonblock_server.md",
        // static_http, the layer it shares with epoll_server, is shown here.
        sources: &[
            "nonblock_server/src/main.rs",
            "nonblock_server/src/bin/nonblock_model.rs",
            "support/static_http/src/lib.rs",
            "support/static_http/src/options.rs",
            "support/static_http/src/request.rs",
            "support/static_http/src/target.rs",
            "support/static_http/src/content_type.rs",
            "support/static_http/src/response.rs",
            "support/static_http/src/connection.rs",
            "support/static_http/src/log.rs",
            "support/static_http/src/descriptors.rs",
        ],
    },
    StageChapter {
        chapter: "epoll_server.md",
        sources: &[
            "epoll_server/src/main.rs",
            "epoll_server/src/trigger.rs",
            // The chapter's second step: fairness and deadlines.
            "epoll_server/src/fairness.rs",
            "epoll_server/src/deadlines.rs",
            "epoll_server/src/bin/epoll_model.rs",
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_files_are_named_after_the_crates_or_the_files() {
        let names: Vec<String> = STAGE_DIFFS.iter().map(StageDiff::file_name).collect();
        assert!(names.contains(&"webserver3a-webserver3b.diff".to_owned()));
        assert!(names.contains(&"nonblock_model-epoll_model.diff".to_owned()));
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(
            unique.len(),
            names.len(),
            "two diffs share a name: {names:?}"
        );
    }
}
