//! The coverage report as HTML: one self-contained file (`serve --report-html FILE`,
//! `GET /__standin/coverage?format=html`) and its body alone for the inspector page
//! (`?format=fragment`).
//!
//! The file has its style sheet inline, its chart as inline SVG, no script, and refers to nothing
//! outside itself (a Content-Security-Policy meta tag of `default-src 'none'` makes a browser
//! refuse any load): a CI job can keep it as an artifact and anyone can open it offline.
//!
//! What it shows: totals; latency and load over the run (requests per bucket as bars, average and
//! slowest answer as lines); per spec, the matrix of operations × declared statuses (a cell says
//! how many requests that status answered and how many of them broke the contract, `–` for a
//! declared status never answered, blank where the operation declares no such status); what each
//! exercised operation was sent (parameters and body fields, declared and not); the operations
//! never called; requests that matched no operation.

use std::fmt::Write as _;

use crate::coverage::{OperationCoverage, Report, SpecCoverage, TimelineReport};

/// The report's style sheet (shared with the inspector page).
const REPORT_CSS: &str = include_str!("report.css");

/// The whole report as one HTML document.
pub fn html(report: &Report) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let title = match report.specs.as_slice() {
        [one] => format!("Contract coverage: {} {}", one.title, one.version),
        _ => "Contract coverage".to_string(),
    };
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
    let _ = writeln!(out, "<title>{}</title>", esc(&title));
    let _ = writeln!(out, "<style>\n{REPORT_CSS}</style>\n</head>\n<body class=\"cov-page\">");
    let now = crate::util::time::unix_secs();
    let _ = writeln!(out, "<p class=\"cov-generated\">standin · written {}</p>", esc(&crate::util::time::format_rfc3339(now as i64)));
    out.push_str(&fragment(report));
    out.push_str("</body>\n</html>\n");
    out
}

/// The report's body (no document around it), for the inspector page's coverage tab.
pub fn fragment(report: &Report) -> String {
    let mut o = String::with_capacity(16 * 1024);
    let s = &report.summary;
    o.push_str("<section class=\"cov\" id=\"coverage-report\">\n<h1>Contract coverage</h1>\n<div class=\"cov-tiles\">\n");
    tile(
        &mut o,
        "operations exercised",
        &format!("{} / {}", s.exercised_operations, s.operations),
        Some(&format!("{}%", s.operation_percent())),
        "ops",
    );
    tile(&mut o, "declared statuses answered", &format!("{} / {}", s.exercised_statuses, s.statuses), None, "statuses");
    tile(&mut o, "requests", &s.requests.to_string(), None, "requests");
    tile(&mut o, "broke the contract", &s.violating.to_string(), None, if s.violating > 0 { "violating cov-bad" } else { "violating" });
    tile(&mut o, "matched no operation", &s.unmatched.to_string(), None, "unmatched");
    o.push_str("</div>\n");

    o.push_str("<h2>Latency over time</h2>\n");
    chart(&mut o, &report.timeline);

    for (i, spec) in report.specs.iter().enumerate() {
        matrix(&mut o, i, spec);
    }

    o.push_str("<h2>Never called</h2>\n");
    if report.unexercised.is_empty() {
        o.push_str("<p class=\"cov-none\">Every operation was called at least once.</p>\n");
    } else {
        o.push_str("<ul class=\"cov-never\">\n");
        for op in &report.unexercised {
            let _ = writeln!(o, "<li data-operation=\"{}\"><span class=\"cov-method\">{}</span> <code>{}</code> {} <span class=\"cov-dim\">({})</span></li>", esc(&op.operation), esc(&op.method), esc(&op.path), esc(&op.operation), esc(&op.spec));
        }
        o.push_str("</ul>\n");
    }

    if report.unmatched.requests > 0 {
        let _ = writeln!(o, "<h2>Matched no operation ({})</h2>\n<ul class=\"cov-unmatched\">", report.unmatched.requests);
        for u in &report.unmatched.examples {
            let _ =
                writeln!(o, "<li><span class=\"cov-method\">{}</span> <code>{}</code> × {}</li>", esc(&u.method), esc(&u.path), u.requests);
        }
        o.push_str("</ul>\n");
    }
    o.push_str("</section>\n");
    o
}

