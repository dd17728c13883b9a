//! Contract coverage: how much of each mounted spec the clients exercised.
//!
//! The journal's writer thread hands every batch of finished exchanges to [`Coverage::observe`],
//! off the request path: the request path does no work for coverage. The tally is bounded: one
//! entry per operation that was called, at most [`MAX_NAMES`] parameter and body-field names per
//! operation, at most [`MAX_UNMATCHED`] distinct unmatched requests, and a latency timeline of at
//! most [`MAX_BUCKETS`] buckets whose width doubles as the run grows.
//!
//! At read time (`GET /__standin/coverage`, the inspector page, `serve --report-html`)
//! [`Coverage::report`] joins the tally with the mounted specs into a [`Report`]: for each
//! operation and declared status, how many requests exercised it and how many broke the
//! contract, which declared parameters and body fields were ever sent (and which undeclared ones),
//! and the operations never called. Declared body fields are read from the request schemas then,
//! not at load: only a coverage reader pays for them.
//!
//! # Implementation rationale
//! Operations are tallied by the address of their shared label (`Operation::label`, the `Arc`
//! every journal entry already carries), not by name: two specs on one port may share an
//! `operationId`. A reload (`--watch`) builds new labels; tallies whose label is gone are then
//! matched by name.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::record::Exchange;
use crate::spec::{Operation, ParamLocation, Spec};

mod fields;
mod report;
#[cfg(test)]
mod tests;

pub use fields::declared_fields;
use fields::FieldPaths;
pub use report::*;

/// Most parameter names, and most body-field paths, remembered per operation.
pub const MAX_NAMES: usize = 256;
/// Most distinct unmatched requests (`METHOD path`) remembered; more are only counted.
pub const MAX_UNMATCHED: usize = 50;
/// Most latency buckets; past that, neighbours merge and the bucket width doubles.
pub const MAX_BUCKETS: usize = 240;
/// Most problem locations remembered per operation.
const MAX_PROBLEMS: usize = 64;
/// Bodies larger than this are not scanned for field names.
const MAX_SCAN: usize = 1 << 20;
/// How deep body fields are followed (`a.b.c.d`), in bodies and in declared schemas.
const MAX_DEPTH: u32 = 6;

/// The coverage tally, shared by the journal's writer (which feeds it) and its readers.
#[derive(Debug, Default)]
pub struct Coverage {
    tally: Mutex<Tally>,
}

#[derive(Debug, Default)]
struct Tally {
    ops: HashMap<OpKey, OpTally>,
    /// Requests that matched no operation (unknown paths, other base paths), by `METHOD path`.
    unmatched: BTreeMap<String, Count>,
    unmatched_requests: u64,
    timeline: Timeline,
    requests: u64,
    /// Reused to build names without allocating per name.
    scratch: String,
}

/// An operation's shared label, compared by address (see the module's rationale).
#[derive(Debug, Clone)]
struct OpKey(Arc<str>);

impl PartialEq for OpKey {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for OpKey {}

impl std::hash::Hash for OpKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (Arc::as_ptr(&self.0) as *const u8 as usize).hash(h);
    }
}

/// Requests and how many of them broke the contract.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    pub requests: u64,
    pub violating: u64,
}

impl Count {
    fn add(&mut self, violating: bool) {
        self.requests += 1;
        self.violating += u64::from(violating);
    }

    fn merge(&mut self, other: Count) {
        self.requests += other.requests;
        self.violating += other.violating;
    }
}

/// How many requests sent a name; `last` is the exchange that counted last (a name sent twice in
/// one request counts once).
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    requests: u64,
    last: u64,
}

#[derive(Debug, Clone, Default)]
struct OpTally {
    count: Count,
    statuses: BTreeMap<u16, Count>,
    /// `query.limit`, `header.x-request-id`, `cookie.session` (as sent, header names lower case).
    params: BTreeMap<String, Seen>,
    /// Body field paths as sent, array elements as `[]`: `items[].sku`.
    fields: BTreeMap<String, Seen>,
    /// Problem locations (array indexes as `[]`) and how often each was reported.
    problems: BTreeMap<String, u64>,
    total_us: u64,
    max_us: u64,
}

impl OpTally {
    fn merge(&mut self, other: &OpTally) {
        self.count.merge(other.count);
        for (s, c) in &other.statuses {
            self.statuses.entry(*s).or_default().merge(*c);
        }
        for (mine, theirs) in [(&mut self.params, &other.params), (&mut self.fields, &other.fields)] {
            for (name, seen) in theirs {
                mine.entry(name.clone()).or_default().requests += seen.requests;
            }
        }
        for (loc, n) in &other.problems {
            *self.problems.entry(loc.clone()).or_default() += n;
        }
        self.total_us += other.total_us;
        self.max_us = self.max_us.max(other.max_us);
    }
}

