//! The transcripts' narration in the Chinese edition (po/README.md). A
//! transcript (`docs/src/transcripts/NAME.txt`, written by replay) mixes
//! commands and output with narration: a paragraph starts at a `#` line
//! whose text after the `#` does not start with three spaces (`# 3b: the
//! server sleeps …`, `# Look for: …`) and goes on over the lines that start
//! `#   `. Each paragraph is one message of `po/transcripts/LANGUAGE.po`,
//! its lines without the `#` and the spaces around them, joined by single
//! spaces. [`extract`] writes that file from the transcripts, [`apply`]
//! writes a transcript with each paragraph replaced by its translation, on
//! one line (`docs/js/transcripts.js` wraps it).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::ops::Range;
use std::path::Path;

use crate::translation::{Message, PoFile};

/// One narration paragraph of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph {
    /// Its lines, 0-based, end excluded.
    pub lines: Range<usize>,
    /// Its text: the message's English.
    pub msgid: String,
}

/// The narration paragraphs of a transcript's `text`.
pub fn paragraphs(text: &str) -> Vec<Paragraph> {
    let mut found: Vec<Paragraph> = Vec::new();
    let mut open = false;
    for (index, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix('#') else {
            open = false;
            continue;
        };
        match found.last_mut() {
            Some(paragraph) if open && rest.starts_with("   ") => {
                paragraph.lines.end = index + 1;
                paragraph.msgid.push(' ');
                paragraph.msgid.push_str(rest.trim());
            }
            _ => {
                found.push(Paragraph {
                    lines: index..index + 1,
                    msgid: rest.trim().to_owned(),
                });
                open = true;
            }
        }
    }
    found
}

/// The transcripts of the book: (`transcripts/NAME.txt`, text), by name.
pub fn read_transcripts(directory: &Path) -> io::Result<Vec<(String, String)>> {
    let mut transcripts = Vec::new();
    for entry in fs::read_dir(directory)? {
        let path = entry?.path();
        if path.extension().is_some_and(|extension| extension == "txt") {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            transcripts.push((format!("transcripts/{name}"), fs::read_to_string(&path)?));
        }
    }
    transcripts.sort();
    Ok(transcripts)
}

/// The messages of `transcripts`, in the order they first appear, each
/// with every transcript it is in; the translations of `old` kept for the
/// msgids it has (a changed msgid comes in untranslated).
pub fn messages(transcripts: &[(String, String)], old: &PoFile) -> Vec<Message> {
    let mut messages: Vec<Message> = Vec::new();
    for (name, text) in transcripts {
        for paragraph in paragraphs(text) {
            if let Some(message) = messages.iter_mut().find(|m| m.msgid == paragraph.msgid) {
                if !message.sources.contains(name) {
                    message.sources.push(name.clone());
                }
                continue;
            }
            let kept = old.messages.iter().find(|m| m.msgid == paragraph.msgid);
            messages.push(Message {
                line: 0,
                sources: vec![name.clone()],
                msgstr: kept.map(|m| m.msgstr.clone()).unwrap_or_default(),
                fuzzy: kept.is_some_and(|m| m.fuzzy),
                msgid: paragraph.msgid,
            });
        }
    }
    messages
}

fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for character in text.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// `po/transcripts/LANGUAGE.po`'s text: the header, then each message of
/// `transcripts`, its translation kept from `old`.
pub fn extract(language: &str, transcripts: &[(String, String)], old: &PoFile) -> String {
    let mut out = format!(
        "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n\"Language: {language}\\n\"\n"
    );
    for message in messages(transcripts, old) {
        out.push_str(&format!("\n#: {}\n", message.sources.join(" ")));
        if message.fuzzy {
            out.push_str("#, fuzzy\n");
        }
        out.push_str(&format!(
            "msgid {}\nmsgstr {}\n",
            quoted(&message.msgid),
            quoted(&message.msgstr)
        ));
    }
    out
}

/// The translations `po` gives: msgid to msgstr, neither empty nor fuzzy.
pub fn translations(po: &PoFile) -> BTreeMap<String, String> {
    po.messages
        .iter()
        .filter(|message| !message.msgstr.is_empty() && !message.fuzzy)
        .map(|message| (message.msgid.clone(), message.msgstr.clone()))
        .collect()
}

