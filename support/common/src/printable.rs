//! What a client sent, made safe to show in a log: [`printable`] and
//! [`printable_line`], the one escaper of every server that prints a
//! request.
//!
//! The log is often a terminal, and a terminal obeys what it is sent:
//! `ESC [ 2 J` clears the screen, `ESC ] 0 ; text BEL` retitles the
//! window, a carriage return moves the cursor back to overwrite the line
//! with another, and some terminals obey C1 controls (U+009B is a whole
//! `ESC [`) or answer queries by typing into the shell. A request is
//! whatever a client chose to send, so printed raw it lets any client
//! drive the terminal of whoever watches the log. (Line ends stay, so a
//! request prints as its lines; one of them may still look like a line of
//! the server's own.)
//! Escaped, those bytes show as text (`\u{1b}[2J`), as Rust's
//! `char::escape_default` writes them, and do nothing.

use std::borrow::Cow;

/// `bytes` as text (bytes that are not UTF-8 become U+FFFD, as
/// `String::from_utf8_lossy` makes them) with every control character
/// escaped (C0, DEL and C1: `\u{1b}`, `\t`, `\u{9b}`), except line ends:
/// `\n`, and `\r` right before one, stay, so that a request prints as the
/// lines it is made of. An ordinary request prints exactly as it came.
pub fn printable(bytes: &[u8]) -> Cow<'_, str> {
    let text = String::from_utf8_lossy(bytes);
    let is_line_end = |text: &str, at: usize, character: char| {
        character == '\n' || (character == '\r' && text[at + 1..].starts_with('\n'))
    };
    let needs_escaping = |text: &str| {
        text.char_indices()
            .any(|(at, character)| character.is_control() && !is_line_end(text, at, character))
    };
    if !needs_escaping(&text) {
        return text;
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for (at, character) in text.char_indices() {
        if character.is_control() && !is_line_end(&text, at, character) {
            shown.extend(character.escape_default());
        } else {
            shown.push(character);
        }
    }
    Cow::Owned(shown)
}

/// One line of what a client sent (a request line, a name) with every
/// control character escaped, line ends too: it shows as one line.
pub fn printable_line(text: &str) -> Cow<'_, str> {
    printable_line_cut(text, usize::MAX)
}

/// [`printable_line`], cut to about `limit` bytes at a character boundary
/// and then ended with `...`.
pub fn printable_line_cut(text: &str, limit: usize) -> Cow<'_, str> {
    if text.len() <= limit && !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(limit.min(text.len()) + 16);
    for character in text.chars() {
        if shown.len() >= limit {
            shown.push_str("...");
            break;
        }
        if character.is_control() {
            shown.extend(character.escape_default());
        } else {
            shown.push(character);
        }
    }
    Cow::Owned(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ordinary_request_prints_as_it_came() {
        let request = b"GET /hello HTTP/1.1\r\nHost: localhost:8888\r\n\r\n";
        assert!(matches!(printable(request), Cow::Borrowed(_)));
        assert_eq!(printable(request).as_bytes(), request);
        assert_eq!(printable(b"GET /\n\n"), "GET /\n\n");
    }

    #[test]
    fn what_drives_a_terminal_is_escaped() {
        let hostile = "GET /\x1b]0;title\x07\x1b[2J\rforged\x08\u{9b}m\t\x7f\r\n".as_bytes();
        assert_eq!(
            printable(hostile),
            "GET /\\u{1b}]0;title\\u{7}\\u{1b}[2J\\rforged\\u{8}\\u{9b}m\\t\\u{7f}\r\n"
        );
        assert_eq!(printable(b"\xff\r"), "\u{fffd}\\r");
    }

    #[test]
    fn a_line_shows_as_one_line() {
        assert_eq!(printable_line("GET / HTTP/1.1"), "GET / HTTP/1.1");
        assert_eq!(
            printable_line("GET /\u{1b}[2J\r\nX HTTP/1.1"),
            "GET /\\u{1b}[2J\\r\\nX HTTP/1.1"
        );
        assert!(!printable_line("\u{7f}\u{9b}\0")
            .chars()
            .any(char::is_control));
    }

    #[test]
    fn a_long_line_is_cut() {
        let long = format!("GET /{} HTTP/1.1", "张".repeat(3000));
        let shown = printable_line_cut(&long, 200);
        assert!(shown.len() <= 200 + 3 + 3, "{}", shown.len());
        assert!(shown.ends_with("..."));
    }
}
