//! The performance chapter's charts, drawn from the benchmark's results
//! (`support/bench/results.json`, written by `cargo run --release -p bench`)
//! as `docs/src/runs/bench-<name>.svg`.
//!
//! Each chart is a pure function of the results: `draw-figures` writes
//! them, and the book's tests fail when a committed chart is not what the
//! committed results give, so a new benchmark run cannot leave the chapter
//! showing the old one. Like the other figures, each is dark on a light
//! card (it reads the same in mdBook's light and dark themes), and its alt
//! text, made from the same numbers, is its `<title>` and the chapter's
//! `![alt](runs/bench-<name>.svg)`.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

/// Where the benchmark writes its results.
pub fn results_path() -> PathBuf {
    crate::workspace_root().join("support/bench/results.json")
}

/// Where the charts live, `docs/src/runs`, beside replay's figures of runs.
pub fn directory() -> PathBuf {
    crate::book_source().join("runs")
}

/// One chart: its file stem, its alt text and its SVG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// `bench-vs-nginx` for `docs/src/runs/bench-vs-nginx.svg`.
    pub name: String,
    /// The text alternative: what the chart shows, with its numbers.
    pub alt: String,
    /// The drawing.
    pub svg: String,
}

impl Chart {
    /// Its file's name: `<name>.svg`.
    pub fn file_name(&self) -> String {
        format!("{}.svg", self.name)
    }

    /// Where it is committed: `docs/src/runs/<name>.svg`.
    pub fn path(&self) -> PathBuf {
        directory().join(self.file_name())
    }

    /// The image target a chapter uses: `runs/<name>.svg`.
    pub fn target(&self) -> String {
        format!("runs/{}", self.file_name())
    }
}

/// One row of the results: a server under a workload.
struct Row<'a> {
    workload: &'a str,
    server: &'a str,
    requests_per_s: f64,
    vs_nginx: Option<f64>,
    peak_rss_kib: f64,
    cpu_seconds: f64,
}

fn rows(results: &Value) -> Vec<Row<'_>> {
    let Some(rows) = results["rows"].as_array() else {
        return Vec::new();
    };
    rows.iter()
        .filter_map(|row| {
            Some(Row {
                workload: row["workload"].as_str()?,
                server: row["server"].as_str()?,
                requests_per_s: row["requests_per_s"].as_f64().unwrap_or(0.0),
                vs_nginx: row["vs_nginx"]
                    .as_f64()
                    .filter(|_| row["rate_is_meaningful"].as_bool() == Some(true)),
                peak_rss_kib: row["peak_rss_kib"].as_f64().unwrap_or(0.0),
                cpu_seconds: row["cpu"]["user"].as_f64().unwrap_or(0.0)
                    + row["cpu"]["system"].as_f64().unwrap_or(0.0),
            })
        })
        .collect()
}

/// The date of the run, as the results give it.
fn run_date(results: &Value) -> &str {
    results["conditions"]["date"]
        .as_str()
        .unwrap_or("an unknown date")
}

/// The number of connections of a `C10K, N` workload.
fn c10k_connections(workload: &str) -> Option<u32> {
    workload.strip_prefix("C10K, ")?.parse().ok()
}

/// Every chart the results give, in the order the chapter shows them.
pub fn draw(results: &Value) -> Vec<Chart> {
    let rows = rows(results);
    let date = run_date(results);
    [
        vs_nginx(&rows, date),
        c10k_memory(&rows, date),
        idle_cpu(&rows, date),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Reads the committed results and draws them.
pub fn draw_committed() -> std::io::Result<Vec<Chart>> {
    let text = std::fs::read_to_string(results_path())?;
    let results: Value = serde_json::from_str(&text)
        .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err))?;
    Ok(draw(&results))
}

const WIDTH: f64 = 760.0;
const MARGIN: f64 = 16.0;
/// Where the bars start: room for the server's name on their left.
const LABELS: f64 = 170.0;
const BAR: f64 = 16.0;
const BAR_GAP: f64 = 5.0;
const INK: &str = "#111111";
const FAINT: &str = "#777777";

