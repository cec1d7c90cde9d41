//! A unified diff of two texts, the format of `diff -u`.
//!
//! The book shows what each stage changed as a unified diff. It is written
//! here rather than by running `diff(1)`, so that the committed diffs do not
//! depend on which `diff` a machine has: two versions of GNU diff may break
//! a change into different hunks, and the test that compares the committed
//! diffs with the sources would then fail on one machine and pass on the
//! other.
//!
//! The edit script is the shortest one (Myers, "An O(ND) Difference
//! Algorithm and Its Variations", 1986), with deletions before insertions
//! inside a changed block, as GNU diff prints them; the hunks carry three
//! lines of context, and two changes at most six lines apart share a hunk.
//!
//! The book gives it the stages without their mdBook anchor lines
//! ([`crate::stage_source`]); this module itself compares any two texts.

use std::fmt::Write as _;

/// Lines of unchanged text shown around each change (`diff -u` shows 3).
pub const CONTEXT_LINES: usize = 3;

/// One step of an edit script that turns the old lines into the new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    /// Old line `.0` and new line `.1` are the same.
    Keep(usize, usize),
    /// Old line `.0` is removed.
    Remove(usize),
    /// New line `.0` is added.
    Add(usize),
}

/// The unified diff that turns `old` into `new`, with `old_label` and
/// `new_label` on the `---` and `+++` lines (as `diff -u --label`). Two
/// equal texts give an empty string, as `diff` prints nothing for them.
pub fn unified_diff(old_label: &str, old: &str, new_label: &str, new: &str) -> String {
    let old_lines = split_lines(old);
    let new_lines = split_lines(new);
    let edits = shortest_edit_script(&old_lines, &new_lines);
    let hunks = group_into_hunks(&edits);
    if hunks.is_empty() {
        return String::new();
    }
    let mut out = format!("--- {old_label}\n+++ {new_label}\n");
    for hunk in hunks {
        write_hunk(&mut out, &edits[hunk.0..hunk.1], &old_lines, &new_lines);
    }
    out
}

/// Lines with their line ends kept, so that a last line without a newline
/// differs from the same line with one, as it does for `diff`.
fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Myers' greedy algorithm: for each number of edits `d`, the furthest
/// point reachable on each diagonal `k = x - y`; the first `d` that reaches
/// the end is the length of the shortest script. The saved rows of
/// furthest points let us walk back from the end and read the script.
fn shortest_edit_script(old: &[&str], new: &[&str]) -> Vec<Edit> {
    let old_count = old.len() as isize;
    let new_count = new.len() as isize;
    let most_edits = old_count + new_count;
    // Diagonal k is stored at index k + offset; k runs from -d-1 to d+1.
    let offset = most_edits + 1;
    let mut furthest = vec![0isize; 2 * most_edits as usize + 3];
    let mut rows: Vec<Vec<isize>> = Vec::new();

    'search: for edit_count in 0..=most_edits {
        rows.push(furthest.clone());
        for diagonal in (-edit_count..=edit_count).step_by(2) {
            let index = (diagonal + offset) as usize;
            let mut x = if comes_from_above(&furthest, diagonal, edit_count, offset) {
                furthest[index + 1] // an addition: move down from diagonal k+1
            } else {
                furthest[index - 1] + 1 // a removal: move right from diagonal k-1
            };
            let mut y = x - diagonal;
            while x < old_count && y < new_count && old[x as usize] == new[y as usize] {
                x += 1;
                y += 1;
            }
            furthest[index] = x;
            if x >= old_count && y >= new_count {
                break 'search;
            }
        }
    }

    let mut edits = Vec::new();
    let (mut x, mut y) = (old_count, new_count);
    for (edit_count, row) in rows.iter().enumerate().rev() {
        let edit_count = edit_count as isize;
        let diagonal = x - y;
        let previous_diagonal = if comes_from_above(row, diagonal, edit_count, offset) {
            diagonal + 1
        } else {
            diagonal - 1
        };
        let previous_x = row[(previous_diagonal + offset) as usize];
        let previous_y = previous_x - previous_diagonal;
        while x > previous_x && y > previous_y {
            x -= 1;
            y -= 1;
            edits.push(Edit::Keep(x as usize, y as usize));
        }
        if edit_count > 0 {
            if x == previous_x {
                edits.push(Edit::Add(previous_y as usize));
            } else {
                edits.push(Edit::Remove(previous_x as usize));
            }
        }
        x = previous_x;
        y = previous_y;
    }
    edits.reverse();
    edits
}

/// Whether the best path to diagonal `diagonal` after `edit_count` edits
/// comes down from diagonal `diagonal + 1` (an addition) rather than right
/// from `diagonal - 1` (a removal). On a tie, the removal wins, so removed
/// lines come before added ones.
fn comes_from_above(furthest: &[isize], diagonal: isize, edit_count: isize, offset: isize) -> bool {
    let index = (diagonal + offset) as usize;
    diagonal == -edit_count || (diagonal != edit_count && furthest[index - 1] < furthest[index + 1])
}

