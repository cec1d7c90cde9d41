//! The book's translations (po/README.md). mdbook-xgettext extracts the
//! English into `po/messages.pot`, one message per paragraph, heading, list
//! item, table cell or fold label; `po/zh-CN.po` holds each message's
//! Chinese; mdbook-gettext puts it back when the Chinese edition is built.
//! These checks read the PO files (with polib) and the glossary
//! (`docs/src/glossary.md`), and name each problem with its line in the PO
//! file, its page and the start of its English:
//!
//! - [`untranslated`]: a message with no translation, or marked fuzzy
//!   (msgmerge's "the English changed: check this translation"), which the
//!   Chinese edition would show in English;
//! - [`stale`]: messages of the English source missing from a PO file, or
//!   messages of the PO file the source no longer has;
//! - [`terms_left_in_english`]: a glossary term marked `translate` whose
//!   English is in a translation's prose (not in code, a link's target or
//!   the `中文（English）` of a first mention);
//! - [`changed_code`]: a translation that does not keep its code spans,
//!   link targets, `{{#include}}`s or string literals as they are;
//! - [`lost_heading_ids`]: a heading some link points at whose translation
//!   does not keep its English id (`{#id}`), which would break the link.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use polib::message::MessageView;
use pulldown_cmark::{Event, Tag, TagEnd};

use crate::book_checks;

/// One message of a PO file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// 1-based line of the message's first line (its comments) in the file.
    pub line: usize,
    /// The pages it comes from, as the PO file names them
    /// (`src/webserver3c.md`), in order.
    pub sources: Vec<String>,
    /// The English.
    pub msgid: String,
    /// The translation; empty when there is none.
    pub msgstr: String,
    /// Marked `#, fuzzy`: not used until a translator checks it.
    pub fuzzy: bool,
}

/// A PO file (or template) as the checks read it.
#[derive(Debug, Clone)]
pub struct PoFile {
    /// How problems name the file: `po/zh-CN.po`.
    pub name: String,
    /// Every message but the header, in the file's order; the obsolete
    /// ones (`#~`, msgmerge's memory of messages gone from the English) are
    /// left out.
    pub messages: Vec<Message>,
}

impl PoFile {
    /// Where `message` is: `po/zh-CN.po:120 (src/webserver3c.md)`.
    pub fn place(&self, message: &Message) -> String {
        match message.sources.first() {
            Some(page) => format!("{}:{} ({page})", self.name, message.line),
            None => format!("{}:{}", self.name, message.line),
        }
    }
}

/// Reads the PO file at `path`, naming it `name` in problems.
pub fn read_po(path: &Path, name: &str) -> Result<PoFile, String> {
    let text = fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    parse_po(name, &text)
}

/// Reads a PO file's `text`: polib parses the entries; the line of each is
/// where its block starts (entries are separated by blank lines, as
/// msgmerge and mdbook-xgettext write them).
pub fn parse_po(name: &str, text: &str) -> Result<PoFile, String> {
    let mut blocks: Vec<(usize, String)> = Vec::new();
    let mut after_blank = true;
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            after_blank = true;
            continue;
        }
        match blocks.last_mut() {
            Some((_, block)) if !after_blank => {
                block.push_str(line);
                block.push('\n');
            }
            _ => blocks.push((index + 1, format!("{line}\n"))),
        }
        after_blank = false;
    }
    let blocks: Vec<(usize, String)> = blocks
        .into_iter()
        .filter(|(_, block)| !block.lines().any(|line| line.starts_with("#~")))
        .collect();
    let joined: Vec<&str> = blocks.iter().map(|(_, block)| block.as_str()).collect();
    let catalog = polib::po_file::parse_from_reader(joined.join("\n").as_bytes())
        .map_err(|err| format!("{name}: not a PO file polib can read: {err}"))?;
    let parsed: Vec<&dyn MessageView> = catalog.messages().collect();
    // The first block is the header, which polib keeps as metadata.
    if parsed.len() + 1 != blocks.len() {
        return Err(format!(
            "{name}: {} entries after the header, but polib read {} messages (a duplicate msgid?)",
            blocks.len().saturating_sub(1),
            parsed.len()
        ));
    }
    let messages = parsed
        .iter()
        .zip(&blocks[1..])
        .map(|(message, (line, _))| Message {
            line: *line,
            sources: message
                .source()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            msgid: message.msgid().to_owned(),
            msgstr: message.msgstr().unwrap_or_default().to_owned(),
            fuzzy: message.is_fuzzy(),
        })
        .collect();
    Ok(PoFile {
        name: name.to_owned(),
        messages,
    })
}

/// The start of `text` on one line, quoted, for a problem's message.
pub fn excerpt(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|character| if character == '\n' { '⏎' } else { character })
        .collect();
    let mut short: String = flat.chars().take(72).collect();
    if short.len() < flat.len() {
        short.push('…');
    }
    format!("\"{short}\"")
}

