//! Checks that the book's Markdown points at things that exist: every
//! `{{#include}}` at a file (and its line range or anchor), every relative
//! link at a chapter or file the built book will have.
//!
//! mdBook itself is lenient: a missing include becomes an error line in the
//! log and a hole in the page, a broken link becomes a 404 in the browser,
//! and the build still succeeds. These checks turn each into a test failure
//! that names the file and line. The Markdown is read by pulldown-cmark,
//! the parser mdBook renders with; the `{{#include}}`s, which mdBook's
//! preprocessor replaces before that, are found here by hand.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, Event, LinkType, Options, Tag, TagEnd};

/// Something wrong in the book, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based line number in `file`.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}:{}: {}",
            self.file.display(),
            self.line,
            self.message
        )
    }
}

/// Which part of a file an `{{#include}}` takes, as mdBook reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// `{{#include file}}`: the whole file.
    Whole,
    /// `{{#include file:3:10}}`, `file:3:`, `file::10`, `file:3`: a range of
    /// lines, 1-based and inclusive, as written.
    Lines {
        first: Option<usize>,
        last: Option<usize>,
    },
    /// `{{#include file:name}}`: the lines between `ANCHOR: name` and
    /// `ANCHOR_END: name`.
    Anchor(String),
}

/// One `{{#include …}}` found in a chapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// 1-based line of the chapter it is on.
    pub line: usize,
    /// The path as written, relative to the chapter's directory.
    pub path: String,
    pub selection: Selection,
}

/// Every `{{#include …}}` (and `{{#rustdoc_include …}}`) in `text`, the way
/// mdBook's preprocessor finds them: anywhere, code blocks included, except
/// when escaped as `\{{#include …}}`. Directives this checker does not know
/// come back as errors, so that none goes unchecked.
pub fn includes_in(text: &str) -> (Vec<Include>, Vec<(usize, String)>) {
    let mut includes = Vec::new();
    let mut unknown = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            let escaped = rest[..start].ends_with('\\');
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                break;
            };
            let directive = after[..end].trim();
            rest = &after[end + 2..];
            if escaped {
                continue;
            }
            let Some(directive) = directive.strip_prefix('#') else {
                continue;
            };
            let (kind, argument) = directive
                .split_once(char::is_whitespace)
                .unwrap_or((directive, ""));
            match kind {
                "include" | "rustdoc_include" => {
                    let target = argument.split_whitespace().next().unwrap_or_default();
                    includes.push(parse_include(index + 1, target));
                }
                _ => unknown.push((index + 1, format!("{{{{#{kind}}}}}"))),
            }
        }
    }
    (includes, unknown)
}

/// `path`, `path:anchor`, `path:first:last` and its open forms, read the
/// way mdBook reads them (a number is a line, anything else an anchor).
fn parse_include(line: usize, target: &str) -> Include {
    let mut parts = target.splitn(3, ':');
    let path = parts.next().unwrap_or_default().to_owned();
    let (first, last) = (parts.next().unwrap_or_default(), parts.next());
    let lines = |first: Option<usize>, last: Option<usize>| match (first, last) {
        (None, None) => Selection::Whole,
        (first, last) => Selection::Lines { first, last },
    };
    let selection = match (first.parse().ok(), last) {
        (None, _) if !first.is_empty() => Selection::Anchor(first.to_owned()),
        // `file:3` is line 3 alone.
        (first, None) => lines(first, first),
        (first, Some(last)) => lines(first, last.parse().ok()),
    };
    Include {
        line,
        path,
        selection,
    }
}

/// The lines of `contents` an include with `selection` shows (an anchor's
/// without the marker lines of anchors inside it), or why it shows none:
/// a range outside the file, an anchor the file does not have.
fn included_lines<'a>(contents: &'a str, selection: &Selection) -> Result<Vec<&'a str>, String> {
    let lines: Vec<&str> = contents.lines().collect();
    match selection {
        Selection::Whole => Ok(lines),
        Selection::Lines { first, last } => {
            let (first, last) = (first.unwrap_or(1), last.unwrap_or(lines.len()));
            if first == 0 || first > last || last > lines.len() {
                let count = lines.len();
                return Err(format!(
                    "lines {first} to {last} are not in a file of {count} lines"
                ));
            }
            Ok(lines[first - 1..last].to_vec())
        }
        Selection::Anchor(name) => {
            let start = lines
                .iter()
                .position(|line| names_anchor(line, "ANCHOR:", name));
            let end = start.and_then(|start| {
                (lines[start..].iter()).position(|line| names_anchor(line, "ANCHOR_END:", name))
            });
            let (Some(start), Some(end)) = (start, end) else {
                return Err(format!(
                    "the file has no ANCHOR: {name} / ANCHOR_END: {name} pair"
                ));
            };
            Ok(lines[start + 1..start + end]
                .iter()
                .filter(|line| !line.contains("ANCHOR:") && !line.contains("ANCHOR_END:"))
                .copied()
                .collect())
        }
    }
}