/// A transcript's `text` with each narration paragraph that has a
/// translation replaced by `# ` and the translation, on one line; the
/// rest as it is.
pub fn apply(text: &str, translations: &BTreeMap<String, String>) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut next = 0;
    for paragraph in paragraphs(text) {
        let Some(translation) = translations.get(&paragraph.msgid) else {
            continue;
        };
        out.push_str(&lines[next..paragraph.lines.start].concat());
        out.push_str("# ");
        out.push_str(translation);
        if lines[paragraph.lines.end - 1].ends_with('\n') {
            out.push('\n');
        }
        next = paragraph.lines.end;
    }
    out.push_str(&lines[next..].concat());
    out
}

/// Whether a word of narration is code a translation keeps as it is: an
/// option (`-i`), a path or address (`/proc/PID/stat`), a setting
/// (`PORT=0`), a name with an underscore (`epoll_wait`), a constant or
/// state in capitals (`EAGAIN`, `ESTAB`).
fn is_code(word: &str) -> bool {
    let letters = word.chars().filter(char::is_ascii_alphabetic).count();
    word.contains(['_', '=', '/'])
        || (word.starts_with('-') && letters > 0)
        || (letters >= 4 && !word.chars().any(|c| c.is_ascii_lowercase()))
}

/// Narration as Markdown, for the checks of translation.rs: the chapter's
/// tag that opens it (`prefork:`, replay's name for the chapter), in a
/// translation what it quotes (“no new client”: output the narration names,
/// kept as printed) and each word that [`is_code`] in a code span.
pub fn as_markdown(narration: &str, translation: bool) -> String {
    let mut quoted = String::new();
    let tag_end = narration.find([':', '：']).filter(|&end| {
        end > 0
            && narration[..end]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    });
    let rest = match tag_end {
        Some(end) => {
            quoted.push_str(&format!("`{}`", &narration[..end]));
            &narration[end..]
        }
        None => narration,
    };
    let mut inside = false;
    for character in rest.chars() {
        match character {
            '“' | '"' if translation && !inside => {
                quoted.push(character);
                quoted.push('`');
                inside = true;
            }
            '”' | '"' if inside => {
                quoted.push('`');
                quoted.push(character);
                inside = false;
            }
            _ => quoted.push(character),
        }
    }
    if inside {
        quoted.push('`');
    }
    // Code spans stay as they are; the words between them are looked at.
    quoted
        .split('`')
        .enumerate()
        .map(|(at, piece)| {
            if at % 2 == 1 {
                format!("`{piece}`")
            } else {
                code_words(piece)
            }
        })
        .collect()
}

