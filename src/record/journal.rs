//! The [`Recorder`]: the journal of recent exchanges, the HAR file, the completion line and the
//! contract report, all kept by one writer thread.
//!
//! Takes [`Exchange`]s from the request path through a channel: without a HAR file the request
//! path only pays for a send, and never wakes the writer (it polls; reads of the journal flush
//! it first). With a HAR file it wakes the writer and waits until the entry is written (see
//! below). Hands
//! on the journal (the last `capacity` exchanges, for `GET /__standin/requests` and
//! `/__standin/violations`), HAR entries (when recording), one `tracing` event per exchange on
//! [`EXCHANGE_TARGET`] (the completion line, in the chosen [`LogFormat`]), and per operation
//! the calls and violations since start ([`Recorder::report`], [`Recorder::junit`]).
//!
//! # Implementation rationale
//! A writer thread rather than a lock around the journal on the request path: many requests
//! finish at once on a busy server, and only the writer ever touches the file. Reads of the
//! journal (admin calls) lock it briefly; the request path never does.
//!
//! # Durability of the HAR file
//! When recording, [`Recorder::record`] hands the exchange over with an acknowledgement, wakes
//! the writer and waits (asynchronously, the worker thread is free meanwhile) until the entry is
//! written to the file, so the response leaves only once its entry is in the kernel's page
//! cache: a `kill -9` at any later instant finds it in the file. Not `fsync`ed: the threat is the
//! process dying, not the machine; a power cut may lose the last entries. Exchanges that finish
//! together are written by one wake-up of the writer (group commit), each in one write call (see
//! [`super::har`] for why the file stays readable). Cost: one thread hand-off and one `write`
//! per exchange on the response's path: +0.2 to +0.3 ms median per request, measured on a debug
//! build on a busy 2-core machine (sequential keep-alive GETs). Without a HAR file
//! nothing waits: the journal is memory only and the previous polling hand-off is kept.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{json, Value};

use super::har::HarFile;
use super::Exchange;

/// The `tracing` target of the per-exchange completion line. Its events carry the whole line as
/// their message; the CLI prints them on stdout as they are.
pub const EXCHANGE_TARGET: &str = "standin::exchange";

/// How many exchanges the writer takes from the channel at once (the report and the journal are
/// locked once per batch, not once per exchange).
const BATCH: usize = 256;

/// Violations kept per operation for the report (the count of calls is not bounded).
const MAX_REPORTED_VIOLATIONS: usize = 100;

/// Problems kept per violation in the report: the first ones, then `moreProblems: <count>`.
pub const MAX_REPORTED_PROBLEMS: usize = 20;

/// Problems an exchange keeps in the journal (the HAR file has them all).
pub const MAX_JOURNAL_PROBLEMS: usize = 100;

/// Bytes of a problem's message kept in the report and the journal (a message can quote the
/// offending value).
const MAX_MESSAGE: usize = 1024;

/// How the completion line is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// No line.
    #[default]
    Off,
    /// `GET /api/v1/tags 200 0.4ms fixture`
    Text,
    /// One JSON object per line (the journal's summary of the exchange).
    Json,
}

/// What the writer does with each exchange.
#[derive(Debug, Clone, Default)]
pub struct RecordOptions {
    /// How many exchanges the journal keeps (0: a default of 1,000).
    pub capacity: usize,
    /// The completion line's format.
    pub log: LogFormat,
    /// Append every exchange to this HAR file.
    pub har: Option<std::path::PathBuf>,
    /// Keep credentials in the recording (`--record-secrets`).
    pub keep_secrets: bool,
    /// Keep each response's headers and body in the journal for the inspector page's detail
    /// view (`serve` default; `--no-journal-responses` off). The journal keeps request and
    /// response bodies up to [`crate::ui::KEPT_BODY`] bytes (cut by the writer, off the request
    /// path, after the HAR file got them whole).
    pub keep_responses: bool,
}

