//! `cargo run -p book --bin translation-status [LANGUAGE]`: how far the
//! translation `po/LANGUAGE.po` is (zh-CN by default), page by page: its
//! messages, how many are translated or fuzzy, and the English words left.
//! `bash po/i18n.sh status` runs it.

use std::process;

use book::translation;

fn main() {
    let language = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "zh-CN".to_owned());
    let name = format!("po/{language}.po");
    match translation::read_po(&book::workspace_root().join(&name), &name) {
        Ok(po) => print!("{}", translation::status_table(&po)),
        Err(err) => {
            eprintln!("translation-status: {err}");
            process::exit(1);
        }
    }
}
