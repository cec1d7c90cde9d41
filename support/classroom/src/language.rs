//! The learner's language. Each exercise has its statement and hint in
//! English (`README.md`, `hint.md`) and in Chinese (`README.zh-CN.md`,
//! `hint.zh-CN.md`); `cargo ex` points a learner to the files of their
//! language and prints their hint, and says in it the few lines of its own
//! that lead there (what to read next, how to get more of a hint). The
//! checks' reports stay English.

use anyhow::{bail, Result};

/// A language `cargo ex` speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    English,
    Chinese,
}

impl Language {
    /// `--lang` if given (`en`, `zh-CN`, `zh`, `zh_CN`), else the locale:
    /// the first of `LC_ALL`, `LC_MESSAGES` and `LANG` that is set and not
    /// empty, the order in which POSIX reads them; Chinese when it starts
    /// with `zh`.
    pub fn choose(
        option: Option<&str>,
        variable: impl Fn(&str) -> Option<String>,
    ) -> Result<Language> {
        if let Some(option) = option {
            return match option.to_ascii_lowercase().replace('_', "-").as_str() {
                "en" | "en-us" | "en-gb" | "english" => Ok(Language::English),
                "zh" | "zh-cn" | "zh-hans" | "chinese" => Ok(Language::Chinese),
                _ => bail!("--lang {option}: the exercises are in en and zh-CN"),
            };
        }
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .find_map(|name| variable(name).filter(|value| !value.is_empty()))
            .unwrap_or_default();
        Ok(if locale.starts_with("zh") {
            Language::Chinese
        } else {
            Language::English
        })
    }

    /// The language of this process: `option`, or its environment.
    pub fn of_learner(option: Option<&str>) -> Result<Language> {
        Language::choose(option, |name| std::env::var(name).ok())
    }

    /// The statement's file name in an exercise's folder.
    pub fn statement(self) -> &'static str {
        match self {
            Language::English => "README.md",
            Language::Chinese => "README.zh-CN.md",
        }
    }

    /// The hint's file name in an exercise's folder.
    pub fn hint(self) -> &'static str {
        match self {
            Language::English => "hint.md",
            Language::Chinese => "hint.zh-CN.md",
        }
    }

    /// The heading line that opens a hint's second level (its start).
    pub fn more_heading(self) -> &'static str {
        match self {
            Language::English => "## More",
            Language::Chinese => "## 更多",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(option: Option<&str>, environment: &[(&str, &str)]) -> String {
        let found = Language::choose(option, |name| {
            environment
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        });
        match found {
            Ok(language) => format!("{language:?}"),
            Err(err) => format!("error: {err}"),
        }
    }

    #[test]
    fn the_locale_chooses_unless_the_option_does() {
        assert_eq!(choose(None, &[]), "English");
        assert_eq!(choose(None, &[("LANG", "zh_CN.UTF-8")]), "Chinese");
        assert_eq!(choose(None, &[("LANG", "en_US.UTF-8")]), "English");
        assert_eq!(
            choose(
                None,
                &[("LANG", "en_US.UTF-8"), ("LC_MESSAGES", "zh_TW.UTF-8")]
            ),
            "Chinese"
        );
        assert_eq!(
            choose(None, &[("LANG", "zh_CN.UTF-8"), ("LC_ALL", "C")]),
            "English",
            "LC_ALL wins"
        );
        assert_eq!(
            choose(None, &[("LC_ALL", ""), ("LANG", "zh_CN.UTF-8")]),
            "Chinese",
            "an empty variable is not set"
        );
        assert_eq!(choose(Some("zh-CN"), &[("LANG", "C")]), "Chinese");
        assert_eq!(choose(Some("zh_cn"), &[]), "Chinese");
        assert_eq!(choose(Some("en"), &[("LANG", "zh_CN.UTF-8")]), "English");
        assert!(choose(Some("fr"), &[]).starts_with("error: --lang fr"));
    }
}