enum Message {
    /// Allocated once on the request path and kept as is in the journal (numbered by the
    /// writer while it is still the only reference); the sender, when recording a HAR file, is
    /// told once its entry is written.
    Exchange(Arc<Exchange>, Option<tokio::sync::oneshot::Sender<()>>),
    Flush(mpsc::Sender<()>),
    Close,
}

/// Per operation: how often it was exercised and the violations seen (for the contract report).
#[derive(Debug, Clone, Default)]
pub struct OperationReport {
    /// Exchanges that matched the operation.
    pub calls: u64,
    /// The first violations: `{"exchange", "status", "problems"}` each.
    pub violations: Vec<Value>,
}

type Journal = Arc<Mutex<VecDeque<Arc<Exchange>>>>;
type Report = Arc<Mutex<BTreeMap<String, OperationReport>>>;

/// The journal and its writer.
pub struct Recorder {
    /// No lock on the request path: tokio's unbounded channel is lock-free on send (std's
    /// `mpsc` wakes its receiver through a mutex, which showed up contended under load).
    tx: tokio::sync::mpsc::UnboundedSender<Message>,
    journal: Journal,
    /// Every exchange's operation and violations since start (not bounded by the journal size;
    /// one entry per operation), for the shutdown summary and `--report`.
    report: Report,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Contract coverage since start, fed by the writer once per batch (`crate::coverage`).
    coverage: Arc<crate::coverage::Coverage>,
    /// The writer, to unpark for a flush or close.
    thread: std::thread::Thread,
    keeps_responses: bool,
    /// Whether a HAR file is written (the only output that needs the mount's secret names).
    records_har: bool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

/// The writer thread's state.
struct Writer {
    rx: tokio::sync::mpsc::UnboundedReceiver<Message>,
    options: RecordOptions,
    capacity: usize,
    har: Option<HarFile>,
    journal: Journal,
    report: Report,
    coverage: Arc<crate::coverage::Coverage>,
    next_id: u64,
    batch: Vec<Arc<Exchange>>,
    acks: Vec<mpsc::Sender<()>>,
    /// Request paths waiting for their HAR entry to be written.
    written: Vec<tokio::sync::oneshot::Sender<()>>,
    evicted: Vec<Arc<Exchange>>,
}

impl Writer {
    /// Poll, park, poll: senders never wake this thread (a futex wake per request cost more than
    /// the rest of the hand-off). Flush and close unpark it; otherwise it sleeps 1 ms after work
    /// and backs off to 50 ms when idle, so a log line or a recorded entry lands within that.
    fn run(mut self) {
        let mut idle = 0u32;
        loop {
            let closing = self.take_batch();
            if self.batch.is_empty() && self.acks.is_empty() && !closing {
                std::thread::park_timeout(std::time::Duration::from_millis((1u64 << idle.min(6)).min(50)));
                idle = idle.saturating_add(1);
                continue;
            }
            idle = 0;
            self.write_batch();
            for ack in self.acks.drain(..) {
                let _ = ack.send(());
            }
            if closing {
                break;
            }
        }
    }

    /// Take up to [`BATCH`] messages; true when the recorder is closing.
    fn take_batch(&mut self) -> bool {
        use tokio::sync::mpsc::error::TryRecvError;
        while self.batch.len() < BATCH {
            match self.rx.try_recv() {
                Ok(Message::Exchange(mut ex, ack)) => {
                    self.written.extend(ack);
                    if let Some(e) = Arc::get_mut(&mut ex) {
                        e.id = self.next_id;
                    }
                    self.next_id += 1;
                    self.batch.push(ex);
                }
                Ok(Message::Flush(ack)) => self.acks.push(ack),
                Ok(Message::Close) | Err(TryRecvError::Disconnected) => return true,
                Err(TryRecvError::Empty) => break,
            }
        }
        false
    }