/// Messages that are not translated, or fuzzy.
pub fn untranslated(po: &PoFile) -> Vec<String> {
    po.messages
        .iter()
        .filter_map(|message| {
            let what = if message.msgstr.is_empty() {
                "not translated"
            } else if message.fuzzy {
                "fuzzy (its English changed: check the translation, then remove the fuzzy flag)"
            } else {
                return None;
            };
            Some(format!(
                "{}: {what}: {}",
                po.place(message),
                excerpt(&message.msgid)
            ))
        })
        .collect()
}

/// How `po` differs from `template`, the English source's messages: those
/// the source has and `po` lacks, and those `po` has that the source does
/// not.
pub fn stale(po: &PoFile, template: &PoFile) -> Vec<String> {
    let in_po: BTreeSet<&str> = po.messages.iter().map(|m| m.msgid.as_str()).collect();
    let in_template: BTreeSet<&str> = template.messages.iter().map(|m| m.msgid.as_str()).collect();
    let mut problems: Vec<String> = template
        .messages
        .iter()
        .filter(|message| !in_po.contains(message.msgid.as_str()))
        .map(|message| {
            format!(
                "{}: in the English, not in {}: {}",
                message.sources.first().map_or("?", String::as_str),
                po.name,
                excerpt(&message.msgid)
            )
        })
        .collect();
    problems.extend(
        po.messages
            .iter()
            .filter(|message| !in_template.contains(message.msgid.as_str()))
            .map(|message| {
                format!(
                    "{}: no longer in the English: {}",
                    po.place(message),
                    excerpt(&message.msgid)
                )
            }),
    );
    problems
}

/// One entry of the glossary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// 1-based line of its row in the glossary.
    pub line: usize,
    /// The Chinese term, as the translation writes it.
    pub chinese: String,
    /// The English, one or more ways the English book writes it
    /// (`level-triggered / level mode`).
    pub english: Vec<String>,
    /// The system call, constant or Rust name, if any.
    pub names: String,
    /// `translate`: the English must not stay in Chinese prose; `keep`: it
    /// stays (epoll, SIGCHLD, crate).
    pub translate: bool,
}

/// The header of every table of the glossary.
pub const GLOSSARY_HEADER: [&str; 4] = [
    "中文术语",
    "English",
    "System call or Rust name",
    "In Chinese prose",
];

/// The terms of the glossary page's tables (those whose header is
/// [`GLOSSARY_HEADER`]), or what is wrong with its rows.
pub fn glossary(text: &str) -> Result<Vec<Term>, Vec<String>> {
    let mut tables: Vec<Vec<(usize, Vec<String>)>> = Vec::new();
    let mut cell: Option<String> = None;
    let mut row: Vec<String> = Vec::new();
    let mut row_line = 0;
    for (event, range) in book_checks::markdown(text).into_offset_iter() {
        match event {
            Event::Start(Tag::Table(_)) => tables.push(Vec::new()),
            Event::Start(Tag::TableHead | Tag::TableRow) => {
                row.clear();
                row_line = book_checks::line_at(text, range.start);
            }
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::Text(words) | Event::Code(words) => {
                if let Some(cell) = &mut cell {
                    cell.push_str(&words);
                }
            }
            Event::End(TagEnd::TableCell) => {
                row.push(cell.take().unwrap_or_default().trim().to_owned())
            }
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => {
                if let Some(table) = tables.last_mut() {
                    table.push((row_line, std::mem::take(&mut row)));
                }
            }
            _ => {}
        }
    }
    let mut terms = Vec::new();
    let mut problems = Vec::new();
    for table in tables.iter().filter(|table| {
        table
            .first()
            .is_some_and(|(_, head)| head == &GLOSSARY_HEADER.map(str::to_owned))
    }) {
        for (line, cells) in &table[1..] {
            let [chinese, english, names, rule] = &cells[..] else {
                problems.push(format!(
                    "glossary.md:{line}: a row of {} cells, not 4",
                    cells.len()
                ));
                continue;
            };
            let translate = match rule.as_str() {
                "translate" => true,
                "keep" => false,
                other => {
                    problems.push(format!(
                        "glossary.md:{line}: the last column says {other:?}: `translate` or `keep`"
                    ));
                    continue;
                }
            };
            let english: Vec<String> = english
                .split(" / ")
                .map(|variant| variant.trim().to_owned())
                .filter(|variant| !variant.is_empty())
                .collect();
            if chinese.is_empty() || english.is_empty() {
                problems.push(format!(
                    "glossary.md:{line}: a term without its Chinese or its English"
                ));
                continue;
            }
            terms.push(Term {
                line: *line,
                chinese: chinese.clone(),
                english,
                names: names.clone(),
                translate,
            });
        }
    }
    if terms.is_empty() && problems.is_empty() {
        problems.push(format!(
            "glossary.md: no table headed | {} |",
            GLOSSARY_HEADER.join(" | ")
        ));
    }
    if problems.is_empty() {
        Ok(terms)
    } else {
        Err(problems)
    }
}