/// Problems with the includes of `chapter` (whose text is `text`): a file
/// that does not exist, a line range outside the file, an anchor the file
/// does not have, a directive this checker does not know.
pub fn check_includes(chapter: &Path, text: &str) -> Vec<Problem> {
    let directory = chapter.parent().unwrap_or(Path::new("."));
    let (includes, unknown) = includes_in(text);
    let mut problems: Vec<Problem> = unknown
        .into_iter()
        .map(|(line, directive)| Problem {
            file: chapter.to_owned(),
            line,
            message: format!(
                "{directive} is not checked by the book's tests; use {{{{#include}}}}"
            ),
        })
        .collect();
    for include in includes {
        let target = directory.join(&include.path);
        let message = match fs::read_to_string(&target) {
            Err(_) => format!("no such file ({})", target.display()),
            Ok(contents) => match included_lines(&contents, &include.selection) {
                Ok(_) => continue,
                Err(message) => message,
            },
        };
        problems.push(Problem {
            file: chapter.to_owned(),
            line: include.line,
            message: format!("{{{{#include}}}} of {}: {message}", include.path),
        });
    }
    problems
}

/// Whether `line` holds `marker` followed by the anchor `name` as a whole
/// word (`ANCHOR: accept` names `accept`, not `accept_loop`).
fn names_anchor(line: &str, marker: &str, name: &str) -> bool {
    line.match_indices(marker).any(|(position, _)| {
        let after = line[position + marker.len()..].trim_start();
        after.strip_prefix(name).is_some_and(|rest| {
            !rest
                .chars()
                .next()
                .is_some_and(|next| next.is_alphanumeric() || next == '_' || next == '-')
        })
    })
}

/// The most lines of code a chapter may show outside a folded
/// `<details>` block: more, and the walkthrough has become a listing.
pub const MOST_CODE_LINES_UNFOLDED: usize = 250;

/// How many lines of code `text` (the chapter at `chapter`) shows outside
/// `<details>` blocks, as mdBook renders it: the lines of every code fence,
/// an `{{#include}}` inside one counted as the lines it brings in (the whole
/// file, its line range, or its anchor without the marker lines of other
/// anchors). Output is not code: ` ```text ` fences and includes of
/// `transcripts/` are left out. Files that cannot be read count 0 (the
/// include check reports them).
pub fn code_lines_outside_details(chapter: &Path, text: &str) -> usize {
    let directory = chapter.parent().unwrap_or(Path::new("."));
    let mut details_depth = 0usize;
    let mut in_code = false;
    let mut count = 0;
    for event in markdown(text) {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                in_code = info.split([',', ' ']).next() != Some("text");
            }
            Event::End(TagEnd::CodeBlock) => in_code = false,
            Event::Text(code) if in_code && details_depth == 0 => {
                count += code
                    .lines()
                    .map(|line| rendered_lines(directory, line))
                    .sum::<usize>();
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                details_depth += html.matches("<details").count();
                details_depth = details_depth.saturating_sub(html.matches("</details>").count());
            }
            _ => {}
        }
    }
    count
}

/// The lines one line of a code fence renders as: 1, or what its
/// `{{#include}}`s bring in (none for transcripts).
fn rendered_lines(directory: &Path, line: &str) -> usize {
    let (includes, _) = includes_in(line);
    if includes.is_empty() {
        return 1;
    }
    includes
        .iter()
        .filter(|include| !include.path.starts_with("transcripts/"))
        .map(|include| {
            let contents = fs::read_to_string(directory.join(&include.path)).unwrap_or_default();
            included_lines(&contents, &include.selection).map_or(0, |lines| lines.len())
        })
        .sum()
}

/// The label of a fold, `<details>`'s `<summary>`, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldLabel {
    /// 1-based line of the label's text.
    pub line: usize,
    /// The label as written: `Solution`, `The whole of client3/src/main.rs`.
    pub label: String,
    /// Written as a Markdown paragraph between a `<summary>` line and a
    /// `</summary>` line, which mdbook-xgettext extracts for translation;
    /// `false` for `<summary>Solution</summary>` on one line, an HTML block
    /// it skips, so the Chinese edition would show it in English.
    pub translatable: bool,
}

