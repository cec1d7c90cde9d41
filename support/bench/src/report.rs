//! The results of a run and the three files they are written to:
//! `results.json` (everything, every run), `results.csv` (one line per
//! row, for a spreadsheet) and `results.md` (the tables, which the book's
//! performance chapter includes). The files hold measurements and the
//! conditions they were taken in; what the figures mean is the book's.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::conditions::Conditions;
use crate::measure::Row;
use crate::profile::Profile;
use crate::targets::{Outcome, Target};

/// Everything a run measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// When, where, with what.
    pub conditions: Conditions,
    /// One per workload and server, in the order they ran.
    pub rows: Vec<Row>,
    /// The targets, met or not.
    pub targets: Vec<Target>,
    /// Where the servers that missed a target spend their time.
    pub profiles: Vec<Profile>,
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// `results.md`: the conditions, the table, the targets, the profiles.
pub fn markdown(results: &Results) -> String {
    let mut text = String::new();
    let conditions = &results.conditions;
    // Written with `let _ =`: writing to a String cannot fail.
    // The book's performance chapter includes this file, so the pointer to
    // it is a comment: visible in the source, not in the chapter itself.
    text.push_str(
        "<!-- Written by bench (support/bench) from results.json. What the figures \
         mean is the book's: docs/src/performance.md. -->\n\n\
         Written by `cargo run --release -p bench`, which replaces this file, \
         results.json and results.csv at each run.\n\n",
    );
    text.push_str("## Conditions\n\n");
    if let Some(note) = &conditions.note {
        let _ = writeln!(text, "- **{note}**");
    }
    let _ = writeln!(text, "- date: {}", conditions.date);
    let _ = writeln!(text, "- machine: {}", conditions.machine);
    let _ = writeln!(
        text,
        "- load average before / after: {} / {}",
        conditions.load_average_before, conditions.load_average_after
    );
    let _ = writeln!(text, "- tools: {}", conditions.tools.join("; "));
    let _ = writeln!(text, "- {}", conditions.method);
    for line in &conditions.how_measured {
        let _ = writeln!(text, "- {line}");
    }
    text.push_str("\n## Measurements\n\n");
    text.push_str(
        "| workload | server | requests/s | vs nginx | errors | peak RSS | CPU s/run = user + sys | detail (median run) |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n",
    );
    for row in &results.rows {
        let (rate, vs) = if row.rate_is_meaningful {
            let vs = row
                .vs_nginx
                .map_or("-".to_owned(), |vs| format!("{vs:.2}x"));
            (format!("{:.0}", row.requests_per_s), vs)
        } else {
            ("-".to_owned(), "-".to_owned())
        };
        let _ = writeln!(
            text,
            "| {} | {} | {rate} | {vs} | {} | {} | {:.2} = {:.2} + {:.2} | {} |",
            row.workload,
            row.server,
            row.errors,
            mib(row.peak_rss_kib),
            row.cpu.total(),
            row.cpu.user,
            row.cpu.system,
            row.detail()
        );
    }
    per_request(&mut text, &results.rows);
    text.push_str("\n## Targets\n\n| target | result | measured |\n| --- | --- | --- |\n");
    for target in &results.targets {
        let result = match (target.outcome, target.missed_by_percent) {
            (Outcome::Met, _) => "met".to_owned(),
            (Outcome::Missed, Some(percent)) => format!("MISSED by {percent:.0}%"),
            (Outcome::Missed, None) => "MISSED".to_owned(),
            (Outcome::NotMeasured, _) => "not measured".to_owned(),
        };
        let _ = writeln!(
            text,
            "| {} | {result} | {} |",
            target.target, target.measured
        );
    }
    if !results.profiles.is_empty() {
        text.push_str("\n## Profiles of the missed targets\n");
        for profile in &results.profiles {
            let requests = profile
                .requests
                .map_or(String::new(), |requests| format!(", {requests} requests"));
            let on = profile
                .workload
                .as_ref()
                .map_or(String::new(), |workload| format!(" on {workload}"));
            let _ = write!(
                text,
                "\n### {}{on}: {}{requests}\n\n```text\n{}\n```\n",
                profile.server,
                profile.tool,
                profile.summary.trim_end()
            );
        }
    }
    text
}