/// The colour of a server's bars and line, the same in every chart. Each
/// chart also names the server in text, so the colour is never the only cue.
fn colour(server: &str) -> &'static str {
    match server {
        "nginx" => "#7a7a7a",
        "epoll_server-edge" => "#1f5fa8",
        "epoll_server-level" => "#4c9bd6",
        "nonblock_server" => "#d0701c",
        "webserver3a" => "#6b8e23",
        "webserver3g" => "#8e44ad",
        _ => "#b07cc6",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The card every chart is drawn on, with its title (the alt text) and heading.
fn open_card(svg: &mut String, height: f64, alt: &str, heading: &str) {
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="13" role="img">"##
    );
    let _ = writeln!(svg, "<title>{}</title>", escape(alt));
    let _ = writeln!(
        svg,
        r##"<rect x="0.5" y="0.5" width="{}" height="{}" rx="10" fill="#f6f6f6" stroke="#888888"/>"##,
        WIDTH - 1.0,
        height - 1.0
    );
    let _ = writeln!(
        svg,
        r##"<text x="{MARGIN}" y="{}" fill="{INK}" font-weight="bold" font-size="14">{}</text>"##,
        MARGIN + 14.0,
        escape(heading)
    );
}

/// Text with a halo of the card's colour, so that a grid line behind it
/// does not cross it.
fn text(svg: &mut String, x: f64, y: f64, anchor: &str, fill: &str, words: &str) {
    let _ = writeln!(
        svg,
        r##"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" fill="{fill}" stroke="#f6f6f6" stroke-width="4" paint-order="stroke">{}</text>"##,
        escape(words)
    );
}

/// A bar chart's vertical grid: a line and a label at every fifth of the
/// scale, from `top` to `bottom`; `label` writes a value.
fn grid(
    svg: &mut String,
    (top, bottom): (f64, f64),
    scale_end: f64,
    plot_width: f64,
    label: impl Fn(f64) -> String,
) {
    for step in 0..=5 {
        let value = scale_end * f64::from(step) / 5.0;
        let x = LABELS + value / scale_end * plot_width;
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="#dddddd"/>"##
        );
        text(svg, x, bottom + 16.0, "middle", FAINT, &label(value));
    }
}

/// Thousands with commas: 92,407.
fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A scale's end: the smallest of 1, 2, 2.5, 5 × 10^k at or above `value`.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|step| step * power)
        .find(|&end| end >= value)
        .unwrap_or(10.0 * power)
}

/// One group of horizontal bars under a heading: each bar a server, its
/// length `value`, its label `label`. Returns the y below the group.
fn bar_group(
    svg: &mut String,
    y: f64,
    heading: &str,
    bars: &[(&str, f64, String)],
    scale_end: f64,
    plot_width: f64,
) -> f64 {
    let _ = writeln!(
        svg,
        r##"<text x="{MARGIN}" y="{:.1}" fill="{INK}" font-weight="bold">{}</text>"##,
        y + 12.0,
        escape(heading)
    );
    let mut y = y + 20.0;
    for (server, value, label) in bars {
        let length = (value / scale_end * plot_width).max(1.0);
        text(svg, LABELS - 8.0, y + 12.0, "end", INK, server);
        let _ = writeln!(
            svg,
            r##"<rect x="{LABELS}" y="{y:.1}" width="{length:.1}" height="{BAR}" fill="{}"/>"##,
            colour(server)
        );
        text(svg, LABELS + length + 6.0, y + 12.0, "start", INK, label);
        y += BAR + BAR_GAP;
    }
    y + 8.0
}

