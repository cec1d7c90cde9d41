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

/// Where the charts live, `docs/src/runs`, beside replay's figures of runs.
pub fn directory() -> PathBuf {
    crate::book_source().join("runs")
}

/// Whether a file of `docs/src/runs` is a chart (replay's are not).
pub fn is_chart(name: &str) -> bool {
    name.starts_with("bench-") && name.ends_with(".svg")
}

/// One chart: its file stem (`bench-vs-nginx`), its alt text (what it
/// shows, with its numbers) and its SVG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    pub name: String,
    pub alt: String,
    pub svg: String,
}

impl Chart {
    pub fn file_name(&self) -> String {
        format!("{}.svg", self.name)
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

/// `items` gathered by their key, keys and items in the order they come.
fn in_groups<'a, T>(items: impl Iterator<Item = (&'a str, T)>) -> Vec<(&'a str, Vec<T>)> {
    let mut groups: Vec<(&str, Vec<T>)> = Vec::new();
    for (key, item) in items {
        match groups.iter_mut().find(|group| group.0 == key) {
            Some((_, members)) => members.push(item),
            None => groups.push((key, vec![item])),
        }
    }
    groups
}

/// The number of connections of a `C10K, N` workload.
fn c10k_connections(workload: &str) -> Option<u32> {
    workload.strip_prefix("C10K, ")?.parse().ok()
}

/// Every chart the results give, in the order the chapter shows them.
pub fn draw(results: &Value) -> Vec<Chart> {
    let rows = rows(results);
    let date = results["conditions"]["date"]
        .as_str()
        .unwrap_or("an unknown date");
    [
        vs_nginx(&rows, date),
        c10k_memory(&rows, date),
        idle_cpu(&rows, date),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Reads the committed results, `support/bench/results.json`, and draws them.
pub fn draw_committed() -> std::io::Result<Vec<Chart>> {
    let path = crate::workspace_root().join("support/bench/results.json");
    let results: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
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
const CARD: &str = "#f6f6f6";
const GRID: &str = r##"stroke="#dddddd""##;

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
        "webserver3g.py" => "#b07cc6",
        "nginx-2" => "#3d3d3d",
        "prefork_server-2" => "#2e8b57",
        "uring_server" => "#c0392b",
        _ => "#b8860b",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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

/// The values at which a scale ending at `end` is marked: every fifth.
fn fifths(end: f64) -> impl Iterator<Item = f64> {
    (0..=5).map(move |step| end * f64::from(step) / 5.0)
}

/// A chart being drawn: the card every chart is drawn on, with its title
/// (the alt text) and heading, and what is drawn on it.
struct Card {
    name: &'static str,
    alt: String,
    svg: String,
}

impl Card {
    fn new(name: &'static str, alt: String, height: f64, heading: &str) -> Card {
        let mut card = Card {
            name,
            svg: String::new(),
            alt,
        };
        card.add(format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="13" role="img">"#
        ));
        card.add(format!("<title>{}</title>", escape(&card.alt)));
        card.add(format!(
            r##"<rect x="0.5" y="0.5" width="{}" height="{}" rx="10" fill="{CARD}" stroke="#888888"/>"##,
            WIDTH - 1.0,
            height - 1.0
        ));
        card.bold(MARGIN, MARGIN + 14.0, r#"font-size="14""#, heading);
        card
    }

    fn add(&mut self, element: String) {
        self.svg.push_str(&element);
        self.svg.push('\n');
    }

    fn bold(&mut self, x: f64, y: f64, style: &str, words: &str) {
        let words = escape(words);
        self.add(format!(
            r#"<text x="{x}" y="{y:.1}" fill="{INK}" font-weight="bold" {style}>{words}</text>"#
        ));
    }

    /// Text with a halo of the card's colour, so that a grid line behind
    /// it does not cross it.
    fn text(&mut self, (x, y): (f64, f64), anchor: &str, fill: &str, words: &str) {
        let words = escape(words);
        self.add(format!(
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" fill="{fill}" stroke="{CARD}" stroke-width="4" paint-order="stroke">{words}</text>"#
        ));
    }

    fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), style: &str) {
        self.add(format!(
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" {style}/>"#
        ));
    }

    fn rect(&mut self, (x, y): (f64, f64), (width, height): (f64, f64), fill: &str) {
        self.add(format!(
            r#"<rect x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{height:.1}" fill="{fill}"/>"#
        ));
    }

    fn finish(mut self) -> Chart {
        self.svg.push_str("</svg>\n");
        Chart {
            name: self.name.to_owned(),
            alt: self.alt,
            svg: self.svg,
        }
    }
}

/// One bar: a server, the bar's length and the words at its end.
struct Bar<'a> {
    server: &'a str,
    value: f64,
    label: String,
}