/// The prose of a message's Markdown: its text, the alt text of its images
/// and the text of its links; not its code spans and blocks, its HTML or
/// its link targets. The pieces are joined by spaces.
pub fn prose(markdown: &str) -> String {
    let mut words = Vec::new();
    let mut in_code_block = false;
    for event in book_checks::markdown(markdown) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code_block = true,
            Event::End(TagEnd::CodeBlock) => in_code_block = false,
            Event::Text(text) if !in_code_block => words.push(text.into_string()),
            _ => {}
        }
    }
    words.join(" ")
}

/// Whether `character` continues an English word (or a name: `_`).
fn is_word(character: char) -> bool {
    character.is_ascii_alphanumeric() || character == '_'
}

/// `text` lower-cased, every run of spaces (a line break too) as one.
fn normalized(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        let character = if character.is_whitespace() {
            ' '
        } else {
            character.to_ascii_lowercase()
        };
        if character == ' ' && out.ends_with(' ') {
            continue;
        }
        out.push(character);
    }
    out
}

/// How long the English `variant` (normalized) is at the start of `text`
/// (normalized), a space of the variant matching a space or a `-`, so that
/// `level triggered` and `level-triggered` read alike; `None` if it is not.
fn matches_at(text: &str, variant: &str) -> Option<usize> {
    let mut length = 0;
    let mut rest = text.chars();
    for wanted in variant.chars() {
        let found = rest.next()?;
        let same = found == wanted || (matches!(wanted, ' ' | '-') && matches!(found, ' ' | '-'));
        if !same {
            return None;
        }
        length += found.len_utf8();
    }
    Some(length)
}

/// Whether the run of Latin characters around `start..end` of `text` is a
/// name rather than a word: a path (`support/static_http/src/request.rs`),
/// a Rust path (`static_http::deadline`), a man page (`signal-safety(7)`),
/// an option (`--trigger`) or a variable (`PORT=0`), written without
/// backticks.
fn in_a_name(text: &str, start: usize, end: usize) -> bool {
    let latin = |character: char| character.is_ascii() && !character.is_ascii_whitespace();
    let from = text[..start]
        .char_indices()
        .rev()
        .take_while(|(_, character)| latin(*character))
        .last()
        .map_or(start, |(at, _)| at);
    let to = text[end..]
        .char_indices()
        .find(|(_, character)| !latin(*character))
        .map_or(text.len(), |(at, _)| end + at);
    let token = text[from..to].trim_end_matches(['.', ',', ';', ':', '!', '?']);
    let man_page = token.find('(').is_some_and(|open| {
        let section = &token[open + 1..];
        section.starts_with(|c: char| c.is_ascii_digit()) && section.ends_with(')')
    });
    token.contains('/')
        || token.contains("::")
        || token.contains('=')
        || token.starts_with('-')
        || man_page
        || [
            ".rs", ".md", ".py", ".toml", ".txt", ".json", ".svg", ".html",
        ]
        .iter()
        .any(|extension| token.ends_with(extension))
}

/// Where `variant` (normalized) is a whole word or phrase in `text`
/// (normalized), a plural `s` or `es` allowed, and not part of a name (see
/// [`in_a_name`]): the byte ranges.
fn occurrences(text: &str, variant: &str) -> Vec<(usize, usize)> {
    let variant = variant.replace('-', " ");
    let Some(first) = variant.chars().next() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (start, _) in text.match_indices(first) {
        if text[..start].chars().next_back().is_some_and(is_word) {
            continue;
        }
        let Some(length) = matches_at(&text[start..], &variant) else {
            continue;
        };
        let mut end = start + length;
        for plural in ["es", "s"] {
            let after = &text[end..];
            if after.starts_with(plural)
                && !after[plural.len()..].chars().next().is_some_and(is_word)
            {
                end += plural.len();
                break;
            }
        }
        if text[end..].chars().next().is_some_and(is_word) || in_a_name(text, start, end) {
            continue;
        }
        found.push((start, end));
    }
    found
}

/// Whether the English at `start..end` of `text` is the annotation of a
/// first mention, `中文（English）`: inside parentheses (or full-width
/// ones) that open right after `chinese` and hold only Latin text.
fn is_annotation(text: &str, start: usize, end: usize, chinese: &str) -> bool {
    let latin = |character: char| character.is_ascii() && character != '(' && character != ')';
    let before = &text[..start];
    let inside_before = before.trim_end_matches(|c: char| latin(c) || c == '，' || c == '、');
    let Some(opened) = inside_before
        .strip_suffix('（')
        .or_else(|| inside_before.strip_suffix('('))
    else {
        return false;
    };
    let after = text[end..].trim_start_matches(|c: char| latin(c) || c == '，' || c == '、');
    let closed = after.starts_with('）') || after.starts_with(')');
    closed && opened.trim_end().ends_with(&normalized(chinese))
}

