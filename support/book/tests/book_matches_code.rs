//! The book is written against the code as it stands. These tests fail when
//! the two drift apart: a stage changed and its diff was not rewritten, an
//! `{{#include}}` points at a file, line range or anchor that is gone, a link
//! points at nothing, or a stage's chapter stopped showing its source.
//!
//! After changing a stage: `cargo run -p book --bin write-diffs`; after
//! changing a figure (docs/figures): `cargo run -p book --features draw --bin
//! draw-figures`; the figures' SVGs are checked with `--features draw` only
//! (svgbob draws them; see support/book/Cargo.toml).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use book::book_checks::{self, Problem};
use book::stages::{stage_chapters, stage_diffs};
use book::{charts, figures};

/// Fails, listing every problem, when there is any.
fn assert_no_problems(what: &str, problems: &[Problem]) {
    let listed: Vec<String> = problems.iter().map(Problem::to_string).collect();
    assert!(problems.is_empty(), "{what}:\n{}", listed.join("\n"));
}

fn read_chapter(relative: &Path) -> String {
    let path = book::book_source().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// Fails when files of `directory` are not what `wanted` gives, or (if
/// `left_over`) when generated files are there that nothing gives.
fn assert_current(
    directory: &Path,
    generated: fn(&str) -> bool,
    wanted: &BTreeMap<String, String>,
    left_over: bool,
    what: &str,
) {
    let outdated = book::outdated(directory, generated, wanted);
    let mut wrong: Vec<String> = (outdated.stale.iter())
        .map(|name| directory.join(name).display().to_string())
        .collect();
    for name in outdated.left_over.iter().filter(|_| left_over) {
        wrong.push(format!(
            "{} (nothing gives it)",
            directory.join(name).display()
        ));
    }
    assert!(wrong.is_empty(), "{what}:\n{}", wrong.join("\n"));
}

#[test]
fn every_committed_diff_is_what_the_sources_give() {
    let diffs = book::expected_diffs().expect("the two sources of each diff");
    assert_current(
        &book::diffs_directory(),
        |_| false,
        &diffs,
        false,
        "these diffs no longer match the sources; run `cargo run -p book --bin write-diffs`",
    );
}

#[test]
fn every_diff_turns_one_stage_into_the_next() {
    // A diff that is current but wrong would mislead the reader as much as
    // a stale one: apply each to the earlier stage and get the later one
    // (both without their anchor lines, the book's markup, as the diffs are
    // written).
    for diff in &stage_diffs() {
        let from = book::stage_source(&diff.from).unwrap();
        let to = book::stage_source(&diff.to).unwrap();
        let text = book::expected_diff(diff).unwrap();
        assert_ne!(text, "", "{} and {} are the same", diff.from, diff.to);
        // Read by another crate (diffy), so that similar's output is
        // checked against a second reading of the format.
        let patch = diffy::Patch::from_str(&text).expect("a unified diff");
        assert_eq!(
            diffy::apply(&from, &patch).map_err(|err| err.to_string()),
            Ok(to),
            "{}",
            diff.file_name()
        );
    }
}

#[test]
fn no_diff_file_is_left_over_from_a_pair_that_is_gone() {
    let diffs = book::expected_diffs().expect("the two sources of each diff");
    assert_current(
        &book::diffs_directory(),
        |_| true,
        &diffs,
        true,
        "no stage pair produces these; run `cargo run -p book --bin write-diffs`",
    );
}

#[test]
fn every_include_points_at_an_existing_file_range_or_anchor() {
    let source = book::book_source();
    let mut problems = Vec::new();
    for chapter in book_checks::markdown_files(&source) {
        let text = read_chapter(&chapter);
        problems.extend(book_checks::check_includes(&source.join(&chapter), &text));
    }
    assert_no_problems("broken {{#include}}s", &problems);
}

#[test]
fn every_relative_link_points_at_a_page_or_file_of_the_book() {
    let source = book::book_source();
    let chapters: BTreeSet<PathBuf> = book_checks::summary_chapters(&source).into_iter().collect();
    let mut problems = Vec::new();
    for chapter in book_checks::markdown_files(&source) {
        let text = read_chapter(&chapter);
        problems.extend(book_checks::check_links(
            &source, &chapters, &chapter, &text,
        ));
    }
    assert_no_problems("broken links", &problems);
}

#[test]
fn every_page_is_in_the_summary_and_every_summary_entry_exists() {
    let source = book::book_source();
    let listed: BTreeSet<PathBuf> = book_checks::summary_chapters(&source).into_iter().collect();
    assert!(!listed.is_empty(), "SUMMARY.md lists no chapter");
    for chapter in &listed {
        assert!(
            source.join(chapter).is_file(),
            "SUMMARY.md lists {}, which does not exist (mdbook would create it empty)",
            chapter.display()
        );
    }
    for page in book_checks::markdown_files(&source) {
        assert!(
            page == Path::new("SUMMARY.md") || listed.contains(&page),
            "{} is not in SUMMARY.md, so the built book leaves it out",
            page.display()
        );
    }
}

#[test]
fn each_stage_chapter_shows_its_diff_its_source_and_exercises() {
    let source = book::book_source();
    let listed: BTreeSet<PathBuf> = book_checks::summary_chapters(&source).into_iter().collect();
    let diffs = stage_diffs();
    for stage in &stage_chapters() {
        let chapter = PathBuf::from(&stage.chapter);
        assert!(
            listed.contains(&chapter),
            "{} is not in SUMMARY.md",
            stage.chapter
        );
        let text = read_chapter(&chapter);
        let (includes, _) = book_checks::includes_in(&text);
        let included: BTreeSet<String> = includes
            .iter()
            .filter(|include| include.selection == book_checks::Selection::Whole)
            .map(|include| include.path.clone())
            .collect();
        for source_file in &stage.sources {
            // Chapters sit in docs/src, two levels below the workspace root.
            let path = format!("../../{source_file}");
            assert!(
                included.contains(&path),
                "{} does not include the whole of {source_file}",
                stage.chapter
            );
        }
        for diff in diffs.iter().filter(|diff| stage.sources.contains(&diff.to)) {
            let path = format!("diffs/{}", diff.file_name());
            assert!(
                included.contains(&path),
                "{} does not include {path}",
                stage.chapter
            );
        }
        let exercises = book_checks::fold_labels(&text)
            .iter()
            .filter(|fold| fold.label == "Solution")
            .count();
        assert!(
            (2..=3).contains(&exercises),
            "{} has {exercises} folded solutions; a chapter has two or three exercises",
            stage.chapter
        );
    }
}

#[test]
fn every_fold_label_can_be_translated() {
    // mdbook-xgettext skips HTML blocks: a label written on the line of its
    // `<summary>` would stay English in the Chinese edition (po/README.md).
    let source = book::book_source();
    let mut problems = Vec::new();
    for chapter in book_checks::markdown_files(&source) {
        let text = read_chapter(&chapter);
        for fold in book_checks::fold_labels(&text) {
            if !fold.translatable {
                problems.push(Problem {
                    file: source.join(&chapter),
                    line: fold.line,
                    message: format!(
                        "write the fold's label as a paragraph, so that it is translated: \
                         `<summary>`, a blank line, `{}`, then `</summary>` on the next line",
                        fold.label
                    ),
                });
            }
        }
    }
    assert_no_problems(
        "fold labels the Chinese edition cannot translate",
        &problems,
    );
}

/// The Part 3 diffs are the lesson and little else: 3a→3b (one sleep) in at
/// most 12 changed lines, every other step in at most 35. A diff that grows
/// past its budget has picked up plumbing that belongs in `support/common`
/// or prose that belongs in the chapter.
#[test]
fn every_part3_diff_stays_within_its_budget() {
    let mut over = Vec::new();
    for diff in &stage_diffs() {
        if !diff.file_name().starts_with("webserver3") {
            continue;
        }
        let budget = if diff.file_name() == "webserver3a-webserver3b.diff" {
            12
        } else {
            35
        };
        let text = book::expected_diff(diff).expect("the two sources of a diff");
        let changed = changed_lines(&text);
        if changed > budget {
            over.push(format!(
                "{}: {changed} changed lines, budget {budget}",
                diff.file_name()
            ));
        }
    }
    assert!(over.is_empty(), "{}", over.join("\n"));
}

/// nonblock_server → epoll_server is the busy loop becoming epoll, and the
/// diff shows that and little else: at most 250 changed lines. The edge
/// mode's budget, the ready list and the deadlines live in epoll_server's
/// own modules (fairness.rs, deadlines.rs), the chapter's second step; a
/// diff past the budget has pulled them, or renamed and reordered what the
/// lesson does not change, back into main.rs.
#[test]
fn the_epoll_diff_stays_within_its_budget() {
    const BUDGET: usize = 250;
    let diffs = stage_diffs();
    let diff = diffs
        .iter()
        .find(|diff| diff.file_name() == "nonblock_server-epoll_server.diff")
        .expect("the nonblock_server → epoll_server diff");
    let text = book::expected_diff(diff).expect("the two sources of a diff");
    let changed = changed_lines(&text);
    assert!(
        changed <= BUDGET,
        "{}: {changed} changed lines, budget {BUDGET}",
        diff.file_name()
    );
}

/// The '+' and '-' lines of a unified diff, not counting its two headers.
fn changed_lines(diff: &str) -> usize {
    diff.lines()
        .filter(|line| line.starts_with(['+', '-']))
        .filter(|line| !line.starts_with("+++ ") && !line.starts_with("--- "))
        .count()
}

/// A chapter walks through its code in excerpts; the whole files are
/// folded (`<details>`) or linked. Run with `--nocapture` to see each
/// chapter's count.
#[test]
fn no_chapter_shows_more_than_250_lines_of_code_unfolded() {
    let source = book::book_source();
    let mut over = Vec::new();
    for chapter in book_checks::summary_chapters(&source) {
        let text = read_chapter(&chapter);
        let count = book_checks::code_lines_outside_details(&source.join(&chapter), &text);
        println!("{:>5} lines of code unfolded: {}", count, chapter.display());
        if count > book_checks::MOST_CODE_LINES_UNFOLDED {
            over.push(format!(
                "{}: {count} lines of code outside <details>, at most {}; fold the whole files and show excerpts ({{{{#include file:anchor}}}})",
                source.join(&chapter).display(),
                book_checks::MOST_CODE_LINES_UNFOLDED
            ));
        }
    }
    assert!(over.is_empty(), "{}", over.join("\n"));
}

/// The chapters that need no figure: the appendices and the instructors'
/// page are lists.
const CHAPTERS_WITHOUT_FIGURES: &[&str] = &[
    "appendix.md",
    "promises.md",
    "instructors.md",
    "glossary.md",
];

/// Every figure's source, read; fails listing the sources that cannot be
/// (no alt text, no separator, a line too wide).
fn figure_sources() -> Vec<figures::Figure> {
    let sources = figures::read_sources(&figures::sources_directory()).expect("docs/figures");
    let errors: Vec<String> = sources
        .iter()
        .filter_map(|source| source.as_ref().err())
        .map(ToString::to_string)
        .collect();
    assert!(
        errors.is_empty(),
        "figure sources that cannot be drawn:\n{}",
        errors.join("\n")
    );
    sources.into_iter().flatten().collect()
}

/// Without svgbob (the `draw` feature) the figures cannot be drawn: the
/// test is there, ignored, saying how to run it.
#[test]
#[cfg(not(feature = "draw"))]
#[ignore = "svgbob draws the figures: cargo test -p book --features draw"]
fn every_committed_figure_is_what_its_source_gives() {}

#[test]
#[cfg(feature = "draw")]
fn every_committed_figure_is_what_its_source_gives() {
    let svgs = figure_sources()
        .iter()
        .map(|figure| (format!("{}.svg", figure.name), figures::render(figure)))
        .collect();
    assert_current(
        &figures::svg_directory(),
        |_| true,
        &svgs,
        true,
        "these figures are not what docs/figures gives; run `cargo run -p book --features draw --bin draw-figures`",
    );
}

#[test]
fn every_chart_is_what_the_benchmark_results_give() {
    let charts = charts::draw_committed().expect("support/bench/results.json");
    assert!(
        charts.len() >= 3,
        "support/bench/results.json gives {} charts; expected 3",
        charts.len()
    );
    let svgs = charts
        .into_iter()
        .map(|chart| (chart.file_name(), chart.svg))
        .collect();
    assert_current(
        &charts::directory(),
        charts::is_chart,
        &svgs,
        true,
        "these charts are not what support/bench/results.json gives; run `cargo run -p book --features draw --bin draw-figures`",
    );
}

#[test]
fn every_chapter_shows_a_figure_with_its_alt_text() {
    let source = book::book_source();
    let by_name: BTreeMap<String, figures::Figure> = figure_sources()
        .into_iter()
        .map(|figure| (figure.name.clone(), figure))
        .collect();
    assert!(
        by_name.len() >= 15,
        "the book has {} figures; it should have at least 15",
        by_name.len()
    );
    let charts = charts::draw_committed().expect("support/bench/results.json");
    let mut problems = Vec::new();
    let mut shown = BTreeSet::new();
    for chapter in book_checks::summary_chapters(&source) {
        let text = read_chapter(&chapter);
        let mut figures_here = 0;
        for image in figures::images_in(&text) {
            let at = format!("{}:{}", source.join(&chapter).display(), image.line);
            // A figure of a real run (replay's process trees, the
            // benchmark's charts) counts if it is there; a chart must carry
            // the alt text its numbers give.
            if image.target.starts_with("runs/") {
                if source.join(&image.target).is_file() {
                    figures_here += 1;
                } else {
                    problems.push(format!("{at}: {} does not exist", image.target));
                }
                if let Some(chart) = charts.iter().find(|chart| chart.target() == image.target) {
                    if image.alt != chart.alt {
                        problems.push(format!(
                            "{at}: the alt text of {} is not the one its results give \
                             (run `cargo run -p book --features draw --bin draw-figures`):\n  {}",
                            image.target, chart.alt
                        ));
                    }
                }
                continue;
            }
            let Some(name) = figures::figure_name(&image.target) else {
                continue;
            };
            figures_here += 1;
            shown.insert(name.to_owned());
            match by_name.get(name) {
                None => problems.push(format!("{at}: no docs/figures/{name}.bob")),
                Some(figure) if image.alt != figure.alt => problems.push(format!(
                    "{at}: the alt text of {name} is not the one in docs/figures/{name}.bob:\n  {}",
                    figure.alt
                )),
                Some(_) => {}
            }
        }
        let exempt = CHAPTERS_WITHOUT_FIGURES.contains(&chapter.to_string_lossy().as_ref());
        if figures_here == 0 && !exempt {
            problems.push(format!(
                "{}: no figure (![alt](figures/<name>.svg), or a figure of a run in runs/)",
                source.join(&chapter).display()
            ));
        }
    }
    for name in by_name.keys().filter(|name| !shown.contains(*name)) {
        problems.push(format!(
            "docs/figures/{name}.bob: no chapter shows figures/{name}.svg"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