/// Count `name` once for exchange `id` (remembering it if there is room).
fn see(names: &mut BTreeMap<String, Seen>, name: &str, id: u64) {
    if let Some(seen) = names.get_mut(name) {
        if seen.last != id {
            seen.requests += 1;
            seen.last = id;
        }
        return;
    }
    if names.len() < MAX_NAMES {
        names.insert(name.to_string(), Seen { requests: 1, last: id });
    }
}

/// Latency and load over the run, in buckets of `width_ms` from the first exchange.
#[derive(Debug, Clone, Default)]
struct Timeline {
    start_ms: Option<u64>,
    width_ms: u64,
    buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    requests: u64,
    violating: u64,
    total_us: u64,
    max_us: u64,
}

impl Bucket {
    fn merge(&mut self, other: Bucket) {
        self.requests += other.requests;
        self.violating += other.violating;
        self.total_us += other.total_us;
        self.max_us = self.max_us.max(other.max_us);
    }
}

impl Timeline {
    fn add(&mut self, at_ms: u64, us: u64, violating: bool) {
        let start = *self.start_ms.get_or_insert(at_ms);
        if self.width_ms == 0 {
            self.width_ms = 1_000;
        }
        let mut i = (at_ms.saturating_sub(start) / self.width_ms) as usize;
        // Bounded: each halving doubles the width, and u64 milliseconds halve at most 64 times.
        while i >= MAX_BUCKETS {
            let merged = self
                .buckets
                .chunks(2)
                .map(|pair| {
                    pair.iter().fold(Bucket::default(), |mut acc, b| {
                        acc.merge(*b);
                        acc
                    })
                })
                .collect();
            self.buckets = merged;
            self.width_ms = self.width_ms.saturating_mul(2);
            i = (at_ms.saturating_sub(start) / self.width_ms) as usize;
        }
        if self.buckets.len() <= i {
            self.buckets.resize(i + 1, Bucket::default());
        }
        self.buckets[i].merge(Bucket { requests: 1, violating: u64::from(violating), total_us: us, max_us: us });
    }
}

impl Coverage {
    /// Tally a batch of finished exchanges (the journal's writer thread, once per batch).
    pub fn observe(&self, batch: &[Arc<Exchange>]) {
        let mut t = self.tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let t = &mut *t;
        for ex in batch {
            t.requests += 1;
            let violating = !ex.violations.is_empty();
            t.timeline.add(ex.started_ms, ex.duration_us, violating);
            let Some(label) = &ex.operation else {
                t.unmatched_requests += 1;
                t.scratch.clear();
                let _ = write!(t.scratch, "{} {}", ex.method, ex.path);
                if let Some(c) = t.unmatched.get_mut(t.scratch.as_str()) {
                    c.add(violating);
                } else if t.unmatched.len() < MAX_UNMATCHED {
                    let mut c = Count::default();
                    c.add(violating);
                    t.unmatched.insert(t.scratch.clone(), c);
                }
                continue;
            };
            let op = t.ops.entry(OpKey(Arc::clone(label))).or_default();
            op.count.add(violating);
            op.statuses.entry(ex.status).or_default().add(violating);
            op.total_us += ex.duration_us;
            op.max_us = op.max_us.max(ex.duration_us);
            note_params(op, ex, &mut t.scratch);
            note_fields(op, ex, &mut t.scratch);
            for p in &ex.violations {
                indexless(&p.location, &mut t.scratch);
                if let Some(n) = op.problems.get_mut(t.scratch.as_str()) {
                    *n += 1;
                } else if op.problems.len() < MAX_PROBLEMS {
                    op.problems.insert(t.scratch.clone(), 1);
                }
            }
        }
    }

    /// Forget everything (the journal was cleared).
    pub fn clear(&self) {
        *self.tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Tally::default();
    }