fn tile(o: &mut String, label: &str, value: &str, extra: Option<&str>, class: &str) {
    let _ = write!(o, "<div class=\"cov-tile cov-{class}\"><span class=\"cov-value\">{}</span>", esc(value));
    if let Some(x) = extra {
        let _ = write!(o, " <span class=\"cov-extra\">{}</span>", esc(x));
    }
    let _ = writeln!(o, "<span class=\"cov-label\">{}</span></div>", esc(label));
}

/// One spec: the operations × statuses matrix, then what each exercised operation was sent.
fn matrix(o: &mut String, index: usize, spec: &SpecCoverage) {
    let s = &spec.summary;
    let _ = writeln!(
        o,
        "<h2>{} <span class=\"cov-dim\">{} · <code>{}</code> · {} of {} operations, {} of {} statuses</span></h2>",
        esc(&spec.title),
        esc(&spec.version),
        esc(if spec.base_path.is_empty() { "/" } else { &spec.base_path }),
        s.exercised_operations,
        s.operations,
        s.exercised_statuses,
        s.statuses
    );
    let _ = writeln!(
        o,
        "<div class=\"cov-scroll\"><table class=\"cov-matrix\" id=\"cov-matrix-{index}\">\n<thead><tr><th scope=\"col\">operation</th>"
    );
    for st in &spec.statuses {
        let _ = write!(o, "<th scope=\"col\" class=\"cov-st\">{}</th>", esc(st));
    }
    o.push_str("<th scope=\"col\" class=\"cov-st\">other</th><th scope=\"col\">requests</th><th scope=\"col\">broke</th><th scope=\"col\">params sent</th><th scope=\"col\">fields sent</th><th scope=\"col\">avg / max ms</th></tr></thead>\n<tbody>\n");
    for op in &spec.operations {
        row(o, spec, op);
    }
    o.push_str("</tbody>\n</table></div>\n");
    let _ = writeln!(o, "<p class=\"cov-legend\"><span class=\"cov-hit\">n</span> answered n times · <span class=\"cov-hit cov-bad\">n ✗k</span> k of them broke the contract · <span class=\"cov-miss\">–</span> declared, never answered · <span class=\"cov-undeclared\">400×n</span> answered but not declared</p>");

    let exercised: Vec<&OperationCoverage> = spec.operations.iter().filter(|op| op.requests > 0).collect();
    if exercised.is_empty() {
        return;
    }
    o.push_str("<h3>What clients sent</h3>\n");
    for op in exercised {
        let _ = writeln!(
            o,
            "<details class=\"cov-sent\" data-operation=\"{}\"><summary><span class=\"cov-method\">{}</span> <code>{}</code> {}</summary>",
            esc(&op.operation),
            esc(&op.method),
            esc(&op.path),
            esc(&op.operation)
        );
        names(
            o,
            "parameters",
            op.parameters.iter().map(|p| (format!("{} ({}{})", p.name, p.location, if p.required { ", required" } else { "" }), p.sent)),
        );
        names(o, "query parameters not declared", op.undeclared_parameters.iter().map(|p| (p.name.clone(), p.sent)));
        names(o, "body fields", op.body_fields.iter().map(|f| (f.name.clone(), f.sent)));
        names(o, "body fields not in the schema", op.undeclared_body_fields.iter().map(|f| (f.name.clone(), f.sent)));
        names(o, "problems found", op.problems.iter().map(|p| (p.location.clone(), p.count)));
        o.push_str("</details>\n");
    }
}

