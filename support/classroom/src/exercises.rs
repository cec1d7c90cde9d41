//! The exercises: stages.toml says which there are, this file which check
//! proves each.

use std::sync::OnceLock;

use common::manifest::manifest;

use crate::checks;
use crate::probe::Probe;

/// One exercise: a crate `exercises/NAME` (package `exNAME`), its check.
pub struct Exercise {
    /// The folder under exercises/, e.g. `11_reap_every_child`.
    pub name: &'static str,
    /// The lesson (and the book's chapter) it belongs to.
    pub stage: &'static str,
    /// What the check proves, in a few words.
    pub concept: &'static str,
    /// About how long a student needs, in minutes.
    pub minutes: u32,
    /// Starts the built binary and tries its behaviour.
    pub check: Check,
}

/// A check: `Err` holds the reason it failed, for the student.
pub type Check = fn(&Probe) -> Result<(), String>;

impl Exercise {
    /// The package and binary name: `ex` and the folder's name.
    pub fn package(&self) -> String {
        format!("ex{}", self.name)
    }
}

/// Every exercise, in the order to hand them out: stages.toml's, which is
/// the book's and the order of their numbers. What each is and its minutes come from stages.toml, its
/// check from [`check_of`].
pub fn exercises() -> &'static [Exercise] {
    static EXERCISES: OnceLock<Vec<Exercise>> = OnceLock::new();
    EXERCISES.get_or_init(|| {
        manifest()
            .exercises()
            .map(|(stage, exercise)| Exercise {
                name: &exercise.name,
                stage: &stage.crate_name,
                concept: &exercise.concept,
                minutes: exercise.minutes,
                check: check_of(&exercise.name).unwrap_or_else(|| {
                    panic!("stages.toml names {}, which has no check", exercise.name)
                }),
            })
            .collect()
    })
}

/// The check of the exercise `name`.
fn check_of(name: &str) -> Option<Check> {
    Some(match name {
        "01_socket_steps" => checks::socket_steps,
        "02_greet_by_name" => checks::greet_by_name,
        "04_wsgi_app" => checks::wsgi_app,
        "05_read_and_answer" => checks::read_and_answer,
        "06_sleep_after_answer" => checks::sleep_after_answer,
        "07_fork_per_client" => checks::fork_per_client,
        "08_close_parents_copy" => checks::close_parents_copy,
        "09_sigchld_handler" => checks::sigchld_handler,
        "10_restart_accept" => checks::restart_accept,
        "11_reap_every_child" => checks::reap_every_child,
        "12_client_connections" => checks::client_connections,
        "13_nonblock_loop" => checks::nonblock_loop,
        "15_epoll_edge" => checks::epoll_edge,
        "14_epoll_register" => checks::epoll_register,
        "03_read_whole_head" => checks::read_whole_head,
        "16_reuseport_workers" => checks::reuseport_workers,
        "17_uring_receive" => checks::uring_receive,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::fs;
    use std::path::{Path, PathBuf};

    use common::manifest::manifest;

    use super::{exercises, Exercise};

    #[test]
    fn every_exercise_in_stages_toml_has_a_check() {
        // exercises() panics naming an exercise without a check.
        assert_eq!(exercises().len(), manifest().exercises().count());
        assert!(exercises().len() >= 17, "the course's exercises, 01 to 17");
    }

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn lines_of(path: &Path) -> HashSet<String> {
        let text =
            fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        text.lines().map(|line| line.trim().to_owned()).collect()
    }

    fn starter(exercise: &Exercise) -> PathBuf {
        root()
            .join("exercises")
            .join(exercise.name)
            .join("src/main.rs")
    }

    /// The lines a student writes: the solution's code lines the starter
    /// lacks, long enough to be the answer rather than a brace or `Ok(())`.
    fn answer(exercise: &Exercise) -> Vec<String> {
        let given = lines_of(&starter(exercise));
        let solution = root()
            .join("exercises/solutions")
            .join(format!("{}.rs", exercise.name));
        let text = fs::read_to_string(&solution).expect("a solution");
        text.lines()
            .map(str::trim)
            .filter(|line| line.len() >= 24 && !line.starts_with("//") && !given.contains(*line))
            .map(str::to_owned)
            .collect()
    }

    /// A handout holds every starter, and the students do the exercises in
    /// the order handed out: no starter of an exercise handed out earlier,
    /// and no lesson crate of an earlier chapter, may hold the lines a
    /// later exercise asks for. (A lesson of the exercise's own chapter
    /// does: the instructors' page says to hand the exercise out before the
    /// chapter's code walk.)
    /// Exercises whose answer an earlier chapter shows on purpose, and the
    /// words with which the instructors' page says so.
    const REPEATS: &[(&str, &str)] = &[("05_read_and_answer", "05 is its warm-up")];

    #[test]
    fn no_starter_or_earlier_lesson_gives_a_later_answer_away() {
        let instructors = fs::read_to_string(root().join("docs/src/instructors.md"))
            .expect("the instructors' page");
        let stages: Vec<&str> = manifest()
            .stage
            .iter()
            .map(|stage| stage.crate_name.as_str())
            .collect();
        let chapter = |exercise: &Exercise| {
            stages
                .iter()
                .position(|stage| *stage == exercise.stage)
                .expect("a stage")
        };
        let mut leaks = Vec::new();
        for (index, later) in exercises().iter().enumerate() {
            if let Some((_, said)) = REPEATS.iter().find(|(name, _)| *name == later.name) {
                assert!(
                    instructors.contains(said),
                    "instructors.md must say {said:?}"
                );
                continue;
            }
            let answer = answer(later);
            let mut sources: Vec<(String, PathBuf)> = exercises()[..index]
                .iter()
                .map(|earlier| (format!("the starter of {}", earlier.name), starter(earlier)))
                .collect();
            for stage in &manifest().stage[..chapter(later)] {
                let mut files = vec![stage.main_source()];
                files.extend(
                    stage
                        .program
                        .iter()
                        .map(|program| stage.program_source(program)),
                );
                for file in files {
                    sources.push((format!("the lesson {file}"), root().join(&file)));
                }
            }
            for (what, path) in sources {
                let lines = lines_of(&path);
                let given: Vec<&String> =
                    answer.iter().filter(|line| lines.contains(*line)).collect();
                if given.len() >= 2 {
                    leaks.push(format!(
                        "{what} holds {} lines of {}'s answer: {given:?}",
                        given.len(),
                        later.name
                    ));
                }
            }
        }
        assert!(
            leaks.is_empty(),
            "answers given away:\n{}",
            leaks.join("\n")
        );
    }
}
