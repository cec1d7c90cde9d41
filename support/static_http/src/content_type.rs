//! The `Content-Type` of a file, from its extension.
//!
//! The course sends no `Content-Type` at all, and browsers then guess from
//! the bytes ("sniffing"): a stylesheet may be refused, a script treated as
//! text. A production server reads a full table (nginx's `mime.types`); these
//! are the types a small static site uses.

use std::path::Path;

/// What a file of unknown type is sent as: bytes, no promise. Browsers
/// offer to download it rather than display it.
pub const UNKNOWN: &str = "application/octet-stream";

/// The `Content-Type` for `path`, by its extension, case-insensitively.
pub fn for_path(path: &Path) -> &'static str {
    let Some(extension) = path.extension().and_then(|extension| extension.to_str()) else {
        return UNKNOWN;
    };
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        // RFC 9239: text/javascript is the one registered type for scripts.
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        _ => UNKNOWN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_types_of_a_small_site() {
        for (name, expected) in [
            ("index.html", "text/html; charset=utf-8"),
            ("INDEX.HTM", "text/html; charset=utf-8"),
            ("site.css", "text/css; charset=utf-8"),
            ("app.js", "text/javascript; charset=utf-8"),
            ("data.json", "application/json"),
            ("notes.txt", "text/plain; charset=utf-8"),
            ("logo.png", "image/png"),
            ("photo.JPG", "image/jpeg"),
            ("photo.jpeg", "image/jpeg"),
            ("anim.gif", "image/gif"),
            ("logo.svg", "image/svg+xml"),
            ("favicon.ico", "image/x-icon"),
            ("module.wasm", "application/wasm"),
            ("archive.tar.gz", UNKNOWN),
            ("Makefile", UNKNOWN),
            (".hidden", UNKNOWN),
        ] {
            assert_eq!(for_path(Path::new(name)), expected, "{name}");
        }
    }
}