    /// The coverage of `specs` (the mounted specs, in mount order) so far.
    pub fn report(&self, specs: &[&Spec]) -> Report {
        let t = self.tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Tallies whose label no mounted operation shares (the specs were reloaded) are matched
        // by name, to the first operation of that name.
        let mut by_name: HashMap<&str, OpTally> = HashMap::new();
        let live: std::collections::HashSet<*const u8> =
            specs.iter().flat_map(|s| s.operations.iter().map(|o| Arc::as_ptr(&o.label) as *const u8)).collect();
        for (key, tally) in &t.ops {
            if !live.contains(&(Arc::as_ptr(&key.0) as *const u8)) {
                by_name.entry(&key.0).or_default().merge(tally);
            }
        }
        let mut report = Report::default();
        for spec in specs {
            let mut rows = Vec::with_capacity(spec.operations.len());
            let mut columns = std::collections::BTreeSet::new();
            for op in &spec.operations {
                let mut tally = t.ops.get(&OpKey(Arc::clone(&op.label))).cloned();
                if let Some(extra) = by_name.remove(op.label()) {
                    tally.get_or_insert_with(OpTally::default).merge(&extra);
                }
                columns.extend(op.responses.iter().map(|r| r.status));
                rows.push(operation_row(spec, op, tally.as_ref().unwrap_or(&OpTally::default())));
            }
            for row in rows.iter().filter(|r| r.requests == 0) {
                report.unexercised.push(OperationRef {
                    spec: spec.title.clone(),
                    operation: row.operation.clone(),
                    method: row.method.clone(),
                    path: row.path.clone(),
                });
            }
            let summary = Summary::of(&rows);
            report.summary.add(&summary);
            report.specs.push(SpecCoverage {
                title: spec.title.clone(),
                version: spec.version.clone(),
                base_path: spec.base_path.clone(),
                statuses: columns.iter().map(ToString::to_string).collect(),
                summary,
                operations: rows,
            });
        }
        // Requests of operations that are no longer mounted count as unmatched.
        let gone: u64 = by_name.values().map(|o| o.count.requests).sum();
        report.unmatched = Unmatched {
            requests: t.unmatched_requests + gone,
            examples: t
                .unmatched
                .iter()
                .map(|(k, c)| {
                    let (method, path) = k.split_once(' ').unwrap_or((k, ""));
                    UnmatchedExample { method: method.into(), path: path.into(), requests: c.requests }
                })
                .collect(),
        };
        report.summary.requests = t.requests;
        report.summary.unmatched = report.unmatched.requests;
        report.timeline = TimelineReport {
            started_at: t.timeline.start_ms.map(|ms| crate::util::time::format_rfc3339((ms / 1000) as i64)),
            started_ms: t.timeline.start_ms,
            bucket_ms: t.timeline.width_ms.max(1_000),
            buckets: t
                .timeline
                .buckets
                .iter()
                .map(|b| TimelineBucket {
                    requests: b.requests,
                    violating: b.violating,
                    avg_ms: if b.requests == 0 { 0.0 } else { round_ms(b.total_us as f64 / b.requests as f64) },
                    max_ms: round_ms(b.max_us as f64),
                })
                .collect(),
        };
        report
    }
}

/// Microseconds as milliseconds with 3 decimals.
fn round_ms(us: f64) -> f64 {
    (us).round() / 1000.0
}

/// `body.items[0].sku` → `body.items[].sku` into `out` (problems of every element count together).
fn indexless(location: &str, out: &mut String) {
    out.clear();
    let mut in_index = false;
    for c in location.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            c if in_index && c.is_ascii_digit() => {}
            c => out.push(c),
        }
    }
}

/// The query, header and cookie names an exchange sent.
fn note_params(op: &mut OpTally, ex: &Exchange, scratch: &mut String) {
    let id = ex.id;
    for pair in ex.query.as_deref().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let raw = pair.split_once('=').map_or(pair, |(k, _)| k);
        scratch.clear();
        scratch.push_str("query.");
        push_decoded(scratch, raw);
        see(&mut op.params, scratch, id);
    }
    for (name, value) in ex.request_headers.iter() {
        scratch.clear();
        scratch.push_str("header.");
        scratch.push_str(name);
        see(&mut op.params, scratch, id);
        if name == "cookie" {
            for c in String::from_utf8_lossy(value).split(';') {
                let cname = c.split_once('=').map_or(c, |(k, _)| k).trim();
                if !cname.is_empty() {
                    scratch.clear();
                    scratch.push_str("cookie.");
                    scratch.push_str(cname);
                    see(&mut op.params, scratch, id);
                }
            }
        }
    }
}

/// Percent-decode a form-encoded name (`+` is a space) onto `out`.
fn push_decoded(out: &mut String, raw: &str) {
    if !raw.contains(['%', '+']) {
        out.push_str(raw);
        return;
    }
    let spaced = raw.replace('+', " ");
    out.push_str(&percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy());
}