/// Requests per second relative to nginx, per workload: a bar per server,
/// a dashed line at nginx's 1.0.
fn vs_nginx(rows: &[Row<'_>], date: &str) -> Option<Chart> {
    let largest_c10k = rows
        .iter()
        .filter_map(|row| c10k_connections(row.workload))
        .max();
    let mut workloads: Vec<&str> = Vec::new();
    for row in rows {
        let shown = match c10k_connections(row.workload) {
            Some(n) => Some(n) == largest_c10k,
            None => row.vs_nginx.is_some(),
        };
        if shown && !workloads.contains(&row.workload) {
            workloads.push(row.workload);
        }
    }
    let groups: Vec<(&str, Vec<&Row<'_>>)> = workloads
        .iter()
        .map(|workload| {
            let members = rows
                .iter()
                .filter(|row| row.workload == *workload && row.vs_nginx.is_some())
                .collect();
            (*workload, members)
        })
        .collect();
    let most = groups
        .iter()
        .flat_map(|(_, members)| members.iter().filter_map(|row| row.vs_nginx))
        .fold(0.0, f64::max);
    if most == 0.0 {
        return None;
    }
    let scale_end = nice_ceiling(most * 1.05).max(1.5);
    let plot_width = WIDTH - LABELS - 150.0;
    let bars_total: usize = groups.iter().map(|(_, members)| members.len()).sum();
    let height = 68.0 + groups.len() as f64 * 28.0 + bars_total as f64 * (BAR + BAR_GAP) + 40.0;

    let mut alt = format!(
        "Bar chart of the benchmark run of {date}: requests per second of each server, relative to nginx on the same workload (1.0 = as fast as nginx)."
    );
    for (workload, members) in &groups {
        let parts: Vec<String> = members
            .iter()
            .map(|row| format!("{} {:.2}", row.server, row.vs_nginx.unwrap_or(0.0)))
            .collect();
        let _ = write!(alt, " {workload}: {}.", parts.join(", "));
    }

    let mut svg = String::new();
    open_card(
        &mut svg,
        height,
        &alt,
        &format!("Requests per second, relative to nginx (run of {date})"),
    );
    let top = 52.0;
    let bottom = height - 34.0;
    grid(&mut svg, (top, bottom), scale_end, plot_width, |value| {
        format!("{value}x")
    });
    // nginx's 1.0, dashed, across every group.
    let one = LABELS + plot_width / scale_end;
    let _ = writeln!(
        svg,
        r##"<line x1="{one:.1}" y1="{top}" x2="{one:.1}" y2="{bottom}" stroke="{FAINT}" stroke-width="1.5" stroke-dasharray="5 3"/>"##
    );
    text(&mut svg, one, top - 2.0, "middle", FAINT, "nginx");
    let mut y = top + 4.0;
    for (workload, members) in &groups {
        let bars: Vec<(&str, f64, String)> = members
            .iter()
            .map(|row| {
                let ratio = row.vs_nginx.unwrap_or(0.0);
                (
                    row.server,
                    ratio,
                    format!("{ratio:.2}x  ({}/s)", grouped(row.requests_per_s)),
                )
            })
            .collect();
        y = bar_group(&mut svg, y, workload, &bars, scale_end, plot_width);
    }
    svg.push_str("</svg>\n");
    Some(Chart {
        name: "bench-vs-nginx".to_owned(),
        alt,
        svg,
    })
}

/// Peak RSS against the number of connections held, C10K rows: a line
/// per server, each point labelled in MiB.
fn c10k_memory(rows: &[Row<'_>], date: &str) -> Option<Chart> {
    let mut servers: Vec<&str> = Vec::new();
    let mut points: Vec<(&str, u32, f64)> = Vec::new();
    for row in rows {
        if let Some(connections) = c10k_connections(row.workload) {
            if !servers.contains(&row.server) {
                servers.push(row.server);
            }
            points.push((row.server, connections, row.peak_rss_kib / 1024.0));
        }
    }
    let most_connections = points.iter().map(|point| point.1).max()?;
    let most_mib = points.iter().map(|point| point.2).fold(0.0, f64::max);
    let mib_end = nice_ceiling(most_mib * 1.1);
    let connections_end = nice_ceiling(f64::from(most_connections));

    let mut alt = format!(
        "Line chart of the benchmark run of {date}: peak resident memory (MiB) against the number of keep-alive connections held at once."
    );
    for server in &servers {
        let parts: Vec<String> = points
            .iter()
            .filter(|point| point.0 == *server)
            .map(|point| format!("{:.1} MiB at {}", point.2, grouped(f64::from(point.1))))
            .collect();
        let _ = write!(alt, " {server}: {}.", parts.join(", "));
    }

    let height = 360.0;
    let (left, right, top, bottom) = (70.0, WIDTH - 210.0, 64.0, height - 50.0);
    let x_of = |connections: f64| left + connections / connections_end * (right - left);
    let y_of = |mib: f64| bottom - mib / mib_end * (bottom - top);
    let mut svg = String::new();
    open_card(
        &mut svg,
        height,
        &alt,
        &format!("Peak RSS against connections held, C10K (run of {date})"),
    );
    // Axes, with a tick at every fifth of each scale.
    let _ = writeln!(
        svg,
        r##"<path d="M{left} {top} V{bottom} H{right}" fill="none" stroke="{FAINT}"/>"##
    );
    for step in 0..=5 {
        let fraction = f64::from(step) / 5.0;
        let mib = mib_end * fraction;
        let y = y_of(mib);
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" y1="{y:.1}" x2="{right}" y2="{y:.1}" stroke="#dddddd"/>"##
        );
        text(
            &mut svg,
            left - 6.0,
            y + 4.0,
            "end",
            FAINT,
            &format!("{mib:.0}"),
        );
        let connections = connections_end * fraction;
        text(
            &mut svg,
            x_of(connections),
            bottom + 16.0,
            "middle",
            FAINT,
            &grouped(connections),
        );
    }
    text(&mut svg, left - 6.0, top - 14.0, "end", FAINT, "MiB");
    text(
        &mut svg,
        (left + right) / 2.0,
        bottom + 34.0,
        "middle",
        FAINT,
        "connections held at once",
    );
    let dashes = ["", "6 3", "2 3", "8 3 2 3"];
    for (index, server) in servers.iter().enumerate() {
        let mine: Vec<&(&str, u32, f64)> =
            points.iter().filter(|point| point.0 == *server).collect();
        let path: Vec<String> = mine
            .iter()
            .map(|point| format!("{:.1},{:.1}", x_of(f64::from(point.1)), y_of(point.2)))
            .collect();
        let _ = writeln!(
            svg,
            r##"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5" stroke-dasharray="{}"/>"##,
            path.join(" "),
            colour(server),
            dashes[index % dashes.len()]
        );
        for point in &mine {
            let (x, y) = (x_of(f64::from(point.1)), y_of(point.2));
            let _ = writeln!(
                svg,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{}"/>"##,
                colour(server)
            );
        }
    }
    // Each server's name and its last value, right of the plot, at the
    // height of its last point, moved apart where two would overlap.
    let mut labels: Vec<(f64, &str, String)> = servers
        .iter()
        .filter_map(|server| {
            let last = points.iter().rfind(|point| point.0 == *server)?;
            Some((
                y_of(last.2) + 4.0,
                *server,
                format!("{server} {:.1} MiB", last.2),
            ))
        })
        .collect();
    labels.sort_by(|a, b| a.0.total_cmp(&b.0));
    for index in 1..labels.len() {
        labels[index].0 = labels[index].0.max(labels[index - 1].0 + 16.0);
    }
    for (y, server, label) in &labels {
        let _ = writeln!(
            svg,
            r##"<rect x="{}" y="{:.1}" width="10" height="10" fill="{}"/>"##,
            right + 8.0,
            y - 9.0,
            colour(server)
        );
        text(&mut svg, right + 24.0, *y, "start", INK, label);
    }
    svg.push_str("</svg>\n");
    Some(Chart {
        name: "bench-c10k-memory".to_owned(),
        alt,
        svg,
    })
}

/// CPU seconds each server used while its connections sat idle.
fn idle_cpu(rows: &[Row<'_>], date: &str) -> Option<Chart> {
    let idle: Vec<&Row<'_>> = rows
        .iter()
        .filter(|row| row.workload.starts_with("idle"))
        .collect();
    let workload = idle.first()?.workload;
    let most = idle.iter().map(|row| row.cpu_seconds).fold(0.0, f64::max);
    let scale_end = nice_ceiling(most.max(1.0));
    let plot_width = WIDTH - LABELS - 150.0;
    let height = 44.0 + 20.0 + idle.len() as f64 * (BAR + BAR_GAP) + 36.0;
    let parts: Vec<String> = idle
        .iter()
        .map(|row| format!("{} {:.2} s", row.server, row.cpu_seconds))
        .collect();
    let alt = format!(
        "Bar chart of the benchmark run of {date}: CPU seconds (user and system) each server used while holding idle connections ({workload}): {}.",
        parts.join(", ")
    );
    let mut svg = String::new();
    open_card(
        &mut svg,
        height,
        &alt,
        &format!("CPU seconds while connections sit idle: {workload} (run of {date})"),
    );
    let bars: Vec<(&str, f64, String)> = idle
        .iter()
        .map(|row| {
            (
                row.server,
                row.cpu_seconds,
                format!("{:.2} s", row.cpu_seconds),
            )
        })
        .collect();
    let top = 44.0;
    let bottom = top + 20.0 + idle.len() as f64 * (BAR + BAR_GAP);
    grid(&mut svg, (top, bottom), scale_end, plot_width, |value| {
        format!("{value} s")
    });
    bar_group(
        &mut svg,
        top,
        "CPU time of one run, user and system",
        &bars,
        scale_end,
        plot_width,
    );
    svg.push_str("</svg>\n");
    Some(Chart {
        name: "bench-idle-cpu".to_owned(),
        alt,
        svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(workload: &str, server: &str, rate: f64, vs: Option<f64>, rss: f64) -> Value {
        json!({
            "workload": workload, "server": server, "requests_per_s": rate,
            "vs_nginx": vs, "rate_is_meaningful": vs.is_some(), "peak_rss_kib": rss,
            "cpu": { "user": 0.5, "system": 1.0 }
        })
    }

    fn results() -> Value {
        json!({
            "conditions": { "date": "2026-01-02 03:04 UTC" },
            "rows": [
                row("keep-alive, 200 B", "epoll_server-edge", 92406.7, Some(1.99), 2796.0),
                row("keep-alive, 200 B", "nginx", 46365.5, Some(1.0), 11024.0),
                row("C10K, 1000", "epoll_server-edge", 13018.0, Some(1.37), 3260.0),
                row("C10K, 1000", "nginx", 9495.0, Some(1.0), 11340.0),
                row("C10K, 10000", "epoll_server-edge", 12865.0, Some(1.07), 7212.0),
                row("C10K, 10000", "nginx", 12061.0, Some(1.0), 16116.0),
                row("idle, 100 x 5s", "nonblock_server", 9430.0, None, 2672.0),
            ]
        })
    }

    #[test]
    fn draws_three_charts_whose_alt_text_carries_the_numbers() {
        let charts = draw(&results());
        let names: Vec<&str> = charts.iter().map(|chart| chart.name.as_str()).collect();
        assert_eq!(
            names,
            ["bench-vs-nginx", "bench-c10k-memory", "bench-idle-cpu"]
        );
        let vs = &charts[0];
        assert!(vs
            .alt
            .contains("keep-alive, 200 B: epoll_server-edge 1.99, nginx 1.00."));
        // Only the largest C10K row is compared; all of them are in the memory chart.
        assert!(vs.alt.contains("C10K, 10000") && !vs.alt.contains("C10K, 1000:"));
        assert!(vs.svg.contains("1.99x  (92,407/s)"), "{}", vs.svg);
        assert!(charts[1]
            .alt
            .contains("epoll_server-edge: 3.2 MiB at 1,000, 7.0 MiB at 10,000."));
        assert!(charts[2].alt.contains("nonblock_server 1.50 s"));
        for chart in &charts {
            assert!(chart.svg.starts_with("<svg ") && chart.svg.ends_with("</svg>\n"));
            assert!(chart
                .svg
                .contains(&format!("<title>{}</title>", escape(&chart.alt))));
        }
    }

    #[test]
    fn no_results_no_charts() {
        assert!(draw(&json!({})).is_empty());
    }

    #[test]
    fn scales_end_on_round_numbers() {
        assert_eq!(nice_ceiling(3.6), 5.0);
        assert_eq!(nice_ceiling(16.9), 20.0);
        assert_eq!(nice_ceiling(10000.0), 10000.0);
        assert_eq!(grouped(1234567.0), "1,234,567");
    }
}