/// The ranges of `edits` that make the hunks: each change with up to
/// [`CONTEXT_LINES`] kept lines around it, and changes closer than twice
/// that merged into one hunk.
fn group_into_hunks(edits: &[Edit]) -> Vec<(usize, usize)> {
    let changes: Vec<usize> = edits
        .iter()
        .enumerate()
        .filter(|(_, edit)| !matches!(edit, Edit::Keep(..)))
        .map(|(position, _)| position)
        .collect();
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for position in changes {
        let start = position.saturating_sub(CONTEXT_LINES);
        let end = (position + 1 + CONTEXT_LINES).min(edits.len());
        match hunks.last_mut() {
            // Overlapping or touching context: one hunk.
            Some(last) if start <= last.1 => last.1 = end,
            _ => hunks.push((start, end)),
        }
    }
    hunks
}

fn write_hunk(out: &mut String, hunk: &[Edit], old: &[&str], new: &[&str]) {
    let old_lines: Vec<usize> = hunk
        .iter()
        .filter_map(|edit| match edit {
            Edit::Keep(line, _) | Edit::Remove(line) => Some(*line),
            Edit::Add(_) => None,
        })
        .collect();
    let new_lines: Vec<usize> = hunk
        .iter()
        .filter_map(|edit| match edit {
            Edit::Keep(_, line) | Edit::Add(line) => Some(*line),
            Edit::Remove(_) => None,
        })
        .collect();
    let old_start = first_line_number(&old_lines);
    let new_start = first_line_number(&new_lines);
    let _ = writeln!(
        out,
        "@@ -{} +{} @@",
        range_text(old_start, old_lines.len()),
        range_text(new_start, new_lines.len())
    );
    for edit in hunk {
        let (marker, line) = match *edit {
            Edit::Keep(line, _) => (' ', old[line]),
            Edit::Remove(line) => ('-', old[line]),
            Edit::Add(line) => ('+', new[line]),
        };
        out.push(marker);
        out.push_str(line);
        if !line.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    }
}

/// The 1-based number of the hunk's first line on one side. A side with no
/// line in the hunk is an empty file (any other file would give the hunk
/// context lines), and `diff -u` numbers it 0: `@@ -0,0 +1 @@`.
fn first_line_number(lines: &[usize]) -> usize {
    lines.first().map_or(0, |first| first + 1)
}

/// `start,count`, or `start` alone when the count is 1, as `diff -u` writes.
fn range_text(start: usize, count: usize) -> String {
    if count == 1 {
        start.to_string()
    } else {
        format!("{start},{count}")
    }
}

/// Applies a unified diff written by [`unified_diff`] to `old`. The book's
/// tests use it to prove that a diff really turns one stage into the next.
pub fn apply(old: &str, diff: &str) -> Result<String, String> {
    let old_lines = split_lines(old);
    let mut result = String::new();
    let mut next_old_line = 0usize; // 0-based index of the next unread old line
    let mut lines = diff.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        if line.starts_with("--- ") || line.starts_with("+++ ") {
            continue;
        }
        let Some(header) = line.strip_prefix("@@ -") else {
            return Err(format!("expected a hunk header, found {line:?}"));
        };
        let old_range = header.split(' ').next().unwrap_or_default();
        let old_start: usize = old_range
            .split(',')
            .next()
            .and_then(|start| start.parse().ok())
            .ok_or_else(|| format!("bad hunk header {line:?}"))?;
        let old_count: usize = match old_range.split_once(',') {
            Some((_, count)) => count.parse().map_err(|_| format!("bad hunk {line:?}"))?,
            None => 1,
        };
        // An empty old side names the line *before* the hunk.
        let hunk_first = if old_count == 0 {
            old_start
        } else {
            old_start - 1
        };
        if hunk_first < next_old_line || hunk_first > old_lines.len() {
            return Err(format!("hunk {line:?} out of order or out of range"));
        }
        for unchanged in &old_lines[next_old_line..hunk_first] {
            result.push_str(unchanged);
        }
        next_old_line = hunk_first;
        while let Some(body) = lines.peek() {
            if body.starts_with("@@ ") {
                break;
            }
            let body = lines.next().unwrap_or_default();
            let (marker, text) = body.split_at(1);
            let text = if lines.peek() == Some(&"\\ No newline at end of file\n") {
                lines.next();
                text.strip_suffix('\n').unwrap_or(text)
            } else {
                text
            };
            match marker {
                " " | "-" => {
                    if old_lines.get(next_old_line) != Some(&text) {
                        return Err(format!(
                            "old line {} does not match {body:?}",
                            next_old_line + 1
                        ));
                    }
                    if marker == " " {
                        result.push_str(text);
                    }
                    next_old_line += 1;
                }
                "+" => result.push_str(text),
                _ => return Err(format!("unexpected diff line {body:?}")),
            }
        }
    }
    for unchanged in &old_lines[next_old_line..] {
        result.push_str(unchanged);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

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