/// `text` with each word that [`is_code`] in a code span.
fn code_words(text: &str) -> String {
    let narration = text;
    let mut out = String::new();
    let mut word = String::new();
    let part_of_a_word = |c: char| c.is_ascii_alphanumeric() || "_=/.:-$~+%@".contains(c);
    let flush = |word: &mut String, out: &mut String| {
        let core = word.trim_end_matches(['.', ':', ',']);
        let tail = word[core.len()..].to_owned();
        if is_code(core) {
            out.push_str(&format!("`{core}`{tail}"));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for character in narration.chars() {
        if part_of_a_word(character) {
            word.push(character);
        } else {
            flush(&mut word, &mut out);
            out.push(character);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// `po` with each msgid and msgstr [`as_markdown`], for the glossary's and
/// the code's checks.
pub fn po_as_markdown(po: &PoFile) -> PoFile {
    let mut markdown = po.clone();
    for message in &mut markdown.messages {
        message.msgid = as_markdown(&message.msgid, false);
        message.msgstr = as_markdown(&message.msgstr, true);
    }
    markdown
}

/// How `po` differs from a fresh extraction (`fresh`): a message missing,
/// left over, in another order or with other transcripts.
pub fn stale(po: &PoFile, fresh: &PoFile) -> Vec<String> {
    let mut problems = crate::translation::stale(po, fresh);
    if problems.is_empty() {
        for (message, wanted) in po.messages.iter().zip(&fresh.messages) {
            if message.msgid != wanted.msgid || message.sources != wanted.sources {
                problems.push(format!(
                    "{}: in another place or transcript than a fresh extraction puts it: {}",
                    po.place(message),
                    crate::translation::excerpt(&message.msgid)
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translation::parse_po;

    const SAMPLE: &str = "# 3b: the server sleeps 60 s;\n#   SLEEP_SECS=2 makes it 2 s.\n$ PORT=0 cargo run\n# not output\n#   but narration\n#    indented\nServing # here\n#   a lone continuation\n# Look for: one line.\n";

    fn po(text: &str) -> PoFile {
        parse_po("sample.po", text).unwrap()
    }

    #[test]
    fn a_paragraph_is_a_hash_line_and_its_indented_lines() {
        let found = paragraphs(SAMPLE);
        let msgids: Vec<&str> = found.iter().map(|p| p.msgid.as_str()).collect();
        assert_eq!(
            msgids,
            [
                "3b: the server sleeps 60 s; SLEEP_SECS=2 makes it 2 s.",
                "not output but narration indented",
                "a lone continuation",
                "Look for: one line.",
            ]
        );
        assert_eq!(found[1].lines, 3..6);
    }

    #[test]
    fn extract_keeps_translations_of_msgids_still_there_and_nothing_else() {
        let transcripts = vec![
            ("transcripts/a.txt".to_owned(), SAMPLE.to_owned()),
            (
                "transcripts/b.txt".to_owned(),
                "# Look for: one line.\n# a \"quote\"\n".to_owned(),
            ),
        ];
        let empty = PoFile {
            name: "new.po".to_owned(),
            messages: Vec::new(),
        };
        let first = extract("zh-CN", &transcripts, &empty);
        assert!(first.starts_with(
            "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n\"Language: zh-CN\\n\"\n\n#: transcripts/a.txt\n"
        ));
        assert!(first.contains(
            "\n#: transcripts/a.txt transcripts/b.txt\nmsgid \"Look for: one line.\"\nmsgstr \"\"\n"
        ));
        assert!(first.contains("msgid \"a \\\"quote\\\"\"\n"));
        let translated = first
            .replace(
                "msgid \"Look for: one line.\"\nmsgstr \"\"",
                "msgid \"Look for: one line.\"\nmsgstr \"看：一行。\"",
            )
            .replace(
                "msgid \"a lone continuation\"\nmsgstr \"\"",
                "msgid \"a lone continuation\"\nmsgstr \"单独\"",
            );
        // The same transcripts again: nothing changes.
        assert_eq!(extract("zh-CN", &transcripts, &po(&translated)), translated);
        // A changed paragraph loses its translation; one gone is dropped.
        let changed = vec![(
            "transcripts/a.txt".to_owned(),
            SAMPLE.replace("a lone", "one lone"),
        )];
        let again = extract("zh-CN", &changed, &po(&translated));
        assert!(again.contains("msgid \"one lone continuation\"\nmsgstr \"\"\n"));
        assert!(!again.contains("单独"));
        assert!(again.contains("msgstr \"看：一行。\"\n"));
        assert!(!again.contains("quote"));
        let fresh = po(&again);
        assert_eq!(stale(&fresh, &fresh), Vec::<String>::new());
        assert_eq!(stale(&po(&translated), &fresh).len(), 3);
    }

    #[test]
    fn apply_replaces_translated_paragraphs_only() {
        let mut translations = BTreeMap::new();
        translations.insert(
            "not output but narration indented".to_owned(),
            "不是输出".to_owned(),
        );
        translations.insert("Look for: one line.".to_owned(), "看：一行。".to_owned());
        assert_eq!(
            apply(SAMPLE, &translations),
            "# 3b: the server sleeps 60 s;\n#   SLEEP_SECS=2 makes it 2 s.\n$ PORT=0 cargo run\n# 不是输出\nServing # here\n#   a lone continuation\n# 看：一行。\n"
        );
        assert_eq!(apply(SAMPLE, &BTreeMap::new()), SAMPLE);
    }

    #[test]
    fn code_words_of_narration_become_code_spans() {
        assert_eq!(
            as_markdown(
                "3b: with SLEEP_SECS=2, PORT=0: EAGAIN in /proc/PID/stat (-i shows it), CPU.",
                false
            ),
            "`3b`: with `SLEEP_SECS=2`, `PORT=0`: `EAGAIN` in `/proc/PID/stat` (`-i` shows it), CPU."
        );
        assert_eq!(
            as_markdown("服务器睡 2 秒（SLEEP_SECS=2）。", true),
            "服务器睡 2 秒（`SLEEP_SECS=2`）。"
        );
        assert_eq!(
            as_markdown("prefork：每个“no new client”都是一次 accept。", true),
            "`prefork`：每个“`no new client`”都是一次 accept。"
        );
        assert_eq!(
            as_markdown("Look for: a \"sent nothing\" line, not prefork.", false),
            "Look for: a \"sent nothing\" line, not prefork."
        );
    }
}