    /// Write the batch to the HAR file and the log, count it in the report, move it into the
    /// journal.
    fn write_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        for ex in &mut self.batch {
            // Credentials leave the query and the body before anything is written; with
            // `--record-secrets` the HAR file alone gets them as sent.
            let keep = self.options.keep_secrets;
            if !keep {
                Arc::get_mut(ex).map(super::redact::exchange);
            }
            if let Some(h) = self.har.as_mut() {
                if let Err(e) = h.append(ex, keep) {
                    tracing::error!("recording stopped: {e}");
                    self.har = None;
                }
            }
            if keep {
                Arc::get_mut(ex).map(super::redact::exchange);
            }
            log_line(self.options.log, ex);
        }
        // Written (or recording stopped): the responses may leave.
        for ack in self.written.drain(..) {
            let _ = ack.send(());
        }
        let mut report = self.report.lock().unwrap_or_else(PoisonError::into_inner);
        for ex in &self.batch {
            let entry = report_entry(&mut report, ex);
            entry.calls += 1;
            if !ex.violations.is_empty() && entry.violations.len() < MAX_REPORTED_VIOLATIONS {
                entry.violations.push(reported_violation(ex));
            }
        }
        drop(report);
        self.coverage.observe(&self.batch);
        // The journal is memory: bodies and problem lists are cut to bounds here, after the HAR
        // file and the tallies have seen them whole.
        for ex in &mut self.batch {
            if let Some(e) = Arc::get_mut(ex) {
                bound_for_journal(e);
            }
        }
        let mut journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        for ex in self.batch.drain(..) {
            if journal.len() >= self.capacity {
                self.evicted.extend(journal.pop_front());
            }
            journal.push_back(ex);
        }
        drop(journal);
        // Old exchanges are freed outside the lock.
        self.evicted.clear();
    }
}

/// A violation as the report keeps it: the first [`MAX_REPORTED_PROBLEMS`] problems, messages
/// cut to [`MAX_MESSAGE`], and how many more there were.
fn reported_violation(ex: &Exchange) -> Value {
    let problems: Vec<Value> = ex
        .violations
        .iter()
        .take(MAX_REPORTED_PROBLEMS)
        .map(|p| {
            let mut p = p.clone();
            cut_message(&mut p.message);
            serde_json::to_value(p).unwrap_or(Value::Null)
        })
        .collect();
    let mut v = json!({"exchange": ex.id, "status": ex.status, "problems": problems});
    if ex.violations.len() > MAX_REPORTED_PROBLEMS {
        v["moreProblems"] = Value::from(ex.violations.len() - MAX_REPORTED_PROBLEMS);
    }
    v
}

/// Cut `message` to [`MAX_MESSAGE`] bytes (on a character boundary), marked with `…`.
fn cut_message(message: &mut String) {
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
}

/// What the journal keeps of an exchange: bodies cut to [`crate::ui::KEPT_BODY`] bytes plus
/// one (the truncation marker the inspector reads), at most [`MAX_JOURNAL_PROBLEMS`] problems
/// with their messages cut.
fn bound_for_journal(e: &mut Exchange) {
    crate::ui::bound_body(&mut e.request_body);
    crate::ui::bound_body(&mut e.response_body);
    for list in [&mut e.violations, &mut e.warnings] {
        list.truncate(MAX_JOURNAL_PROBLEMS);
        list.shrink_to_fit();
        for p in list.iter_mut() {
            cut_message(&mut p.message);
        }
    }
}

/// The report entry of an exchange's operation, created on its first call (the operation's name
/// is copied only then).
fn report_entry<'r>(report: &'r mut BTreeMap<String, OperationReport>, ex: &Exchange) -> &'r mut OperationReport {
    let name = ex.operation.as_deref().map_or_else(|| Cow::Owned(format!("{} {} (no operation)", ex.method, ex.path)), Cow::Borrowed);
    if !report.contains_key(name.as_ref()) {
        report.insert(name.to_string(), OperationReport::default());
    }
    report.get_mut(name.as_ref()).expect("inserted above")
}

