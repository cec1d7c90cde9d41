//! What may differ between two honest runs of the same experiment, and is
//! replaced by a placeholder before a fresh transcript is compared with the
//! book's. The book's files keep the real values of the run that wrote them;
//! only the comparison sees the placeholders.
//!
//! Replaced everywhere (`COMMON`, by kind): process IDs where they
//! appear as such, ports, times and dates, memory addresses and inode
//! numbers, who owns a file or sent a signal (root or you), curl's version
//! and its `*` lines (which differ between curl versions), runs of spaces
//! (column widths follow the widest value); and `ss` rows are sorted (the
//! kernel lists sockets in hash order).
//!
//! Each chapter adds what varies in its own experiment, such as how many
//! of 128 children were reaped (`Chapter::varies` in `chapters`).

use regex::Regex;

/// Replacements, in order, then runs of lines to sort.
pub struct Rules {
    replace: Vec<(Regex, String)>,
    sort_runs: Vec<Regex>,
}

const COMMON: &[(&str, &str)] = &[
    // Lines curl -v writes about the connection, which differ between versions.
    (r"(?m)^\*.*\n", ""),
    (r"curl/\d+(\.\d+)*", "curl/<version>"),
    // Times and dates.
    (
        r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT",
        "<date>",
    ),
    (r"[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}", "<date>"),
    (r"\b\d{2}:\d{2}:\d{2}\.\d{6}\b", "<time>"),
    (r"\b\d+m\d+\.\d+s\b", "<time>"),
    (r"\b\d+(\.\d+)? s\b", "<time> s"),
    (r"\b\d+ milliseconds\b", "<time> milliseconds"),
    // Addresses and inodes.
    (r"0x[0-9a-f]+", "0x<address>"),
    (r"socket:\[\d+\]", "socket:[<inode>]"),
    (
        r"(?m)^([-dlrwxsStT]{10}) +\d+ +\S+ +\S+",
        "$1 1 <owner> <group>",
    ),
    // Ports.
    (
        r"(127\.0\.0\.1|0\.0\.0\.0|localhost|\*|\]):\d+",
        "$1:<port>",
    ),
    (r"\bport \d+", "port <port>"),
    (r"htons\(\d+\)", "htons(<port>)"),
    (r"_PORT=\d+", "_PORT=<port>"),
    (r"\bPORT=[1-9]\d*", "PORT=<port>"),
    (r"/dev/tcp/127\.0\.0\.1/\d+", "/dev/tcp/127.0.0.1/<port>"),
    (r"port = :\d+", "port = :<port>"),
    (r"--port[= ]\d+", "--port=<port>"),
    // Process IDs.
    (r"\bpid=\d+", "pid=<pid>"),
    (r"\bPID:? \d+", "PID <pid>"),
    (r"\(PPID\): \d+", "(PPID): <pid>"),
    (r"\b(Pid|PPid|Tgid):(\s+)\d+", "$1:$2<pid>"),
    (r"\[pid +\d+\]", "[pid <pid>]"),
    (r"\bChild \d+ terminated", "Child <pid> terminated"),
    (r"\bProcess \d+ ", "Process <pid> "),
    (r"\bsi_pid=\d+", "si_pid=<pid>"),
    (r"\bsi_(utime|stime)=\d+", "si_$1=<time>"),
    (r"\bsi_uid=\d+", "si_uid=<uid>"),
    (r"pipe:\[\d+\]", "pipe:[<inode>]"),
    (r"/proc/\d+", "/proc/<pid>"),
    (r"--ppid \d+", "--ppid <pid>"),
    (r"-p \d+(,\d+)*", "-p <pid>"),
    (r"\bkill (-\w+ )?\d+", "kill $1<pid>"),
    (r"thread '([^']*)' \(\d+\)", "thread '$1' (<pid>)"),
    (
        r"(?m)^(.*\b(?:clone|clone3|wait4|vfork)\(.*\) += )\d+",
        "$1<pid>",
    ),
    (
        r"(?m)^ *\d+ +\d+ +([RSDZTIXW][A-Za-z+<]*) ",
        "<pid> <pid> $1 ",
    ),
    (
        r"(?m)^ *\d+ +([RSDZTIXW][A-Za-z+<]*) +(\S*/|\[)",
        "<pid> $1 $2",
    ),
    (r"(?m)^\d+ +([a-z_0-9]+\(|\+\+\+|---|<\.\.\.)", "<pid> $1"),
    // Column widths.
    (r"[ \t]+", " "),
    (r"(?m) +$", ""),
];