/// Translations (not fuzzy ones: those are msgmerge's guesses, which the
/// build does not use and the completeness check names) whose prose still
/// has the English of a glossary term marked `translate`. The glossary page's own cells, kept as they are
/// (the English column), are not prose.
pub fn terms_left_in_english(po: &PoFile, terms: &[Term]) -> Vec<String> {
    let mut problems = Vec::new();
    for message in po
        .messages
        .iter()
        .filter(|message| !message.msgstr.is_empty() && !message.fuzzy)
    {
        let on_glossary_page = message
            .sources
            .iter()
            .any(|page| page.ends_with("glossary.md"));
        if on_glossary_page && message.msgstr == message.msgid {
            continue;
        }
        // A string literal of the code, kept as it is (`"signal SIGCHLD"`),
        // is not prose.
        let literal = message.msgid.len() > 1
            && message.msgid.starts_with('"')
            && message.msgid.ends_with('"');
        if literal && message.msgstr == message.msgid {
            continue;
        }
        // A heading's `{#id}`, kept in English so that links still find it.
        let text = match message.msgstr.trim_end().rsplit_once(" {#") {
            Some((heading, id)) if id.ends_with('}') && !id.contains(' ') => heading,
            _ => message.msgstr.as_str(),
        };
        for (term, english) in left_in_english(&without_titles(&prose(text)), terms) {
            problems.push(format!(
                "{}: {english:?} is left in English (glossary.md:{}: write {}): {}",
                po.place(message),
                term.line,
                term.chinese,
                excerpt(&message.msgstr)
            ));
        }
    }
    problems
}

/// `prose` without what is inside title marks (`《Let's Build A Web
/// Server》`): a title is quoted as it is, not translated word by word.
fn without_titles(prose: &str) -> String {
    let mut out = String::with_capacity(prose.len());
    let mut depth = 0usize;
    for character in prose.chars() {
        match character {
            '《' => depth += 1,
            '》' => depth = depth.saturating_sub(1),
            _ if depth > 0 => continue,
            _ => {}
        }
        out.push(character);
    }
    out
}

/// The terms marked `translate` whose English is in `prose`, each with
/// the first English left (one per term, whichever of its variants); a
/// term whose English lies inside a longer one's (`socket` in `socket
/// pair`) is left for that one, even where the longer one is a first
/// mention's annotation (`套接字对（socket pair）`).
fn left_in_english<'a>(prose: &str, terms: &'a [Term]) -> Vec<(&'a Term, String)> {
    let text = normalized(prose);
    // Every occurrence of every term: (term, start, end, annotated).
    let found: Vec<(&Term, usize, usize, bool)> = terms
        .iter()
        .filter(|term| term.translate)
        .flat_map(|term| {
            let text = &text;
            term.english.iter().flat_map(move |variant| {
                occurrences(text, &normalized(variant))
                    .into_iter()
                    .map(move |(start, end)| {
                        (
                            term,
                            start,
                            end,
                            is_annotation(text, start, end, &term.chinese),
                        )
                    })
            })
        })
        .collect();
    let mut left: Vec<(&Term, String)> = Vec::new();
    for (term, start, end, annotated) in &found {
        let inside_a_longer = found.iter().any(|(_, other_start, other_end, _)| {
            other_start <= start && end <= other_end && other_end - other_start > end - start
        });
        let named = left.iter().any(|(named, _)| std::ptr::eq(*named, *term));
        if !annotated && !inside_a_longer && !named {
            left.push((*term, text[*start..*end].to_owned()));
        }
    }
    left
}

/// The same check for a Chinese Markdown file of its own (an exercise's
/// `README.zh-CN.md` or `hint.zh-CN.md`), named `name`: each line of prose
/// that still has the English of a term marked `translate`.
pub fn terms_left_in_file(name: &str, text: &str, terms: &[Term]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut in_code_block = false;
    for (event, range) in book_checks::markdown(text).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code_block = true,
            Event::End(TagEnd::CodeBlock) => in_code_block = false,
            Event::Text(words) if !in_code_block => {
                for (term, english) in left_in_english(&words, terms) {
                    problems.push(format!(
                        "{name}:{}: {english:?} is left in English (glossary.md:{}: write {})",
                        book_checks::line_at(text, range.start),
                        term.line,
                        term.chinese
                    ));
                }
            }
            _ => {}
        }
    }
    problems
}

/// What a translation must keep exactly as the English has it: its code
/// spans, the targets of its links and images, and its `{{#…}}` directives.
fn kept_parts(markdown: &str) -> BTreeSet<String> {
    let mut parts = BTreeSet::new();
    for event in book_checks::markdown(markdown) {
        match event {
            Event::Code(code) => {
                parts.insert(format!("the code span `{code}`"));
            }
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                parts.insert(format!("the link target ({dest_url})"));
            }
            _ => {}
        }
    }
    let mut rest = markdown;
    while let Some(start) = rest.find("{{#") {
        let Some(length) = rest[start..].find("}}") else {
            break;
        };
        parts.insert(format!(
            "the directive {}",
            &rest[start..start + length + 2]
        ));
        rest = &rest[start + length + 2..];
    }
    parts
}