impl Recorder {
    /// Start the writer. Fails only when the HAR file cannot be created.
    pub fn start(options: RecordOptions) -> std::io::Result<Recorder> {
        let capacity = if options.capacity == 0 { 1_000 } else { options.capacity };
        let journal: Journal = Arc::default();
        let report: Report = Arc::default();
        let keeps_responses = options.har.is_some() || options.keep_responses;
        let records_har = options.har.is_some();
        let coverage: Arc<crate::coverage::Coverage> = Arc::default();
        let har = match &options.har {
            Some(path) => Some(HarFile::create(path)?),
            None => None,
        };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Message>();
        let writer = Writer {
            rx,
            options,
            capacity,
            har,
            journal: Arc::clone(&journal),
            report: Arc::clone(&report),
            coverage: Arc::clone(&coverage),
            next_id: 1,
            batch: Vec::with_capacity(BATCH),
            acks: Vec::new(),
            written: Vec::new(),
            evicted: Vec::new(),
        };
        let writer = std::thread::Builder::new().name("standin-recorder".into()).spawn(move || writer.run())?;
        let thread = writer.thread().clone();
        Ok(Recorder { keeps_responses, records_har, tx, journal, report, writer: Mutex::new(Some(writer)), coverage, thread })
    }

    /// Whether exchanges need the response headers and body (only the HAR file uses them).
    pub fn keeps_responses(&self) -> bool {
        self.keeps_responses
    }

    /// Whether exchanges need the mount's secret names (only the HAR writer redacts with them).
    pub fn records_har(&self) -> bool {
        self.records_har
    }

    /// The contract coverage so far (everything recorded is tallied first).
    pub fn coverage(&self) -> &crate::coverage::Coverage {
        self.flush();
        &self.coverage
    }

    /// One exchange of the journal, by id (`GET /__standin/requests/{id}`).
    pub fn exchange(&self, id: u64) -> Option<Arc<Exchange>> {
        self.flush();
        let j = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        // Ids grow along the journal: a binary search, not a scan.
        let i = j.partition_point(|e| e.id < id);
        j.get(i).filter(|e| e.id == id).cloned()
    }

    /// Hand an exchange to the writer. Without a HAR file it returns at once; with one it
    /// resolves once the entry is written (the module doc's durability section), so the caller
    /// sends the response after that.
    pub async fn record(&self, exchange: Exchange) {
        if !self.records_har {
            let _ = self.tx.send(Message::Exchange(Arc::new(exchange), None));
            return;
        }
        let (ack, written) = tokio::sync::oneshot::channel();
        if self.tx.send(Message::Exchange(Arc::new(exchange), Some(ack))).is_ok() {
            self.thread.unpark();
            // An error means the writer is gone (closed): nothing more to wait for.
            let _ = written.await;
        }
    }

    /// Wait until everything recorded so far is written.
    pub fn flush(&self) {
        let (ack, done) = mpsc::channel();
        if self.tx.send(Message::Flush(ack)).is_ok() {
            self.thread.unpark();
            let _ = done.recv_timeout(std::time::Duration::from_secs(10));
        }
    }