/// A list of names with how many requests sent each (nothing when empty); unsent ones dimmed.
fn names(o: &mut String, heading: &str, items: impl Iterator<Item = (String, u64)>) {
    let items: Vec<(String, u64)> = items.collect();
    if items.is_empty() {
        return;
    }
    let _ = writeln!(o, "<h4>{}</h4><ul class=\"cov-names\">", esc(heading));
    for (name, n) in items {
        let class = if n > 0 { "cov-yes" } else { "cov-no" };
        let _ = writeln!(
            o,
            "<li class=\"{class}\"><code>{}</code> <span class=\"cov-dim\">{}</span></li>",
            esc(&name),
            if n > 0 { format!("× {n}") } else { "never".into() }
        );
    }
    o.push_str("</ul>\n");
}

fn row(o: &mut String, spec: &SpecCoverage, op: &OperationCoverage) {
    let class = if op.requests == 0 {
        "cov-unexercised"
    } else if op.violating > 0 {
        "cov-exercised cov-violated"
    } else {
        "cov-exercised"
    };
    let _ = write!(o, "<tr class=\"{class}\" data-operation=\"{}\" data-requests=\"{}\"><th scope=\"row\"><span class=\"cov-method\">{}</span> <code>{}</code><br><span class=\"cov-dim\">{}</span></th>", esc(&op.operation), op.requests, esc(&op.method), esc(&op.path), esc(&op.operation));
    for st in &spec.statuses {
        match op.statuses.iter().find(|s| &s.status == st) {
            None => o.push_str("<td class=\"cov-na\"></td>"),
            Some(s) if s.requests == 0 => {
                let _ =
                    write!(o, "<td class=\"cov-miss\" data-status=\"{}\" title=\"{} declared, never answered\">–</td>", esc(st), esc(st));
            }
            Some(s) => {
                let bad = if s.violating > 0 { format!(" ✗{}", s.violating) } else { String::new() };
                let _ = write!(
                    o,
                    "<td class=\"cov-hit{}\" data-status=\"{}\" title=\"{} answered {} times\">{}{}</td>",
                    if s.violating > 0 { " cov-bad" } else { "" },
                    esc(st),
                    esc(st),
                    s.requests,
                    s.requests,
                    bad
                );
            }
        }
    }
    o.push_str("<td class=\"cov-other\">");
    for (i, u) in op.undeclared_statuses.iter().enumerate() {
        let _ = write!(
            o,
            "{}<span class=\"cov-undeclared\" title=\"{} is not declared\">{}×{}</span>",
            if i > 0 { " " } else { "" },
            u.status,
            u.status,
            u.requests
        );
    }
    o.push_str("</td>");
    let sent = |n: usize, of: usize| {
        if of == 0 {
            "–".to_string()
        } else {
            format!("{n} / {of}")
        }
    };
    let params_sent = op.parameters.iter().filter(|p| p.sent > 0).count();
    let fields_sent = op.body_fields.iter().filter(|f| f.sent > 0).count();
    let latency = match (op.avg_ms, op.max_ms) {
        (Some(a), Some(m)) => format!("{a:.1} / {m:.1}"),
        _ => "–".into(),
    };
    let _ = writeln!(
        o,
        "<td class=\"cov-num\">{}</td><td class=\"cov-num{}\">{}</td><td class=\"cov-num\">{}</td><td class=\"cov-num\">{}</td><td class=\"cov-num\">{}</td></tr>",
        op.requests,
        if op.violating > 0 { " cov-badtext" } else { "" },
        op.violating,
        sent(params_sent, op.parameters.len()),
        sent(fields_sent, op.body_fields.len()),
        latency
    );
}