/// The table of what each request cost, for the rows where that means
/// something (none in results written before it was measured).
fn per_request(text: &mut String, rows: &[Row]) {
    let measured: Vec<&Row> = rows
        .iter()
        .filter(|row| row.server_us_per_request.is_some())
        .collect();
    if measured.is_empty() {
        return;
    }
    text.push_str(
        "\n## Per request\n\n\
         | workload | server | cores: server / load | requests/s | CPU s/run: server + load tool | \
         CPU us/request: server + load tool | load tool's share | system calls/request (top 3) |\n\
         | --- | --- | --- | ---: | ---: | ---: | ---: | --- |\n",
    );
    let optional = |value: Option<f64>, decimals: usize| {
        value.map_or("-".to_owned(), |value| format!("{value:.decimals$}"))
    };
    for row in measured {
        let cores = if row.shared_cores {
            "all, shared".to_owned()
        } else {
            "0 / 1".to_owned()
        };
        let load_cpu = row.load_cpu.map(|cpu| cpu.total());
        let share = row
            .load_share()
            .map_or("-".to_owned(), |share| format!("{:.0}%", share * 100.0));
        let calls = row
            .system_calls
            .as_ref()
            .map_or("-".to_owned(), |calls| calls.summary(3));
        let _ = writeln!(
            text,
            "| {} | {} | {cores} | {:.0} | {:.2} + {} | {} + {} | {share} | {calls} |",
            row.workload,
            row.server,
            row.requests_per_s,
            row.cpu.total(),
            optional(load_cpu, 2),
            optional(row.server_us_per_request, 1),
            optional(row.load_us_per_request, 1),
        );
    }
}