/// What a bar chart shows: groups of horizontal bars, each group under its
/// heading, on a vertical grid at every fifth of the scale.
struct BarChart<'a> {
    groups: Vec<(&'a str, Vec<Bar<'a>>)>,
    scale_end: f64,
    /// The grid's label of a value.
    tick: fn(f64) -> String,
    /// A dashed line across every group at a value, with its name.
    reference: Option<(f64, &'static str)>,
}

/// The height of a bar chart's card that holds `groups` and `bars`.
fn bar_chart_height(groups: usize, bars: usize) -> f64 {
    const TOP: f64 = 56.0;
    const GROUP: f64 = 28.0;
    TOP + groups as f64 * GROUP + bars as f64 * (BAR + BAR_GAP) + 32.0
}

fn draw_bars(mut card: Card, height: f64, chart: &BarChart<'_>) -> Chart {
    let (top, bottom) = (52.0, height - 34.0);
    let plot_width = WIDTH - LABELS - 150.0;
    let x_of = |value: f64| LABELS + value / chart.scale_end * plot_width;
    for value in fifths(chart.scale_end) {
        card.line((x_of(value), top), (x_of(value), bottom), GRID);
        card.text(
            (x_of(value), bottom + 16.0),
            "middle",
            FAINT,
            &(chart.tick)(value),
        );
    }
    if let Some((value, name)) = chart.reference {
        let x = x_of(value);
        let style = format!(r#"stroke="{FAINT}" stroke-width="1.5" stroke-dasharray="5 3""#);
        card.line((x, top), (x, bottom), &style);
        card.text((x, top - 2.0), "middle", FAINT, name);
    }
    let mut y = top + 4.0;
    for (heading, bars) in &chart.groups {
        card.bold(MARGIN, y + 12.0, "", heading);
        y += 20.0;
        for bar in bars {
            let length = (x_of(bar.value) - LABELS).max(1.0);
            card.text((LABELS - 8.0, y + 12.0), "end", INK, bar.server);
            card.rect((LABELS, y), (length, BAR), colour(bar.server));
            let end = (LABELS + length + 6.0, y + 12.0);
            card.text(end, "start", INK, &bar.label);
            y += BAR + BAR_GAP;
        }
        y += 8.0;
    }
    card.finish()
}

/// Requests per second relative to nginx, per workload: a bar per server,
/// a dashed line at 1.0. The ratio is bench's `vs_nginx`, which divides by
/// the nginx of as many workers (`nginx-2` for a server of two), so the
/// heading, the line and the alt text say so. Of the C10K workloads, only
/// the largest.
fn vs_nginx(rows: &[Row<'_>], date: &str) -> Option<Chart> {
    let largest_c10k = rows
        .iter()
        .filter_map(|row| c10k_connections(row.workload))
        .max();
    let groups = in_groups(rows.iter().filter_map(|row| {
        let ratio = row.vs_nginx?;
        let c10k = c10k_connections(row.workload);
        (c10k.is_none() || c10k == largest_c10k).then(|| {
            let label = format!("{ratio:.2}x  ({}/s)", grouped(row.requests_per_s));
            let server = row.server;
            (
                row.workload,
                Bar {
                    server,
                    value: ratio,
                    label,
                },
            )
        })
    }));
    let bars = groups.iter().flat_map(|group| &group.1);
    let most = bars.clone().map(|bar| bar.value).fold(0.0, f64::max);
    if most == 0.0 {
        return None;
    }
    let mut alt = format!(
        "Bar chart of the benchmark run of {date}: requests per second of each server, relative to nginx of as many workers on the same workload (1.0 = as fast as that nginx; servers of one process against nginx, servers of two workers against nginx-2)."
    );
    for (workload, bars) in &groups {
        let parts: Vec<String> = bars
            .iter()
            .map(|bar| format!("{} {:.2}", bar.server, bar.value))
            .collect();
        let _ = write!(alt, " {workload}: {}.", parts.join(", "));
    }
    let height = bar_chart_height(groups.len(), bars.count());
    let heading =
        format!("Requests per second, relative to nginx of as many workers (run of {date})");
    let chart = BarChart {
        groups,
        scale_end: nice_ceiling(most * 1.05).max(1.5),
        tick: |value| format!("{value}x"),
        reference: Some((1.0, "nginx / nginx-2")),
    };
    let card = Card::new("bench-vs-nginx", alt, height, &heading);
    Some(draw_bars(card, height, &chart))
}

/// CPU seconds each server used while its connections sat idle.
fn idle_cpu(rows: &[Row<'_>], date: &str) -> Option<Chart> {
    let idle: Vec<&Row<'_>> = rows
        .iter()
        .filter(|row| row.workload.starts_with("idle"))
        .collect();
    let workload = idle.first()?.workload;
    let parts: Vec<String> = idle
        .iter()
        .map(|row| format!("{} {:.2} s", row.server, row.cpu_seconds))
        .collect();
    let alt = format!(
        "Bar chart of the benchmark run of {date}: CPU seconds (user and system) each server used while holding idle connections ({workload}): {}.",
        parts.join(", ")
    );
    let most = idle.iter().map(|row| row.cpu_seconds).fold(0.0, f64::max);
    let bars = idle
        .iter()
        .map(|row| Bar {
            server: row.server,
            value: row.cpu_seconds,
            label: format!("{:.2} s", row.cpu_seconds),
        })
        .collect();
    let height = bar_chart_height(1, idle.len());
    let heading = format!("CPU seconds while connections sit idle: {workload} (run of {date})");
    let chart = BarChart {
        groups: vec![("CPU time of one run, user and system", bars)],
        scale_end: nice_ceiling(most.max(1.0)),
        tick: |value| format!("{value} s"),
        reference: None,
    };
    let card = Card::new("bench-idle-cpu", alt, height, &heading);
    Some(draw_bars(card, height, &chart))
}

/// Peak RSS against the number of connections held, C10K rows: a line
/// per server, each named at its end with its last value in MiB.
fn c10k_memory(rows: &[Row<'_>], date: &str) -> Option<Chart> {
    // Each server's points, (connections, MiB), in the order of the rows.
    let lines = in_groups(rows.iter().filter_map(|row| {
        let connections = f64::from(c10k_connections(row.workload)?);
        Some((row.server, (connections, row.peak_rss_kib / 1024.0)))
    }));
    let points = lines.iter().flat_map(|line| &line.1);
    let most_connections = points.clone().map(|point| point.0).reduce(f64::max)?;
    let mib_end = nice_ceiling(points.map(|point| point.1).fold(0.0, f64::max) * 1.1);
    let connections_end = nice_ceiling(most_connections);

    let mut alt = format!(
        "Line chart of the benchmark run of {date}: peak resident memory (MiB) against the number of keep-alive connections held at once."
    );
    for (server, points) in &lines {
        let parts: Vec<String> = points
            .iter()
            .map(|(connections, mib)| format!("{mib:.1} MiB at {}", grouped(*connections)))
            .collect();
        let _ = write!(alt, " {server}: {}.", parts.join(", "));
    }

    let height = 360.0;
    let heading = format!("Peak RSS against connections held, C10K (run of {date})");
    let mut card = Card::new("bench-c10k-memory", alt, height, &heading);
    let (left, right, top, bottom) = (70.0, WIDTH - 210.0, 64.0, height - 50.0);
    let x_of = |connections: f64| left + connections / connections_end * (right - left);
    let y_of = |mib: f64| bottom - mib / mib_end * (bottom - top);
    card.add(format!(
        r#"<path d="M{left} {top} V{bottom} H{right}" fill="none" stroke="{FAINT}"/>"#
    ));
    for (mib, connections) in fifths(mib_end).zip(fifths(connections_end)) {
        card.line((left, y_of(mib)), (right, y_of(mib)), GRID);
        card.text(
            (left - 6.0, y_of(mib) + 4.0),
            "end",
            FAINT,
            &format!("{mib:.0}"),
        );
        let tick = (x_of(connections), bottom + 16.0);
        card.text(tick, "middle", FAINT, &grouped(connections));
    }
    card.text((left - 6.0, top - 14.0), "end", FAINT, "MiB");
    let middle = ((left + right) / 2.0, bottom + 34.0);
    card.text(middle, "middle", FAINT, "connections held at once");
    let dashes = ["", "6 3", "2 3", "8 3 2 3", "12 4", "4 2 1 2"];
    for (index, (server, points)) in lines.iter().enumerate() {
        let on_plot: Vec<(f64, f64)> = points
            .iter()
            .map(|&(connections, mib)| (x_of(connections), y_of(mib)))
            .collect();
        let path: Vec<String> = on_plot
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        card.add(format!(
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5" stroke-dasharray="{}"/>"#,
            path.join(" "),
            colour(server),
            dashes[index % dashes.len()]
        ));
        for (x, y) in on_plot {
            let fill = colour(server);
            card.add(format!(
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{fill}"/>"#
            ));
        }
    }
    // Each server's name and its last value, right of the plot, at the
    // height of its last point, moved apart where two would overlap.
    let mut labels: Vec<(f64, &str, f64)> = lines
        .iter()
        .filter_map(|(server, points)| {
            let (_, mib) = points.last()?;
            Some((y_of(*mib) + 4.0, *server, *mib))
        })
        .collect();
    labels.sort_by(|a, b| a.0.total_cmp(&b.0));
    for index in 1..labels.len() {
        labels[index].0 = labels[index].0.max(labels[index - 1].0 + 16.0);
    }
    for (y, server, mib) in labels {
        card.rect((right + 8.0, y - 9.0), (10.0, 10.0), colour(server));
        let label = format!("{server} {mib:.1} MiB");
        card.text((right + 24.0, y), "start", INK, &label);
    }
    Some(card.finish())
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