/// Every fold label of a chapter, in order (see [`FoldLabel`]).
pub fn fold_labels(text: &str) -> Vec<FoldLabel> {
    let lines: Vec<&str> = text.lines().collect();
    let mut labels = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let line = line.trim();
        if let Some(label) = line
            .strip_prefix("<summary>")
            .and_then(|rest| rest.strip_suffix("</summary>"))
        {
            labels.push(FoldLabel {
                line: index + 1,
                label: label.trim().to_owned(),
                translatable: false,
            });
        } else if line == "<summary>" {
            let rest = &lines[index + 1..];
            let end = rest
                .iter()
                .position(|line| line.trim() == "</summary>")
                .unwrap_or(rest.len());
            let first = rest[..end].iter().position(|line| !line.trim().is_empty());
            let words: Vec<&str> = rest[..end].iter().map(|line| line.trim()).collect();
            labels.push(FoldLabel {
                line: index + 2 + first.unwrap_or(0),
                label: words.join(" ").trim().to_owned(),
                // A blank line after `<summary>` ends its HTML block, so the
                // label is a paragraph of its own.
                translatable: first.is_some_and(|first| first > 0),
            });
        }
    }
    labels
}

/// The chapters `SUMMARY.md` lists, relative to `source_root`, in order.
pub fn summary_chapters(source_root: &Path) -> Vec<PathBuf> {
    let summary = fs::read_to_string(source_root.join("SUMMARY.md")).unwrap_or_default();
    links_in(&summary)
        .into_iter()
        .map(|(_, target)| PathBuf::from(target))
        .collect()
}

/// The Markdown of `text` as mdBook's renderer reads it (pulldown-cmark,
/// with the extensions mdBook turns on), each event with its byte range.
pub fn markdown(text: &str) -> pulldown_cmark::Parser<'_> {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES;
    pulldown_cmark::Parser::new_ext(text, options)
}