/// `results.csv`: one line per row, the median run's figures.
pub fn csv(results: &Results) -> String {
    let mut text = String::from(
        "workload,server,tool,requests_per_s,vs_nginx,errors,peak_rss_kib,\
         cpu_user_s,cpu_system_s,answered,seconds,p99_ms,server_died,\
         workers,shared_cores,load_cpu_user_s,load_cpu_system_s,\
         server_us_per_request,load_us_per_request,system_calls_per_request\n",
    );
    let optional = |value: Option<f64>| value.map_or(String::new(), |value| format!("{value:.3}"));
    for row in &results.rows {
        let run = &row.median_run;
        let fields = [
            testkit::csv::field(&row.workload),
            testkit::csv::field(&row.server),
            row.tool.name().to_owned(),
            format!("{:.1}", row.requests_per_s),
            optional(row.vs_nginx),
            row.errors.to_string(),
            row.peak_rss_kib.to_string(),
            format!("{:.2}", row.cpu.user),
            format!("{:.2}", row.cpu.system),
            run.answered.to_string(),
            format!("{:.3}", run.seconds),
            optional(run.p99_ms),
            row.server_died.to_string(),
            row.workers.to_string(),
            row.shared_cores.to_string(),
            optional(row.load_cpu.map(|cpu| cpu.user)),
            optional(row.load_cpu.map(|cpu| cpu.system)),
            optional(row.server_us_per_request),
            optional(row.load_us_per_request),
            optional(
                row.system_calls
                    .as_ref()
                    .and_then(|calls| calls.per_request()),
            ),
        ];
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    text
}

/// Writes results.json, results.csv and results.md into `directory`.
pub fn write_all(results: &Results, directory: &Path) -> Result<()> {
    fs::create_dir_all(directory)
        .with_context(|| format!("cannot create {}", directory.display()))?;
    let json = serde_json::to_string_pretty(results)? + "\n";
    for (name, contents) in [
        ("results.json", json),
        ("results.csv", csv(results)),
        ("results.md", markdown(results)),
    ] {
        let path = directory.join(name);
        fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

pub fn read_json(path: &Path) -> Result<Results> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not bench's results", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::{compare_with_nginx, Run};
    use crate::servers::{Server, EPOLL_EDGE};
    use crate::syscalls::SystemCalls;
    use crate::usage::CpuSeconds;
    use crate::workloads::{parse_loadgen, parse_wrk, plan, Kind, LoadResult, Settings};
    use clap::ValueEnum;

    fn server(name: &str) -> Server {
        Server::from_name(name).unwrap()
    }

    fn example() -> Results {
        let workloads = plan(&Settings::smoke(), Kind::value_variants(), Server::all());
        let close = &workloads[0];
        let keep_alive = &workloads[1];
        let idle = workloads.last().unwrap();
        let loadgen = parse_loadgen(include_str!("../samples/loadgen-close.txt")).unwrap();
        let wrk = parse_wrk(include_str!("../samples/wrk-small.txt")).unwrap();
        let cpu = CpuSeconds {
            user: 0.25,
            system: 0.5,
        };
        let run = |load: &LoadResult, rate: f64| Run {
            load: LoadResult {
                requests_per_s: rate,
                ..load.clone()
            },
            cpu,
            load_cpu: Some(CpuSeconds {
                user: 0.125,
                system: 0.125,
            }),
        };
        let mut rows = vec![
            Row::from_runs(
                close,
                server("webserver3a"),
                vec![run(&loadgen, 2000.0)],
                2048,
                false,
            )
            .unwrap(),
            Row::from_runs(
                close,
                Server::nginx(),
                vec![run(&loadgen, 1000.0)],
                10956,
                false,
            )
            .unwrap(),
            Row::from_runs(
                keep_alive,
                server(EPOLL_EDGE),
                vec![run(&wrk, 3.0), run(&wrk, 1.0), run(&wrk, 2.0)],
                2662,
                true,
            )
            .unwrap(),
            Row::from_runs(
                idle,
                Server::nginx(),
                vec![run(&loadgen, 50.0)],
                10956,
                false,
            )
            .unwrap(),
        ];
        rows[2].system_calls = Some(SystemCalls {
            requests: 25570,
            calls: crate::syscalls::parse_strace_summary(include_str!(
                "../samples/strace-c-epoll-edge.txt"
            ))
            .unwrap(),
        });
        rows[2].shared_cores = true;
        compare_with_nginx(&mut rows);
        let targets = crate::targets::evaluate(&rows);
        Results {
            conditions: Conditions {
                date: "2026-11-23 21:31 UTC".into(),
                machine: "2 cores (AMD EPYC), kernel 6.18.44, 24105 MiB memory".into(),
                load_average_before: "0.43 1.03 1.15".into(),
                load_average_after: "0.89 1.31 1.28".into(),
                tools: vec!["wrk 4.1.0".into(), "loadgen 0.1.0".into()],
                method: "each row: a fresh server, 1 run".into(),
                how_measured: vec!["server CPU and peak RSS: all the server's processes".into()],
                note: Some("smoke run".into()),
            },
            rows,
            targets,
            profiles: vec![Profile {
                server: "epoll_server-edge".into(),
                workload: Some("keep-alive, 1 MiB".into()),
                tool: "system calls, strace -c -f".into(),
                requests: Some(3406),
                summary: "% time     seconds  usecs/call     calls    errors syscall\n".into(),
            }],
        }
    }

    #[test]
    fn a_row_keeps_the_median_run_and_sums_the_errors() {
        let workloads = plan(&Settings::smoke(), &[Kind::KeepAlive], &[Server::nginx()]);
        let wrk = parse_wrk(include_str!("../samples/wrk-small.txt")).unwrap();
        // Rates 3, 1, 2 with 1, 0, 2 errors; CPU totals 0.9, 0.1, 0.5.
        let runs: Vec<Run> = [(3.0, 1, 0.9), (1.0, 0, 0.1), (2.0, 2, 0.5)]
            .into_iter()
            .map(|(rate, errors, system)| Run {
                load: LoadResult {
                    requests_per_s: rate,
                    errors,
                    ..wrk.clone()
                },
                cpu: CpuSeconds { user: 0.0, system },
                load_cpu: None,
            })
            .collect();
        let row = Row::from_runs(&workloads[0], Server::nginx(), runs, 10956, false).unwrap();
        assert_eq!(row.requests_per_s, 2.0);
        assert_eq!(row.median_run.requests_per_s, 2.0);
        assert_eq!(row.median_run.errors, 2);
        assert_eq!(row.errors, 3);
        assert_eq!(row.cpu.system, 0.5);
        assert_eq!(row.runs.len(), 3);
    }

    #[test]
    fn ratios_to_nginx_on_the_same_workload_only() {
        let results = example();
        assert_eq!(results.rows[0].vs_nginx, Some(2.0));
        assert_eq!(results.rows[1].vs_nginx, Some(1.0));
        // nginx did not run keep-alive in this example; idle has no rate.
        assert_eq!(results.rows[2].vs_nginx, None);
        assert_eq!(results.rows[3].vs_nginx, None);
    }

    #[test]
    fn the_markdown_table() {
        let text = markdown(&example());
        assert!(
            text.contains("- **smoke run**\n- date: 2026-11-23 21:31 UTC\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "| close, hello | webserver3a | 2000 | 2.00x | 0 | 2.0 MiB | 0.75 = 0.25 + 0.50 | 18699/18699 answered in 1.000s, p99 0.472ms |\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("| keep-alive, 200 B | epoll_server-edge | 2 | - | 0 | 2.6 MiB"),
            "{text}"
        );
        assert!(
            text.contains("| 37468 requests, p99 19.320ms; SERVER DIED |"),
            "{text}"
        );
        assert!(
            text.contains("| idle, 100 x 1s | nginx | - | - |"),
            "{text}"
        );
        assert!(
            text.contains("- server CPU and peak RSS: all the server's processes\n"),
            "{text}"
        );
        // What each request cost: 0.75 s over 18,699 requests is 40.1 us
        // of the server's, 0.25 s, 13.4 us of the load tool's, a quarter.
        assert!(
            text.contains(
                "| close, hello | webserver3a | 0 / 1 | 2000 | 0.75 + 0.25 | 40.1 + 13.4 | 25% | - |\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "| keep-alive, 200 B | epoll_server-edge | all, shared | 2 | 0.75 + 0.25 | 20.0 + 6.7 | 25% | 2.58: recvfrom 1.53, sendto 1.00, epoll_wait 0.03 |\n"
            ),
            "{text}"
        );
        // Idle: no rate, so nothing per request.
        assert!(!text.contains("| idle, 100 x 1s | nginx | 0 / 1"), "{text}");
        assert!(text.contains("\n### epoll_server-edge on keep-alive, 1 MiB: system calls, strace -c -f, 3406 requests\n\n```text\n% time"), "{text}");
        // The book includes this file: no mdBook directive may be in it.
        assert!(!text.contains("{{#"));
    }

    #[test]
    fn csv_quotes_the_labels_with_commas() {
        let text = csv(&example());
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap().split(',').count(), 20);
        assert_eq!(
            lines.next().unwrap(),
            "\"close, hello\",webserver3a,loadgen,2000.0,2.000,0,2048,0.25,0.50,18699,1.000,0.472,false,\
             1,false,0.125,0.125,40.109,13.370,"
        );
        assert!(lines
            .nth(1)
            .unwrap()
            .ends_with(",1,true,0.125,0.125,20.017,6.672,2.580"));
    }

    #[test]
    fn written_files_read_back_the_same() {
        let directory = tempfile::tempdir().unwrap();
        let results = example();
        write_all(&results, directory.path()).unwrap();
        assert_eq!(
            read_json(&directory.path().join("results.json")).unwrap(),
            results
        );
        let written = fs::read_to_string(directory.path().join("results.md")).unwrap();
        assert_eq!(written, markdown(&results));
        assert!(directory.path().join("results.csv").is_file());
    }
}
