//! The one CSV rule the tooling's reports need (bench's results.csv,
//! `cargo ex grade --csv`): RFC 4180's quoting of a field.

/// A CSV field, quoted when it holds a comma, a quote or a line break,
/// with its quotes doubled.
pub fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_only_what_must_be_quoted() {
        assert_eq!(super::field("a \"b\", c"), "\"a \"\"b\"\", c\"");
        assert_eq!(super::field("nginx"), "nginx");
    }
}