    /// Stop the writer after it has written everything (shutdown).
    pub fn close(&self) {
        let _ = self.tx.send(Message::Close);
        self.thread.unpark();
        if let Some(w) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = w.join();
        }
    }

    /// The journal as JSON, filtered (`method`, `path` prefix, `status`, `operation`, `tenant`:
    /// the credential, compared masked).
    pub fn list(&self, filter: &[(String, String)]) -> Vec<Value> {
        self.flush();
        let f = |k: &str| filter.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let j = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        j.iter()
            .filter(|e| f("method").is_none_or(|m| m.eq_ignore_ascii_case(e.method.as_str())))
            .filter(|e| f("path").is_none_or(|p| e.path.starts_with(p)))
            .filter(|e| f("status").is_none_or(|s| s == e.status.to_string()))
            .filter(|e| f("operation").is_none_or(|o| e.operation.as_deref() == Some(o)))
            .filter(|e| f("tenant").is_none_or(|t| e.tenant.as_deref() == Some(crate::state::mask(t).as_str())))
            .map(|e| summary(e))
            .collect()
    }

    /// What clients sent, oldest first: method, path, query, the non-volatile headers and the
    /// body (JSON when it parses) — the shape to snapshot in a contract test.
    pub fn sent(&self) -> Vec<Value> {
        self.flush();
        const VOLATILE: [&str; 7] = ["host", "user-agent", "content-length", "accept", "accept-encoding", "connection", "date"];
        let j = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        j.iter()
            .map(|e| {
                let headers: serde_json::Map<String, Value> = e
                    .request_headers
                    .iter()
                    .filter(|(n, _)| !VOLATILE.contains(n))
                    .map(|(n, v)| (n.to_string(), Value::String(String::from_utf8_lossy(v).into_owned())))
                    .collect();
                let body = if e.request_body.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&e.request_body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&e.request_body).into_owned()))
                };
                let mut sent = json!({"method": e.method.as_str(), "path": e.path, "query": e.query, "headers": headers, "body": body, "status": e.status, "operation": e.operation.as_deref()});
                if e.request_body.len() > crate::ui::KEPT_BODY {
                    sent["bodyTruncated"] = Value::Bool(true); // the journal keeps the first bytes only
                }
                sent
            })
            .collect()
    }

    /// Every exchange with contract violations.
    pub fn violations(&self) -> Vec<Value> {
        self.flush();
        let j = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        j.iter().filter(|e| !e.violations.is_empty() || !e.warnings.is_empty()).map(|e| summary(e)).collect()
    }

    /// The contract report so far: operation → calls and violations.
    pub fn report(&self) -> BTreeMap<String, OperationReport> {
        self.flush();
        self.report.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// JUnit XML: one test case per operation exercised, a failure per operation with violations.
    pub fn junit(&self) -> String {
        let cases = self.report().into_iter().map(|(name, r)| super::junit::Case {
            failure: (!r.violations.is_empty()).then(|| super::junit::Failure {
                message: format!("{} of {} calls broke the contract", r.violations.len(), r.calls),
                text: r.violations.iter().map(Value::to_string).collect::<Vec<_>>().join("\n"),
            }),
            name,
        });
        super::junit::render("standin contract", "contract", cases)
    }

    /// Empty the journal.
    pub fn clear(&self) {
        self.flush();
        self.journal.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// The journal's view of an exchange (the admin API and the JSON completion line).
fn summary(e: &Exchange) -> Value {
    let mut v = json!({
        "id": e.id,
        "startedAt": crate::util::time::format_rfc3339((e.started_ms / 1000) as i64),
        "durationMs": e.duration_us as f64 / 1000.0,
        "method": e.method.as_str(),
        "path": e.path,
        "query": e.query,
        "status": e.status,
        "operation": e.operation.as_deref(),
        "source": e.source,
        "tenant": e.tenant,
        "violations": e.violations,
    });
    if !e.warnings.is_empty() {
        // Answered anyway: each is a violation of kind `warning` (an inferred constraint).
        let warnings = e.warnings.iter().filter_map(|p| serde_json::to_value(p).ok()).map(|mut w| {
            w["kind"] = Value::from("warning");
            w
        });
        v["warnings"] = Value::Array(warnings.collect());
    }
    v
}

/// The text completion line: `GET /path?query 200 0.4ms source (n violations)`.
fn text_line(e: &Exchange) -> String {
    let q = e.query.as_deref().map(|q| format!("?{q}")).unwrap_or_default();
    let v = if e.violations.is_empty() { String::new() } else { format!(" ({} violations)", e.violations.len()) };
    format!("{} {}{q} {} {:.1}ms {}{v}", e.method, e.path, e.status, e.duration_us as f64 / 1000.0, e.source.as_deref().unwrap_or("-"))
}

/// One `tracing` event per exchange, its message the whole line.
fn log_line(format: LogFormat, e: &Exchange) {
    match format {
        LogFormat::Off => {}
        LogFormat::Text => tracing::info!(target: EXCHANGE_TARGET, status = e.status, "{}", text_line(e)),
        LogFormat::Json => tracing::info!(target: EXCHANGE_TARGET, status = e.status, "{}", summary(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_line_names_method_path_status_time_source_and_violations() {
        let e = Exchange {
            id: 1,
            started_ms: 0,
            duration_us: 420,
            method: axum::http::Method::GET,
            path: "/api/v1/tags".into(),
            query: Some("limit=0".into()),
            request_headers: Default::default(),
            request_body: Default::default(),
            status: 400,
            response_headers: Default::default(),
            response_body: Default::default(),
            operation: None,
            source: None,
            violations: vec![crate::reject::Problem { location: "query.limit".into(), message: "m".into(), keyword: None }],
            warnings: Vec::new(),
            tenant: None,
            secrets: Arc::default(),
            write_only: None,
        };
        assert_eq!(text_line(&e), "GET /api/v1/tags?limit=0 400 0.4ms - (1 violations)");
        let e = Exchange { query: None, status: 200, violations: Vec::new(), source: Some("fixture".into()), ..e };
        assert_eq!(text_line(&e), "GET /api/v1/tags 200 0.4ms fixture");
    }

    #[test]
    fn the_journal_and_report_keep_bounded_bodies_and_problems_while_the_har_keeps_them_whole() {
        let dir = std::env::temp_dir().join(format!("standin-journal-bounds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let har = dir.join("bounds.har");
        let problem = |i: usize| crate::reject::Problem { location: format!("body.k{i}"), message: "m".repeat(5000), keyword: None };
        let big = axum::body::Bytes::from(vec![b'x'; 9 << 20]);
        let exchange = Exchange {
            id: 0,
            started_ms: 0,
            duration_us: 1,
            method: axum::http::Method::POST,
            path: "/a".into(),
            query: None,
            request_headers: Default::default(),
            request_body: big.clone(),
            status: 400,
            response_headers: Default::default(),
            response_body: big,
            operation: Some(Arc::from("op")),
            source: None,
            violations: (0..500).map(problem).collect(),
            warnings: Vec::new(),
            tenant: None,
            secrets: Arc::default(),
            write_only: None,
        };
        let recorder = Recorder::start(RecordOptions { har: Some(har.clone()), ..Default::default() }).unwrap();
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(recorder.record(exchange));
        let kept = recorder.exchange(1).unwrap();
        let report = recorder.report();
        recorder.close();
        let entries = super::super::har::read(&har).unwrap();
        std::fs::remove_dir_all(&dir).ok();

        assert_eq!((kept.request_body.len(), kept.response_body.len()), (crate::ui::KEPT_BODY + 1, crate::ui::KEPT_BODY + 1));
        assert_eq!(kept.violations.len(), MAX_JOURNAL_PROBLEMS);
        assert!(kept.violations[0].message.len() <= MAX_MESSAGE + 3, "messages are cut");
        let v = &report["op"].violations[0];
        assert_eq!(v["problems"].as_array().unwrap().len(), MAX_REPORTED_PROBLEMS);
        assert_eq!(v["moreProblems"], 500 - MAX_REPORTED_PROBLEMS);
        let whole = &entries[0];
        assert_eq!(whole.request.body_size, 9 << 20, "the HAR keeps the whole body");
        assert_eq!(whole.standin.as_ref().unwrap().violations.len(), 500);
    }
}