/// How many emphases (`*a*`, `_a_`) and strong emphases (`**a**`) a
/// message's Markdown renders.
fn emphases(markdown: &str) -> usize {
    book_checks::markdown(markdown)
        .filter(|event| matches!(event, Event::Start(Tag::Emphasis | Tag::Strong)))
        .count()
}

/// The text of the first emphasis (`*a*`) of `markdown` that touches a
/// letter on either side (`通过*套接字*发送`): mdbook-gettext writes
/// emphasis back as `_a_`, and an underscore between two letters (a Chinese
/// character is one) is not emphasis but a literal `_` on the page.
fn emphasis_inside_a_word(markdown: &str) -> Option<String> {
    let letter = |character: Option<char>| character.is_some_and(char::is_alphanumeric);
    book_checks::markdown(markdown)
        .into_offset_iter()
        .find_map(|(event, range)| {
            let Event::Start(Tag::Emphasis) = event else {
                return None;
            };
            let before = markdown[..range.start].chars().next_back();
            let after = markdown[range.end..].chars().next();
            let single = markdown[range.start..].starts_with('*')
                && !markdown[range.start..].starts_with("**");
            (single && (letter(before) || letter(after)))
                .then(|| markdown[range.start + 1..range.end - 1].to_owned())
        })
}

/// Translations (not fuzzy ones) that changed what must stay as it is: a code span, a link
/// target or a `{{#include}}` of the English that the translation lacks,
/// a string literal from a code block (`"signal SIGCHLD"`) that is not
/// copied as it is; or that lost an emphasis, whose marks CommonMark does
/// not read as such next to some Chinese punctuation (`**“阻塞”**中`).
pub fn changed_code(po: &PoFile) -> Vec<String> {
    let mut problems = Vec::new();
    for message in po
        .messages
        .iter()
        .filter(|message| !message.msgstr.is_empty() && !message.fuzzy)
    {
        let id = &message.msgid;
        let is_literal = id.len() >= 2
            && id.starts_with('"')
            && id.ends_with('"')
            && !id[1..id.len() - 1].contains('"');
        if is_literal && message.msgstr != *id {
            problems.push(format!(
                "{}: a string literal from code: copy it as it is: {}",
                po.place(message),
                excerpt(id)
            ));
            continue;
        }
        let kept = kept_parts(&message.msgstr);
        for part in kept_parts(id).difference(&kept) {
            problems.push(format!(
                "{}: the translation lacks {part}: {}",
                po.place(message),
                excerpt(&message.msgstr)
            ));
        }
        if let Some(word) = emphasis_inside_a_word(&message.msgstr) {
            problems.push(format!(
                "{}: `*{word}*` between two characters of a sentence: the Chinese edition \
                 writes it back as `_…_`, which CommonMark does not read inside a word; \
                 write `**{word}**`: {}",
                po.place(message),
                excerpt(&message.msgstr)
            ));
        }
        let stray_marks = prose(&message.msgstr).contains('*') && !prose(id).contains('*');
        if emphases(&message.msgstr) < emphases(id) || stray_marks {
            problems.push(format!(
                "{}: an emphasis (`*…*`, `**…**`) does not render: next to Chinese punctuation, \
                 put the marks outside the quotes or brackets, and use `*`, not `_`: {}",
                po.place(message),
                excerpt(&message.msgstr)
            ));
        }
    }
    problems
}

/// The text a heading shows, from its Markdown (what [`heading_ids`]
/// makes its id from).
///
/// [`heading_ids`]: book_checks::heading_ids
fn visible_text(markdown: &str) -> String {
    let mut text = String::new();
    for event in book_checks::markdown(markdown) {
        if let Event::Text(words) | Event::Code(words) = event {
            text.push_str(&words);
        }
    }
    text.trim().to_owned()
}

/// Headings some link of the book points at (`page.md#id`, or `#id` on
/// the same page) whose translation would give another id, so that the
/// link would land at the top of the page in the Chinese edition: the
/// translation must end with `{#id}`, the English heading's id.
pub fn lost_heading_ids(po: &PoFile, source_root: &Path) -> Vec<String> {
    let chapters = book_checks::markdown_files(source_root);
    let mut linked: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for chapter in &chapters {
        let text = fs::read_to_string(source_root.join(chapter)).unwrap_or_default();
        let directory = chapter.parent().unwrap_or(Path::new(""));
        for (_, target) in book_checks::links_in(&text) {
            if target.contains("://") {
                continue;
            }
            if let Some((path, fragment)) = target.split_once('#') {
                let page = if path.is_empty() {
                    chapter.clone()
                } else {
                    directory.join(path)
                };
                linked.entry(page).or_default().insert(fragment.to_owned());
            }
        }
    }
    let by_msgid: BTreeMap<&str, &Message> = po
        .messages
        .iter()
        .map(|message| (message.msgid.as_str(), message))
        .collect();
    let mut problems = Vec::new();
    for (page, fragments) in &linked {
        let text = fs::read_to_string(source_root.join(page)).unwrap_or_default();
        for (heading, id) in headings(&text) {
            if !fragments.contains(&id) {
                continue;
            }
            let Some(message) = by_msgid
                .iter()
                .find(|(msgid, _)| visible_text(msgid) == visible_text(&heading))
                .map(|(_, message)| *message)
            else {
                continue;
            };
            if message.msgstr.is_empty() {
                continue;
            }
            let translated = book_checks::heading_ids(&format!("# {}\n", message.msgstr));
            if !translated.contains(&id) {
                problems.push(format!(
                    "{}: a link points at this heading ({}#{id}): end its translation with {{#{id}}}: {}",
                    po.place(message),
                    page.display(),
                    excerpt(&message.msgstr)
                ));
            }
        }
    }
    problems
}

