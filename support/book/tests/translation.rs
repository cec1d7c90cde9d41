//! The Chinese edition (po/README.md): `po/zh-CN.po` against the English
//! source and the glossary. Each failure names the message: its line in the
//! PO file, its page, and the start of its text.
//!
//! `cargo test -p book` compares `po/zh-CN.po` with `po/messages.pot`, the
//! committed template; `bash po/i18n.sh check` extracts the English afresh
//! and passes the new template as `BOOK_FRESH_POT`, so that a page edited
//! without `bash po/i18n.sh extract` fails too, and runs the ignored test,
//! which fails until every message is translated (.ci/run runs it last).
//!
//! The transcripts' narration (`po/transcripts/LANGUAGE.po`, support/book's
//! `transcripts` module) is checked the same way: against a fresh
//! extraction from the committed transcripts, for the glossary's terms and
//! the code it names, and (ignored) for being all translated.

use std::env;
use std::fs;
use std::path::PathBuf;

use book::transcripts;
use book::translation::{self, PoFile, Term};

/// The translations: `po/<language>.po`.
const LANGUAGES: &[&str] = &["zh-CN"];

fn read(relative: &str) -> PoFile {
    translation::read_po(&book::workspace_root().join(relative), relative)
        .unwrap_or_else(|err| panic!("{err}"))
}

fn translations() -> Vec<PoFile> {
    LANGUAGES
        .iter()
        .map(|language| read(&format!("po/{language}.po")))
        .collect()
}

/// The transcripts' narration: `po/transcripts/<language>.po`.
fn transcript_translations() -> Vec<PoFile> {
    LANGUAGES
        .iter()
        .map(|language| read(&format!("po/transcripts/{language}.po")))
        .collect()
}

/// The same, as Markdown: the code its narration names (`SLEEP_SECS=2`,
/// `EAGAIN`, `/proc/PID/stat`) in code spans, for the checks of the main
/// translation.
fn transcript_translations_as_markdown() -> Vec<PoFile> {
    transcript_translations()
        .iter()
        .map(transcripts::po_as_markdown)
        .collect()
}

fn terms() -> Vec<Term> {
    let path = book::book_source().join("glossary.md");
    let text = fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    translation::glossary(&text).unwrap_or_else(|problems| panic!("{}", problems.join("\n")))
}

fn assert_none(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what} ({}):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_glossary_has_60_to_140_terms_each_once() {
    let terms = terms();
    assert!(
        (60..=140).contains(&terms.len()),
        "the glossary has {} terms; it should have 60 to 140",
        terms.len()
    );
    let mut problems = Vec::new();
    for (index, term) in terms.iter().enumerate() {
        for earlier in &terms[..index] {
            if earlier.chinese == term.chinese {
                problems.push(format!(
                    "glossary.md:{}: {} is also at line {}",
                    term.line, term.chinese, earlier.line
                ));
            }
            for english in term
                .english
                .iter()
                .filter(|english| earlier.english.contains(english))
            {
                problems.push(format!(
                    "glossary.md:{}: {english:?} is also at line {}",
                    term.line, earlier.line
                ));
            }
        }
    }
    assert_none("terms the glossary gives twice", &problems);
}

#[test]
fn each_translation_has_the_messages_of_the_english_source() {
    // A fresh extraction when po/i18n.sh check gives one, else the
    // committed template (which the fresh one must then equal, too).
    let committed = read("po/messages.pot");
    let mut problems = Vec::new();
    let template = match env::var_os("BOOK_FRESH_POT") {
        Some(path) => {
            let fresh = translation::read_po(&PathBuf::from(path), "a fresh extraction")
                .unwrap_or_else(|err| panic!("{err}"));
            problems.extend(translation::stale(&committed, &fresh));
            fresh
        }
        None => committed,
    };
    for po in translations() {
        problems.extend(translation::stale(&po, &template));
    }
    assert_none(
        "messages that differ from the English source: run `bash po/i18n.sh extract`",
        &problems,
    );
}

#[test]
fn no_glossary_term_is_left_in_english_in_prose() {
    let terms = terms();
    let mut problems = Vec::new();
    for po in translations()
        .into_iter()
        .chain(transcript_translations_as_markdown())
    {
        problems.extend(translation::terms_left_in_english(&po, &terms));
    }
    // The exercises' Chinese statements and hints, too.
    let exercises = book::workspace_root().join("exercises");
    let mut folders: Vec<PathBuf> = fs::read_dir(&exercises)
        .expect("exercises/")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    folders.sort();
    for folder in folders {
        for file in ["README.zh-CN.md", "hint.zh-CN.md"] {
            let Ok(text) = fs::read_to_string(folder.join(file)) else {
                continue;
            };
            let name = format!(
                "exercises/{}/{file}",
                folder.file_name().unwrap_or_default().to_string_lossy()
            );
            problems.extend(translation::terms_left_in_file(&name, &text, &terms));
        }
    }
    assert_none(
        "glossary terms left in English (docs/src/glossary.md gives each one's Chinese)",
        &problems,
    );
}

#[test]
fn code_links_and_includes_stay_as_they_are() {
    let mut problems = Vec::new();
    for po in translations()
        .into_iter()
        .chain(transcript_translations_as_markdown())
    {
        problems.extend(translation::changed_code(&po));
    }
    assert_none(
        "translations that do not keep what must stay as it is",
        &problems,
    );
}

#[test]
fn the_transcripts_narration_is_that_of_the_transcripts() {
    let directory = book::book_source().join("transcripts");
    let committed = transcripts::read_transcripts(&directory)
        .unwrap_or_else(|err| panic!("{}: {err}", directory.display()));
    let mut problems = Vec::new();
    for (language, po) in LANGUAGES.iter().zip(transcript_translations()) {
        let fresh = transcripts::extract(language, &committed, &po);
        let fresh = translation::parse_po("a fresh extraction", &fresh)
            .unwrap_or_else(|err| panic!("{err}"));
        problems.extend(transcripts::stale(&po, &fresh));
    }
    assert_none(
        "narration that differs from the transcripts: run `bash po/i18n.sh extract`",
        &problems,
    );
}

#[test]
#[ignore = "fails until the translation is complete: bash po/i18n.sh check runs it, and .ci/run last"]
fn every_narration_paragraph_is_translated_and_none_is_fuzzy() {
    let mut problems = Vec::new();
    for po in transcript_translations() {
        problems.extend(translation::untranslated(&po));
    }
    assert_none(
        "narration paragraphs of the transcripts not translated, or fuzzy",
        &problems,
    );
}

#[test]
fn every_linked_heading_keeps_its_id() {
    let mut problems = Vec::new();
    for po in translations() {
        problems.extend(translation::lost_heading_ids(&po, &book::book_source()));
    }
    assert_none("headings whose links would break", &problems);
}

#[test]
#[ignore = "fails until the translation is complete: bash po/i18n.sh check runs it, and .ci/run last"]
fn every_message_is_translated_and_none_is_fuzzy() {
    let mut problems = Vec::new();
    let mut status = String::new();
    for po in translations() {
        problems.extend(translation::untranslated(&po));
        status.push_str(&format!("{}:\n{}", po.name, translation::status_table(&po)));
    }
    assert!(
        problems.is_empty(),
        "{} messages not translated, or fuzzy:\n{}\n\n{status}",
        problems.len(),
        problems.join("\n")
    );
}
