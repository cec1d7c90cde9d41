//! A unified diff of two texts, the format of `diff -u`, written by the
//! `similar` crate.
//!
//! The book shows what each stage changed as a unified diff. It is written
//! here rather than by running `diff(1)`, so that the committed diffs do not
//! depend on which `diff` a machine has: two versions of GNU diff may break
//! a change into different hunks, and the test that compares the committed
//! diffs with the sources would then fail on one machine and pass on the
//! other. The version of `similar` is pinned by Cargo.lock.
//!
//! The book gives it the stages without their mdBook anchor lines
//! ([`crate::stage_source`]); this module itself compares any two texts.

use similar::TextDiff;

/// Lines of unchanged text shown around each change (`diff -u` shows 3).
pub const CONTEXT_LINES: usize = 3;

/// The unified diff that turns `old` into `new`, with `old_label` and
/// `new_label` on the `---` and `+++` lines (as `diff -u --label`). Two
/// equal texts give an empty string, as `diff` prints nothing for them.
pub fn unified_diff(old_label: &str, old: &str, new_label: &str, new: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header(old_label, new_label)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `diff` applied to `old`, as another crate (diffy) reads the format.
    fn apply(old: &str, diff: &str) -> Result<String, String> {
        let patch = diffy::Patch::from_str(diff).map_err(|err| err.to_string())?;
        diffy::apply(old, &patch).map_err(|err| err.to_string())
    }

    fn numbered(lines: std::ops::Range<usize>) -> String {
        lines.map(|number| format!("line {number}\n")).collect()
    }

    #[test]
    fn equal_texts_give_no_diff() {
        assert_eq!(unified_diff("a", "x\ny\n", "b", "x\ny\n"), "");
    }

    #[test]
    fn a_changed_line_has_three_lines_of_context() {
        let old = numbered(1..11);
        let new = old.replace("line 5\n", "line five\n");
        assert_eq!(
            unified_diff("a", &old, "b", &new),
            "--- a\n+++ b\n@@ -2,7 +2,7 @@\n line 2\n line 3\n line 4\n-line 5\n+line five\n line 6\n line 7\n line 8\n"
        );
    }

    #[test]
    fn changes_far_apart_make_two_hunks_and_near_ones_one() {
        let old = numbered(1..31);
        let far = old
            .replace("line 3\n", "line three\n")
            .replace("line 20\n", "line twenty\n");
        assert_eq!(
            unified_diff("a", &old, "b", &far).matches("@@ -").count(),
            2
        );
        let near = old
            .replace("line 3\n", "line three\n")
            .replace("line 9\n", "line nine\n");
        assert_eq!(
            unified_diff("a", &old, "b", &near).matches("@@ -").count(),
            1
        );
    }

    #[test]
    fn lines_added_at_the_top_are_numbered_from_zero() {
        let diff = unified_diff("a", "", "b", "new\n");
        assert_eq!(diff, "--- a\n+++ b\n@@ -0,0 +1 @@\n+new\n");
    }

    #[test]
    fn a_missing_final_newline_is_marked() {
        let diff = unified_diff("a", "x\n", "b", "x");
        assert_eq!(
            diff,
            "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+x\n\\ No newline at end of file\n"
        );
        assert_eq!(apply("x\n", &diff).unwrap(), "x");
    }

    #[test]
    fn removed_lines_come_before_added_ones() {
        let diff = unified_diff("a", "keep\nold\n", "b", "keep\nnew\n");
        assert!(diff.ends_with("-old\n+new\n"), "{diff}");
    }

    #[test]
    fn applying_the_diff_gives_the_new_text() {
        let old = numbered(1..60);
        let new = old
            .replace("line 1\n", "")
            .replace("line 10\n", "line 10\ninserted\nanother\n")
            .replace("line 30\n", "changed 30\n")
            .replace("line 59\n", "line 59\nat the end\n");
        let diff = unified_diff("a", &old, "b", &new);
        assert_eq!(apply(&old, &diff).unwrap(), new);
    }

    #[test]
    fn applying_a_diff_to_the_wrong_text_fails() {
        let diff = unified_diff("a", "one\ntwo\n", "b", "one\n2\n");
        assert!(apply("one\nthree\n", &diff).is_err());
    }
}