/// The headings of a page: the Markdown of each, and its id.
fn headings(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut start = None;
    for (event, range) in book_checks::markdown(text).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { .. }) => start = Some(range.clone()),
            Event::End(TagEnd::Heading(_)) => {
                if let Some(range) = start.take() {
                    let line = text[range].trim().trim_start_matches('#').trim();
                    let ids = book_checks::heading_ids(&format!("# {line}\n"));
                    let line = line.split(" {#").next().unwrap_or(line).to_owned();
                    if let Some(id) = ids.into_iter().next() {
                        found.push((line, id));
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// How far the translation of one page is.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PageStatus {
    /// Messages whose first source is the page (a message shared by pages,
    /// such as "Goal", counts once, for the first).
    pub messages: usize,
    pub translated: usize,
    pub fuzzy: usize,
    /// The English words of the page's messages still to translate (not
    /// translated, or fuzzy).
    pub words_left: usize,
    /// The English words of all its messages.
    pub words: usize,
}

/// Each page's [`PageStatus`], by its first source, in the PO file's order.
pub fn status(po: &PoFile) -> Vec<(String, PageStatus)> {
    let mut pages: Vec<(String, PageStatus)> = Vec::new();
    for message in &po.messages {
        let page = message.sources.first().cloned().unwrap_or_default();
        let index = match pages.iter().position(|(name, _)| *name == page) {
            Some(index) => index,
            None => {
                pages.push((page, PageStatus::default()));
                pages.len() - 1
            }
        };
        let status = &mut pages[index].1;
        let words = message.msgid.split_whitespace().count();
        status.messages += 1;
        status.words += words;
        if message.msgstr.is_empty() || message.fuzzy {
            status.words_left += words;
        }
        if message.fuzzy && !message.msgstr.is_empty() {
            status.fuzzy += 1;
        } else if !message.msgstr.is_empty() {
            status.translated += 1;
        }
    }
    pages
}

/// [`status`] as a table, with totals.
pub fn status_table(po: &PoFile) -> String {
    let pages = status(po);
    let mut table = format!(
        "{:<28} {:>8} {:>10} {:>6} {:>12} {:>7}\n",
        "page", "messages", "translated", "fuzzy", "words left", "words"
    );
    let mut total = PageStatus::default();
    for (page, status) in &pages {
        let _ = writeln!(
            table,
            "{:<28} {:>8} {:>10} {:>6} {:>12} {:>7}",
            page.trim_start_matches("src/"),
            status.messages,
            status.translated,
            status.fuzzy,
            status.words_left,
            status.words
        );
        total.messages += status.messages;
        total.translated += status.translated;
        total.fuzzy += status.fuzzy;
        total.words_left += status.words_left;
        total.words += status.words;
    }
    let _ = writeln!(
        table,
        "{:<28} {:>8} {:>10} {:>6} {:>12} {:>7}",
        "total", total.messages, total.translated, total.fuzzy, total.words_left, total.words
    );
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n\n";

    fn po(entries: &str) -> PoFile {
        parse_po("po/zh-CN.po", &format!("{HEADER}{entries}")).expect("a PO file")
    }

    #[test]
    fn reads_messages_with_their_line_page_and_flags() {
        let file = po("#: src/a.md src/b.md\nmsgid \"Goal\"\nmsgstr \"目标\"\n\n#, fuzzy\n#: src/b.md\nmsgid \"\"\n\"Two \"\n\"lines\"\nmsgstr \"两行\"\n\n#~ msgid \"Gone\"\n#~ msgstr \"没了\"\n");
        let found: Vec<(usize, &str, &str, bool)> = file
            .messages
            .iter()
            .map(|m| (m.line, m.sources[0].as_str(), m.msgid.as_str(), m.fuzzy))
            .collect();
        assert_eq!(
            found,
            [
                (5, "src/a.md", "Goal", false),
                (9, "src/b.md", "Two lines", true)
            ]
        );
        assert_eq!(file.place(&file.messages[1]), "po/zh-CN.po:9 (src/b.md)");
    }

    #[test]
    fn an_empty_or_fuzzy_translation_is_named_with_its_place() {
        let file = po("#: src/a.md\nmsgid \"Goal\"\nmsgstr \"\"\n\n#, fuzzy\n#: src/b.md\nmsgid \"Run it\"\nmsgstr \"运行\"\n\n#: src/c.md\nmsgid \"Done\"\nmsgstr \"完成\"\n");
        assert_eq!(
            untranslated(&file),
            [
                "po/zh-CN.po:5 (src/a.md): not translated: \"Goal\"",
                "po/zh-CN.po:9 (src/b.md): fuzzy (its English changed: check the translation, then remove the fuzzy flag): \"Run it\""
            ]
        );
    }

    #[test]
    fn a_message_added_or_removed_in_the_english_is_stale() {
        let file = po("#: src/a.md\nmsgid \"Old\"\nmsgstr \"旧\"\n\n#: src/a.md\nmsgid \"Same\"\nmsgstr \"同\"\n");
        let template = parse_po(
            "fresh.pot",
            &format!("{HEADER}#: src/a.md\nmsgid \"Same\"\nmsgstr \"\"\n\n#: src/b.md\nmsgid \"New\"\nmsgstr \"\"\n"),
        )
        .unwrap();
        assert_eq!(
            stale(&file, &template),
            [
                "src/b.md: in the English, not in po/zh-CN.po: \"New\"",
                "po/zh-CN.po:5 (src/a.md): no longer in the English: \"Old\""
            ]
        );
        assert!(stale(&file, &file).is_empty());
    }

    const GLOSSARY: &str = "# Glossary\n\n| 中文术语 | English | System call or Rust name | In Chinese prose |\n| --- | --- | --- | --- |\n| 文件描述符 | file descriptor / descriptor | `RawFd` | translate |\n| 水平触发 | level-triggered | | translate |\n| epoll | epoll | `epoll_create1(2)` | keep |\n| 描述符表 | descriptor table | | translate |\n";

    #[test]
    fn reads_the_glossary_tables() {
        let terms = glossary(GLOSSARY).expect("terms");
        assert_eq!(terms.len(), 4);
        assert_eq!(terms[0].line, 5);
        assert_eq!(terms[0].english, ["file descriptor", "descriptor"]);
        assert_eq!(terms[0].names, "RawFd");
        assert!(terms[1].translate && !terms[2].translate);
        let wrong = GLOSSARY.replace("| keep |", "| maybe |");
        assert_eq!(
            glossary(&wrong),
            Err(vec![
                "glossary.md:7: the last column says \"maybe\": `translate` or `keep`".to_owned()
            ])
        );
    }

    fn left(msgstr: &str) -> Vec<String> {
        let entry = format!(
            "#: src/a.md\nmsgid \"x\"\nmsgstr \"{}\"\n",
            msgstr.replace('"', "\\\"").replace('\n', "\\n")
        );
        terms_left_in_english(&po(&entry), &glossary(GLOSSARY).unwrap())
    }

    #[test]
    fn an_english_term_left_in_prose_is_named() {
        let found = left("每个 descriptors 指向一个套接字。");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("po/zh-CN.po:5 (src/a.md): \"descriptors\" is left in English (glossary.md:5: write 文件描述符)"),
            "{}",
            found[0]
        );
        assert_eq!(left("它是 Level-Triggered 的。").len(), 1);
        let inside = left("一个 descriptor table。");
        assert_eq!(inside.len(), 1, "{inside:?}");
        assert!(
            inside[0].contains("write 描述符表"),
            "descriptor is inside descriptor table, a term of its own: {inside:?}"
        );
        assert_eq!(
            left("![一个 file\ndescriptor](x.svg)").len(),
            1,
            "alt text is prose"
        );
    }

    #[test]
    fn code_names_and_first_mentions_are_not_prose() {
        assert!(left("`descriptor` 与 `level_triggered` 是代码。").is_empty());
        assert!(left("见 [文件描述符](descriptor.md#descriptor)。").is_empty());
        assert!(
            left("文件描述符（file descriptor）是一个小整数；水平触发（level-triggered）。")
                .is_empty()
        );
        assert!(left("epoll 保留英文；descriptor_table 与 descriptors2 是名字。").is_empty());
        assert!(
            left("见 support/x/src/descriptor.rs、descriptor::close、descriptor(7)、--descriptor 和 DESCRIPTOR=3。").is_empty(),
            "paths, man pages, options and variables are names"
        );
        assert_eq!(
            left("套接字（descriptor）").len(),
            1,
            "only after its own Chinese term"
        );
        assert!(
            left("一张描述符表（descriptor table）。").is_empty(),
            "a shorter term inside a longer one's annotation"
        );
        assert!(
            left("文件描述符 {#file-descriptors}").is_empty(),
            "a heading's id"
        );
        assert_eq!(left("每个 descriptor {#file-descriptors}").len(), 1);
        assert!(
            left("见《Level Triggered descriptors》一文。").is_empty(),
            "a title quoted as it is"
        );
        assert_eq!(left("见《水平触发》里的 descriptor。").len(), 1);
    }

    #[test]
    fn a_chinese_file_is_checked_line_by_line() {
        let terms = glossary(GLOSSARY).unwrap();
        let text = "# 标题\n\n每个文件描述符。\n\n```text\nls -l /proc/1/fd # descriptor\n```\n\n- 一个 descriptor 留下了\n";
        assert_eq!(
            terms_left_in_file("hint.zh-CN.md", text, &terms),
            ["hint.zh-CN.md:9: \"descriptor\" is left in English (glossary.md:5: write 文件描述符)"]
        );
    }

    #[test]
    fn code_spans_links_includes_and_literals_must_stay() {
        let file = po(concat!(
            "#: src/a.md\nmsgid \"Run `cargo run -p x`, see [the intro](introduction.md).\"\nmsgstr \"运行 `cargo run -p y`，见[简介](intro.md)。\"\n\n",
            "#: src/b.md\nmsgid \"\\\"signal SIGCHLD\\\"\"\nmsgstr \"\\\"信号 SIGCHLD\\\"\"\n\n",
            "#: src/c.md\nmsgid \"{{#include ../../x.md}}\"\nmsgstr \"{{#include x.md}}\"\n\n",
            "#: src/d.md\nmsgid \"Keep `x` and [y](y.md).\"\nmsgstr \"保留 [y](y.md) 和 `x`。\"\n\n",
            "#: src/e.md\nmsgid \"Say **blocking** here.\"\nmsgstr \"这里说**“阻塞”**吧。\"\n\n",
            "#: src/f.md\nmsgid \"Say **blocking** there.\"\nmsgstr \"那里说“**阻塞**”吧。\"\n\n",
            "#: src/g.md\nmsgid \"Run it\"\nmsgstr \"**“运行”**一下\"\n"
        ));
        let problems = changed_code(&file);
        assert_eq!(problems.len(), 6, "{problems:#?}");
        assert!(problems[5].starts_with("po/zh-CN.po:29 (src/g.md): an emphasis"));
        assert!(problems[4].starts_with("po/zh-CN.po:21 (src/e.md): an emphasis"));
        assert!(problems[0].contains("lacks the code span `cargo run -p x`"));
        assert!(problems[1].contains("lacks the link target (introduction.md)"));
        assert!(problems[2].starts_with("po/zh-CN.po:9 (src/b.md): a string literal"));
        assert!(problems[3].contains("lacks the directive {{#include ../../x.md}}"));
    }

    #[test]
    fn an_emphasis_inside_a_sentence_must_be_strong() {
        let entry = |msgstr: &str| {
            po(&format!(
                "#: src/a.md\nmsgid \"it goes *through* a socket\"\nmsgstr \"{msgstr}\"\n"
            ))
        };
        let problems = changed_code(&entry("通过*套接字*发送"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("write `**套接字**`"), "{problems:?}");
        assert!(changed_code(&entry("通过**套接字**发送")).is_empty());
        assert!(changed_code(&entry("*提示*：通过套接字")).is_empty());
    }

    #[test]
    fn a_linked_heading_must_keep_its_id() {
        let book = tempfile::tempdir().unwrap();
        fs::write(
            book.path().join("a.md"),
            "# A\n\n## The shared layer: static_http\n\n## Goal\n",
        )
        .unwrap();
        fs::write(
            book.path().join("b.md"),
            "See [it](a.md#the-shared-layer-static_http).\n",
        )
        .unwrap();
        let file = po(concat!(
            "#: src/a.md\nmsgid \"The shared layer: static_http\"\nmsgstr \"共享层：static_http\"\n\n",
            "#: src/a.md\nmsgid \"Goal\"\nmsgstr \"目标\"\n"
        ));
        let problems = lost_heading_ids(&file, book.path());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("end its translation with {#the-shared-layer-static_http}"));
        let kept = po("#: src/a.md\nmsgid \"The shared layer: static_http\"\nmsgstr \"共享层：static_http {#the-shared-layer-static_http}\"\n");
        assert!(lost_heading_ids(&kept, book.path()).is_empty());
    }

    #[test]
    fn the_status_counts_each_message_for_its_first_page() {
        let file = po("#: src/a.md src/b.md\nmsgid \"Goal here\"\nmsgstr \"目标\"\n\n#, fuzzy\n#: src/b.md\nmsgid \"Run it now\"\nmsgstr \"运行\"\n\n#: src/b.md\nmsgid \"Left\"\nmsgstr \"\"\n");
        let pages = status(&file);
        assert_eq!(pages[0].0, "src/a.md");
        assert_eq!((pages[0].1.messages, pages[0].1.translated), (1, 1));
        assert_eq!(
            pages[1].1,
            PageStatus {
                messages: 2,
                translated: 0,
                fuzzy: 1,
                words_left: 4,
                words: 4
            }
        );
        assert!(status_table(&file).contains("total"));
    }
}