/// The rows of `ss`, which come in hash order.
const SS_ROW: &str = r"^(LISTEN|ESTAB|TIME-WAIT|CLOSE-WAIT|FIN-WAIT-1|FIN-WAIT-2|SYN-SENT|SYN-RECV|LAST-ACK|CLOSING) ";

impl Rules {
    /// The common rules, then the chapter's `extra` replacements (applied
    /// first, so that they see the real values), and the chapter's runs of
    /// lines to sort.
    pub fn new(extra: &[(&str, &str)], sort: &[&str]) -> Rules {
        let compile = |pattern: &str| {
            Regex::new(pattern).unwrap_or_else(|err| panic!("bad pattern {pattern}: {err}"))
        };
        let replace = extra
            .iter()
            .chain(COMMON)
            .map(|(pattern, with)| (compile(pattern), (*with).to_owned()))
            .collect();
        let sort_runs = sort.iter().copied().chain([SS_ROW]).map(compile).collect();
        Rules { replace, sort_runs }
    }

    pub fn apply(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (pattern, with) in &self.replace {
            text = pattern.replace_all(&text, with.as_str()).into_owned();
        }
        let mut lines: Vec<&str> = text.lines().collect();
        for pattern in &self.sort_runs {
            for run in lines.chunk_by_mut(|a, b| pattern.is_match(a) == pattern.is_match(b)) {
                if pattern.is_match(run[0]) {
                    run.sort();
                }
            }
        }
        lines.join("\n") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::Rules;

    #[test]
    fn replaces_pids_ports_and_times_but_not_the_lesson() {
        let rules = Rules::new(&[], &[]);
        let a = "Serving HTTP on port 41235 ...\nParent PID (PPID): 1234\n\
                 Child PID: 1240. Parent PID 1234\n  1240  1234 Z    [webserver3c] <defunct>\n\
                 Client recv: \"Hello, I'm server\" after waiting 2.0 s\n\
                 LISTEN 0 5 0.0.0.0:41235 0.0.0.0:* users:((\"webserver3a\",pid=1234,fd=3))\n\
                 accept: Too many open files (os error 24)\n";
        let b = "Serving HTTP on port 8888 ...\nParent PID (PPID): 77\n\
                 Child PID: 80. Parent PID 77\n    80    77 Z    [webserver3c] <defunct>\n\
                 Client recv: \"Hello, I'm server\" after waiting 2.1 s\n\
                 LISTEN 0   5   0.0.0.0:8888   0.0.0.0:*  users:((\"webserver3a\",pid=77,fd=3))\n\
                 accept: Too many open files (os error 24)\n";
        assert_eq!(rules.apply(a), rules.apply(b));
        let changed = b.replace("Too many", "Too few");
        assert_ne!(rules.apply(a), rules.apply(&changed));
        let changed = b.replace("fd=3", "fd=4");
        assert_ne!(rules.apply(a), rules.apply(&changed));
    }

    #[test]
    fn sorts_ss_rows_and_chapter_runs() {
        let rules = Rules::new(&[], &["^client "]);
        let a = "ESTAB 0 0 127.0.0.1:1 127.0.0.1:2\nLISTEN 0 5 0.0.0.0:1 0.0.0.0:*\nclient 2: connection 1\nclient 1: connection 1\n";
        let b = "LISTEN 0 5 0.0.0.0:3 0.0.0.0:*\nESTAB 0 0 127.0.0.1:3 127.0.0.1:4\nclient 1: connection 1\nclient 2: connection 1\n";
        assert_eq!(rules.apply(a), rules.apply(b));
    }
}