/// The body field paths an exchange sent (JSON and form bodies).
fn note_fields(op: &mut OpTally, ex: &Exchange, scratch: &mut String) {
    let body = &ex.request_body;
    if body.is_empty() || body.len() > MAX_SCAN {
        return;
    }
    let ct = ex.request_headers.get_str("content-type");
    let id = ex.id;
    if crate::spec::model::is_form_mime(ct) {
        for pair in String::from_utf8_lossy(body).split('&').filter(|p| !p.is_empty()) {
            scratch.clear();
            push_decoded(scratch, pair.split_once('=').map_or(pair, |(k, _)| k));
            see(&mut op.fields, scratch, id);
        }
        return;
    }
    if !body.first().is_some_and(|b| matches!(b, b'{' | b'[' | b' ' | b'\n' | b'\r' | b'\t')) {
        return;
    }
    scratch.clear();
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut record = |path: &str| see(&mut op.fields, path, id);
    // A body that is not JSON simply yields the fields read before the error.
    let _ = serde::de::DeserializeSeed::deserialize(FieldPaths { path: scratch, record: &mut record, depth: 0 }, &mut de);
}

/// One row of the report: an operation, its declared statuses and what was sent.
fn operation_row(spec: &Spec, op: &Operation, t: &OpTally) -> OperationCoverage {
    // Each observed status counts for the declared response that answers it (exact code, then
    // range, then `default`), as OpenAPI picks it.
    let mut statuses: Vec<StatusCoverage> =
        op.responses.iter().map(|r| StatusCoverage { status: r.status.to_string(), requests: 0, violating: 0 }).collect();
    let mut undeclared = Vec::new();
    for (code, c) in &t.statuses {
        match op.responses.iter().position(|r| r.status.covers(*code)) {
            Some(i) => {
                statuses[i].requests += c.requests;
                statuses[i].violating += c.violating;
            }
            None => undeclared.push(UndeclaredStatus { status: *code, requests: c.requests, violating: c.violating }),
        }
    }
    // Parameters: declared ones with how many requests sent them, then undeclared query ones.
    let sent_as = |loc: ParamLocation, name: &str| -> u64 {
        match loc {
            ParamLocation::Path => t.count.requests,
            ParamLocation::Header => t.params.get(&format!("header.{}", name.to_ascii_lowercase())).map_or(0, |s| s.requests),
            ParamLocation::Cookie => t.params.get(&format!("cookie.{name}")).map_or(0, |s| s.requests),
            // deepObject and bracketed forms (`filter[status]`) count for `filter`.
            ParamLocation::Query => t
                .params
                .iter()
                .filter_map(|(k, s)| {
                    let rest = k.strip_prefix("query.")?.strip_prefix(name)?;
                    (rest.is_empty() || rest.starts_with('[') || rest.starts_with('.')).then_some(s.requests)
                })
                .max()
                .unwrap_or(0),
        }
    };
    let parameters: Vec<ParamCoverage> = op
        .params
        .iter()
        .map(|p| ParamCoverage {
            name: p.name.clone(),
            location: p.location.as_str(),
            required: p.required,
            sent: sent_as(p.location, &p.name),
        })
        .collect();
    let undeclared_parameters = t
        .params
        .iter()
        .filter_map(|(k, s)| {
            let name = k.strip_prefix("query.")?;
            let declared = op.params.iter().any(|p| {
                p.location == ParamLocation::Query
                    && name.strip_prefix(p.name.as_str()).is_some_and(|r| r.is_empty() || r.starts_with('[') || r.starts_with('.'))
            });
            (!declared).then(|| SentName { name: name.to_string(), sent: s.requests })
        })
        .collect();
    let declared = declared_fields(spec, op);
    let body_fields = declared.iter().map(|f| SentName { name: f.clone(), sent: t.fields.get(f).map_or(0, |s| s.requests) }).collect();
    let undeclared_body_fields = t
        .fields
        .iter()
        .filter(|(k, _)| !declared.iter().any(|d| d == *k))
        .map(|(k, s)| SentName { name: k.clone(), sent: s.requests })
        .collect();
    OperationCoverage {
        operation: op.label().to_string(),
        method: op.method.as_str().to_string(),
        path: op.path.clone(),
        summary: op.summary.clone(),
        requests: t.count.requests,
        violating: t.count.violating,
        statuses,
        undeclared_statuses: undeclared,
        parameters,
        undeclared_parameters,
        body_fields,
        undeclared_body_fields,
        problems: t.problems.iter().map(|(l, n)| ProblemCount { location: l.clone(), count: *n }).collect(),
        avg_ms: if t.count.requests == 0 { None } else { Some(round_ms(t.total_us as f64 / t.count.requests as f64)) },
        max_ms: (t.count.requests > 0).then(|| round_ms(t.max_us as f64)),
    }
}