/// Requests per bucket as bars; average and slowest answer as lines, on a shared time axis.
fn chart(o: &mut String, t: &TimelineReport) {
    if t.buckets.is_empty() {
        o.push_str("<p class=\"cov-none\">No requests yet.</p>\n");
        return;
    }
    const W: f64 = 720.0;
    const H: f64 = 160.0;
    const LEFT: f64 = 52.0;
    const BOTTOM: f64 = 22.0;
    const TOP: f64 = 10.0;
    let plot_w = W - LEFT - 10.0;
    let plot_h = H - BOTTOM - TOP;
    // At least a minute's worth of slots: a short run fills the left of the chart, not all of it.
    let slots = t.buckets.len().max(60);
    let n = slots as f64;
    let step = plot_w / n;
    let max_req = t.buckets.iter().map(|b| b.requests).max().unwrap_or(1).max(1) as f64;
    let max_ms = t.buckets.iter().map(|b| b.max_ms).fold(0.0, f64::max).max(0.001);
    let x = |i: usize| LEFT + step * (i as f64 + 0.5);
    let y_ms = |ms: f64| TOP + plot_h - ms / max_ms * plot_h;
    let _ = writeln!(
        o,
        "<svg class=\"cov-chart\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"latency over time\">"
    );
    let _ = writeln!(
        o,
        "<title>Latency over time: {} buckets of {} s; slowest {:.1} ms</title>",
        t.buckets.len(),
        t.bucket_ms as f64 / 1000.0,
        max_ms
    );
    let _ = writeln!(
        o,
        "<line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\" stroke-width=\"1\"/>",
        TOP + plot_h,
        LEFT + plot_w,
        TOP + plot_h
    );
    let _ = writeln!(o, "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{}\" stroke=\"#999\" stroke-width=\"1\"/>", TOP + plot_h);
    for (i, b) in t.buckets.iter().enumerate() {
        let h = b.requests as f64 / max_req * plot_h;
        let fill = if b.violating > 0 { "#f2c4c4" } else { "#d6e4f5" };
        let _ = writeln!(o, "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>{} requests ({} broke the contract), avg {:.2} ms, max {:.2} ms</title></rect>", LEFT + step * i as f64 + step * 0.1, TOP + plot_h - h, (step * 0.8).max(0.5), h, b.requests, b.violating, b.avg_ms, b.max_ms);
    }
    let line = |o: &mut String, color: &str, dash: &str, value: &dyn Fn(&crate::coverage::TimelineBucket) -> f64| {
        let points: Vec<String> = t
            .buckets
            .iter()
            .enumerate()
            .filter(|(_, b)| b.requests > 0)
            .map(|(i, b)| format!("{:.1},{:.1}", x(i), y_ms(value(b))))
            .collect();
        if points.len() == 1 {
            let _ = writeln!(
                o,
                "<circle cx=\"{}\" r=\"2.5\" fill=\"{color}\" cy=\"{}\"/>",
                points[0].split(',').next().unwrap_or("0"),
                points[0].split(',').nth(1).unwrap_or("0")
            );
        } else if !points.is_empty() {
            let _ = writeln!(o, "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"{dash} points=\"{}\"/>", points.join(" "));
        }
    };
    line(o, "#c0392b", " stroke-dasharray=\"4 3\"", &|b| b.max_ms);
    line(o, "#1f5fa8", "", &|b| b.avg_ms);
    let _ = writeln!(o, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"cov-axis\">{:.1} ms</text>", LEFT - 4.0, TOP + 8.0, max_ms);
    let _ = writeln!(o, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"cov-axis\">0</text>", LEFT - 4.0, TOP + plot_h);
    let _ = writeln!(o, "<text x=\"{LEFT}\" y=\"{}\" class=\"cov-axis\">{}</text>", H - 6.0, esc(t.started_at.as_deref().unwrap_or("")));
    let span_s = t.bucket_ms as f64 * slots as f64 / 1000.0;
    let _ = writeln!(o, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"cov-axis\">+{span_s:.0} s</text>", LEFT + plot_w, H - 6.0);
    o.push_str("</svg>\n");
    let _ = writeln!(o, "<p class=\"cov-legend\"><span class=\"cov-key cov-key-bars\"></span> requests per {} s (red: some broke the contract) · <span class=\"cov-key cov-key-avg\"></span> average · <span class=\"cov-key cov-key-max\"></span> slowest answer</p>", t.bucket_ms as f64 / 1000.0);
}

/// Escape text for HTML content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_clients_is_escaped() {
        assert_eq!(esc("<script>\"x\" & 'y'</script>"), "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;");
    }

    #[test]
    fn an_empty_report_is_a_whole_document_without_external_references() {
        let html = html(&Report::default());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("No requests yet."));
        assert!(!html.contains("http://") && !html.contains("https://"), "{html}");
    }
}
