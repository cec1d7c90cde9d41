//! The exercises: stages.toml says which there are, this file which check
//! proves each.

use std::sync::OnceLock;

use common::manifest::manifest;

use crate::checks;
use crate::probe::Probe;

/// One exercise: a crate `exercises/NAME` (package `exNAME`), its check.
pub struct Exercise {
    /// The folder under exercises/, e.g. `10_reap_every_child`.
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
/// the book's (15 comes after 02, 14 before 13; the numbers name, they do
/// not order). What each is and its minutes come from stages.toml, its
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
        "03_wsgi_app" => checks::wsgi_app,
        "04_read_and_answer" => checks::read_and_answer,
        "05_sleep_after_answer" => checks::sleep_after_answer,
        "06_fork_per_client" => checks::fork_per_client,
        "07_close_parents_copy" => checks::close_parents_copy,
        "08_sigchld_handler" => checks::sigchld_handler,
        "09_restart_accept" => checks::restart_accept,
        "10_reap_every_child" => checks::reap_every_child,
        "11_client_connections" => checks::client_connections,
        "12_nonblock_loop" => checks::nonblock_loop,
        "13_epoll_edge" => checks::epoll_edge,
        "14_epoll_register" => checks::epoll_register,
        "15_read_whole_head" => checks::read_whole_head,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_exercise_in_stages_toml_has_a_check() {
        assert_eq!(super::exercises().len(), 15);
    }
}
