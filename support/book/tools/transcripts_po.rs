//! `cargo run -p book --bin transcripts-po -- extract [LANGUAGE]`: writes
//! `po/transcripts/LANGUAGE.po` (zh-CN by default) from the transcripts'
//! narration (`docs/src/transcripts/*.txt`), keeping the translations of
//! the paragraphs still there.
//!
//! `… -- apply OUT_DIR [LANGUAGE]`: writes each transcript into `OUT_DIR`
//! with its narration translated (a paragraph without a translation stays
//! English). `bash po/i18n.sh extract` and `build` run them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process;

use book::{transcripts, translation};

fn run(args: &[String]) -> Result<(), String> {
    let source = book::book_source().join("transcripts");
    let read = |directory: &Path| {
        transcripts::read_transcripts(directory)
            .map_err(|err| format!("{}: {err}", directory.display()))
    };
    match args {
        [verb, rest @ ..] if verb == "extract" && rest.len() <= 1 => {
            let language = rest.first().map_or("zh-CN", String::as_str);
            let name = format!("po/transcripts/{language}.po");
            let path = book::workspace_root().join(&name);
            let old = if path.exists() {
                translation::read_po(&path, &name)?
            } else {
                translation::PoFile {
                    name,
                    messages: Vec::new(),
                }
            };
            let text = transcripts::extract(language, &read(&source)?, &old);
            let name = old.name;
            if fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
                println!("{name}: unchanged");
            } else {
                fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
                    .and_then(|()| fs::write(&path, &text))
                    .map_err(|err| format!("{name}: {err}"))?;
                println!(
                    "{name}: written, {} messages",
                    text.matches("\nmsgid ").count()
                );
            }
            Ok(())
        }
        [verb, out, rest @ ..] if verb == "apply" && rest.len() <= 1 => {
            let language = rest.first().map_or("zh-CN", String::as_str);
            let name = format!("po/transcripts/{language}.po");
            let po = translation::read_po(&book::workspace_root().join(&name), &name)?;
            let translations = transcripts::translations(&po);
            let out = PathBuf::from(out);
            fs::create_dir_all(&out).map_err(|err| format!("{}: {err}", out.display()))?;
            for (file, text) in read(&source)? {
                let path = out.join(file.trim_start_matches("transcripts/"));
                fs::write(&path, transcripts::apply(&text, &translations))
                    .map_err(|err| format!("{}: {err}", path.display()))?;
            }
            Ok(())
        }
        _ => Err("usage: transcripts-po extract [LANGUAGE] | apply OUT_DIR [LANGUAGE]".to_owned()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(err) = run(&args) {
        eprintln!("transcripts-po: {err}");
        process::exit(1);
    }
}