/// The 1-based line of `text` that byte `offset` is on.
pub fn line_at(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// Every link target in Markdown `text` with its 1-based line: inline links
/// and images `[text](target)`, reference definitions `[name]: target`, and
/// `href="…"`/`src="…"` in raw HTML; not what is inside code.
pub fn links_in(text: &str) -> Vec<(usize, String)> {
    let parser = markdown(text);
    let mut links: Vec<(usize, String)> = parser
        .reference_definitions()
        .iter()
        .map(|(_, definition)| {
            (
                line_at(text, definition.span.start),
                definition.dest.to_string(),
            )
        })
        .collect();
    for (event, range) in parser.into_offset_iter() {
        match event {
            Event::Start(
                Tag::Link {
                    link_type: LinkType::Inline,
                    dest_url,
                    ..
                }
                | Tag::Image {
                    link_type: LinkType::Inline,
                    dest_url,
                    ..
                },
            ) => links.push((line_at(text, range.start), dest_url.into_string())),
            Event::Html(html) | Event::InlineHtml(html) => {
                for attribute in ["href=\"", "src=\""] {
                    for (position, _) in html.match_indices(attribute) {
                        let value = &html[position + attribute.len()..];
                        let value = &value[..value.find('"').unwrap_or(value.len())];
                        let line =
                            line_at(text, range.start) + html[..position].matches('\n').count();
                        links.push((line, value.to_owned()));
                    }
                }
            }
            _ => {}
        }
    }
    // The definitions first came out of a map; the order of the text
    // (SUMMARY.md's) is kept within a line.
    links.sort_by_key(|(line, _)| *line);
    links
}

/// The anchors mdBook gives the headings of a chapter: the heading's text,
/// lower-cased, spaces turned into `-`, punctuation dropped, or the id
/// given as `{#id}`; a repeated one gets `-1`, `-2`, ….
pub fn heading_ids(text: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut heading: Option<(String, Option<String>)> = None;
    for event in markdown(text) {
        match event {
            Event::Start(Tag::Heading { id, .. }) => {
                heading = Some((String::new(), id.map(|id| id.into_string())));
            }
            Event::Text(words) | Event::Code(words) => {
                if let Some((visible, _)) = &mut heading {
                    visible.push_str(&words);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let Some((visible, given)) = heading.take() else {
                    continue;
                };
                let id = given.unwrap_or_else(|| {
                    visible
                        .trim()
                        .chars()
                        .filter_map(|character| {
                            if character.is_alphanumeric() || character == '_' || character == '-' {
                                Some(character.to_ascii_lowercase())
                            } else if character.is_whitespace() {
                                Some('-')
                            } else {
                                None
                            }
                        })
                        .collect()
                });
                let mut unique = id.clone();
                let mut repeat = 0;
                while ids.contains(&unique) {
                    repeat += 1;
                    unique = format!("{id}-{repeat}");
                }
                ids.insert(unique);
            }
            _ => {}
        }
    }
    ids
}

/// Problems with the links of `chapter` (inside `source_root`, whose
/// `SUMMARY.md` lists `chapters`): a target that does not exist, that lies
/// outside the book's source (the built book would not have it), a chapter
/// that is not in `SUMMARY.md` (mdBook would not render it), a `#fragment`
/// that names no heading, an empty target.
pub fn check_links(
    source_root: &Path,
    chapters: &BTreeSet<PathBuf>,
    chapter: &Path,
    text: &str,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let directory = chapter.parent().unwrap_or(Path::new(""));
    for (line, target) in links_in(text) {
        let mut complain = |message: String| {
            problems.push(Problem {
                file: source_root.join(chapter),
                line,
                message,
            })
        };
        if target.is_empty() {
            complain("a link with an empty target (a draft chapter?)".to_owned());
            continue;
        }
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, fragment) = match target.split_once('#') {
            Some((path, fragment)) => (path, Some(fragment)),
            None => (target.as_str(), None),
        };
        let Some(resolved) = normalize(&directory.join(path)) else {
            complain(format!(
                "{target}: points outside docs/src, so the built book would not have it"
            ));
            continue;
        };
        let on_disk = source_root.join(&resolved);
        if !path.is_empty() && !on_disk.exists() {
            complain(format!("{target}: no such file ({})", on_disk.display()));
            continue;
        }
        let is_chapter = path.is_empty() || path.ends_with(".md");
        if is_chapter && !path.is_empty() && !chapters.contains(&resolved) {
            complain(format!(
                "{target}: not listed in SUMMARY.md, so mdBook does not render it"
            ));
            continue;
        }
        if let (Some(fragment), true) = (fragment, is_chapter) {
            let linked_text = fs::read_to_string(&on_disk)
                .ok()
                .filter(|_| !path.is_empty())
                .unwrap_or_else(|| text.to_owned());
            if !heading_ids(&linked_text).contains(fragment) {
                complain(format!("{target}: no heading with the id {fragment:?}"));
            }
        }
    }
    problems
}

/// `path` with `.` and `..` resolved, without touching the disk; `None` if
/// it climbs above its starting point.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// Every Markdown file under `source_root`, relative to it, sorted.
pub fn markdown_files(source_root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut directories = vec![PathBuf::new()];
    while let Some(relative) = directories.pop() {
        let Ok(entries) = fs::read_dir(source_root.join(&relative)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = relative.join(entry.file_name());
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                directories.push(path);
            } else if path.extension().is_some_and(|extension| extension == "md") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `text` as `name` under `directory`, making the folders.
    fn write(directory: &Path, name: &str, text: &str) {
        let path = directory.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn reads_fold_labels_in_both_forms() {
        let text = "<details>\n<summary>Solution</summary>\n\nA\n\n</details>\n\n<details>\n<summary>\n\nThe whole of `x.rs`\n</summary>\n\n</details>\n<details>\n<summary>\nno blank line\n</summary>\n</details>\n";
        let labels = fold_labels(text);
        let found: Vec<(usize, &str, bool)> = labels
            .iter()
            .map(|fold| (fold.line, fold.label.as_str(), fold.translatable))
            .collect();
        assert_eq!(
            found,
            [
                (2, "Solution", false),
                (11, "The whole of `x.rs`", true),
                (17, "no blank line", false)
            ]
        );
    }

    #[test]
    fn reads_includes_the_way_mdbook_does() {
        let text = "a\n{{#include ../x.rs}}\n{{#include x.rs:2:4}} {{#include x.rs:main}}\n\\{{#include escaped.rs}}\n{{#include x.rs:3}}\n{{#include x.rs::5}}\n";
        let (includes, unknown) = includes_in(text);
        assert!(unknown.is_empty());
        let selections: Vec<_> = includes
            .iter()
            .map(|include| include.selection.clone())
            .collect();
        assert_eq!(
            selections,
            vec![
                Selection::Whole,
                Selection::Lines {
                    first: Some(2),
                    last: Some(4)
                },
                Selection::Anchor("main".to_owned()),
                Selection::Lines {
                    first: Some(3),
                    last: Some(3)
                },
                Selection::Lines {
                    first: None,
                    last: Some(5)
                },
            ]
        );
        assert_eq!(includes[0].path, "../x.rs");
        assert_eq!(includes[0].line, 2);
    }

    #[test]
    fn flags_a_missing_file_a_range_past_the_end_and_a_missing_anchor() {
        let scratch = tempfile::tempdir().unwrap();
        write(
            scratch.path(),
            "code.rs",
            "one\n// ANCHOR: here\ntwo\n// ANCHOR_END: here\n",
        );
        let chapter = scratch.path().join("chapter.md");
        let good = "{{#include code.rs}}\n{{#include code.rs:1:4}}\n{{#include code.rs:here}}\n";
        assert_eq!(check_includes(&chapter, good), vec![]);
        for bad in [
            "{{#include missing.rs}}",
            "{{#include code.rs:2:9}}",
            "{{#include code.rs:5}}",
            "{{#include code.rs:her}}",
            "{{#include code.rs:there}}",
            "{{#playground code.rs}}",
        ] {
            assert_eq!(check_includes(&chapter, bad).len(), 1, "{bad}");
        }
    }

    #[test]
    fn counts_code_lines_outside_details_but_not_output() {
        let scratch = tempfile::tempdir().unwrap();
        write(
            scratch.path(),
            "code.rs",
            "one\n// ANCHOR: outer\ntwo\n// ANCHOR: inner\nthree\n// ANCHOR_END: inner\n// ANCHOR_END: outer\n",
        );
        write(scratch.path(), "transcripts/run.txt", "a\nb\nc\n");
        let chapter = scratch.path().join("chapter.md");
        let text = "```rust\n{{#include code.rs}}\n```\n```rust\n{{#include code.rs:outer}}\nliteral\n```\n```text\n{{#include transcripts/run.txt}}\nout\n```\n```console\n{{#include transcripts/run.txt}}\n```\n<details>\n<summary>All</summary>\n\n```rust\n{{#include code.rs}}\n```\n\n</details>\n\n```rust\n{{#include code.rs:2:3}}\n```\n";
        // 7 (whole) + 2 (outer, inner's markers dropped) + 1 + 0 + 0 + 2 (range).
        assert_eq!(code_lines_outside_details(&chapter, text), 12);
    }

    #[test]
    fn finds_links_but_not_in_code() {
        let text = "See [a](a.md) and ![img](p.png \"title\").\n`[not](code.md)`\n```\n[no](fence.md)\n```\n[ref]: ref.md\n<a href=\"h.md\">h</a>\n";
        let targets: Vec<_> = links_in(text)
            .into_iter()
            .map(|(_, target)| target)
            .collect();
        assert_eq!(targets, ["a.md", "p.png", "ref.md", "h.md"]);
    }

    #[test]
    fn heading_ids_follow_mdbook() {
        let ids = heading_ids(
            "# The `accept` call, again!\n## Exercises\n## Exercises\n```\n# not a heading\n```\n",
        );
        let expected: BTreeSet<String> = ["the-accept-call-again", "exercises", "exercises-1"]
            .map(String::from)
            .into();
        assert_eq!(ids, expected);
    }

    #[test]
    fn flags_broken_escaping_unlisted_and_fragment_links() {
        let scratch = tempfile::tempdir().unwrap();
        write(
            scratch.path(),
            "SUMMARY.md",
            "[One](one.md)\n[Two](sub/two.md)\n",
        );
        write(scratch.path(), "one.md", "# One\n## Part A\n");
        write(scratch.path(), "sub/two.md", "# Two\n");
        write(scratch.path(), "orphan.md", "# Orphan\n");
        write(scratch.path(), "picture.svg", "<svg/>");
        let chapters: BTreeSet<PathBuf> = summary_chapters(scratch.path()).into_iter().collect();
        let chapter = Path::new("sub/two.md");
        let good = "# Two\n[1](../one.md) [2](../one.md#part-a) [3](#two) [4](../picture.svg) [w](https://example.com/)\n";
        assert_eq!(
            check_links(scratch.path(), &chapters, chapter, good),
            vec![]
        );
        for bad in [
            "[x](missing.md)",
            "[x](../../outside.md)",
            "[x](../orphan.md)",
            "[x](../one.md#part-b)",
            "[x](#nowhere)",
            "[x]()",
        ] {
            let text = format!("# Two\n{bad}\n");
            assert_eq!(
                check_links(scratch.path(), &chapters, chapter, &text).len(),
                1,
                "{bad}"
            );
        }
    }
}
