//! HAR 1.2: the typed entry the recorder writes and `replay` and `verify` read, and a file
//! that is complete and readable after every entry.
//!
//! Takes finished [`Exchange`]s (from the journal's writer thread) and hands back a file; takes
//! a file and hands back its [`Entry`]s. standin's own data goes in HAR's `_`-prefixed custom
//! fields (`_standin`: id, operation, source, violations). Secrets are redacted unless asked
//! otherwise.
//!
//! # Implementation rationale
//! The file is written as `{"log":{…,"entries":[` on one line, then each entry on a line of its
//! own (every line but the last entry's ends in `,`; JSON strings escape newlines, so an entry never spans
//! lines), then the closing `]}}`. Each new entry is written over the closing together with a
//! fresh closing, in one `write_all` at the closing's offset: between entries the file is always
//! a complete HAR document. Rewriting the whole file per entry, or writing the closing only at
//! shutdown, was rejected: the first costs a full write per request, the second leaves a file no
//! HAR reader opens after a crash.
//!
//! A write the process dies in (a `kill -9` during a multi-page entry: the kernel may have
//! copied only some pages) can leave the file ending in part of one entry and no closing. No
//! in-place scheme avoids that without a rename per entry; instead [`read`] recovers such a file:
//! every complete entry line is kept, the torn last line is dropped with a warning. Only the
//! entry being written when the process died is lost, and it had not been answered yet (the
//! recorder answers after the write, see [`super::journal`]).
//!
//! Reading is lenient (HAR files from browsers and proxies leave out `cache`, `timings`,
//! `cookies`…): only `request.method`, `request.url` and `response.status` are required.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Exchange, HeaderList};

/// Closes the `entries` array and the document.
const CLOSE: &[u8] = b"\n]}}\n";
/// What a redacted header or query value reads as.
pub use super::redact::REDACTED;

/// A HAR document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Har {
    pub log: Log,
}

/// The `log` object; `entries` is written last, so the file can be appended to (see the module
/// doc).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Log {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub creator: Creator,
    pub entries: Vec<Entry>,
}

/// The program that wrote the file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Creator {
    pub name: String,
    pub version: String,
}

/// One request and its answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// RFC 3339 with milliseconds, UTC.
    #[serde(default)]
    pub started_date_time: String,
    /// Total milliseconds.
    #[serde(default)]
    pub time: f64,
    pub request: Request,
    pub response: Response,
    #[serde(default)]
    pub cache: serde_json::Map<String, Value>,
    #[serde(default)]
    pub timings: Timings,
    /// standin's own fields; absent in files other tools wrote.
    #[serde(rename = "_standin", default, skip_serializing_if = "Option::is_none")]
    pub standin: Option<StandinFields>,
}

/// A recorded request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub method: String,
    /// Absolute URL (`http://host/path?query`).
    pub url: String,
    #[serde(default)]
    pub http_version: String,
    #[serde(default)]
    pub headers: Vec<Pair>,
    #[serde(default)]
    pub query_string: Vec<Pair>,
    #[serde(default)]
    pub cookies: Vec<Value>,
    #[serde(default = "unknown_size")]
    pub headers_size: i64,
    #[serde(default = "unknown_size")]
    pub body_size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_data: Option<PostData>,
}

/// A recorded request body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostData {
    #[serde(default)]
    pub mime_type: String,
    #[serde(default)]
    pub text: String,
    /// `base64` when the body is not UTF-8 (HAR has no encoding field for request bodies).
    #[serde(rename = "_encoding", default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

/// A recorded answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub status: u16,
    #[serde(default)]
    pub status_text: String,
    #[serde(default)]
    pub http_version: String,
    #[serde(default)]
    pub headers: Vec<Pair>,
    #[serde(default)]
    pub cookies: Vec<Value>,
    #[serde(default)]
    pub content: Content,
    #[serde(rename = "redirectURL", default)]
    pub redirect_url: String,
    #[serde(default = "unknown_size")]
    pub headers_size: i64,
    #[serde(default = "unknown_size")]
    pub body_size: i64,
}

/// A recorded response body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    #[serde(default)]
    pub size: i64,
    #[serde(default)]
    pub mime_type: String,
    #[serde(default)]
    pub text: String,
    /// `base64` when the body is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

/// A header or query parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    pub name: String,
    pub value: String,
}

/// Milliseconds per phase; standin knows only the whole (`wait`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timings {
    #[serde(default)]
    pub send: f64,
    #[serde(default)]
    pub wait: f64,
    #[serde(default)]
    pub receive: f64,
}

/// The `_standin` fields of an entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StandinFields {
    /// The exchange's number in the journal.
    #[serde(default)]
    pub id: u64,
    /// The operation it matched (`operationId` or `METHOD /path`).
    #[serde(default)]
    pub operation: Option<String>,
    /// Where the answer came from (`fixture`, `generated`, `state`, …).
    #[serde(default)]
    pub source: Option<String>,
    /// The request's contract violations (`location`, `message`, `keyword`).
    #[serde(default)]
    pub violations: Vec<Value>,
}

fn unknown_size() -> i64 {
    -1
}

impl Entry {
    /// The path and query of the recorded URL (`http://host/a?b=1` → `/a?b=1`).
    pub fn path_and_query(&self) -> &str {
        super::path_and_query(&self.request.url)
    }

    /// The response body as bytes (base64 decoded when recorded so); `None` when the base64 is
    /// invalid.
    pub fn response_body(&self) -> Option<Vec<u8>> {
        let c = &self.response.content;
        if c.encoding.as_deref() == Some("base64") {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(&c.text).ok()
        } else {
            Some(c.text.as_bytes().to_vec())
        }
    }
}

/// Read a HAR file. Errors name the file and, for a bad entry, its pointer. A file standin was
/// writing when it died mid-entry is read up to its last complete entry, with a warning (see
/// the module doc).
pub fn read(path: &Path) -> Result<Vec<Entry>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Value = match serde_json::from_str(&text) {
        Ok(doc) => doc,
        Err(e) => match recover_torn(&text) {
            Some((doc, dropped)) => {
                tracing::warn!("{}: the recording ends in a torn entry ({dropped} bytes, cut by a crash while it was written); read up to the last complete entry", path.display());
                doc
            }
            None => return Err(format!("{}: not JSON: {e}", path.display())),
        },
    };
    let Some(Value::Array(list)) = doc.pointer("/log/entries") else {
        return Err(format!("{}#/log/entries: not a HAR file (no entries array)", path.display()));
    };
    list.iter()
        .enumerate()
        .map(|(i, e)| Entry::deserialize(e).map_err(|err| format!("{}#/log/entries/{i}: {err}", path.display())))
        .collect()
}

/// A HAR file in standin's line layout whose last entry is torn: the document made of its
/// complete entries, and how many bytes were dropped. `None` when it is not in that layout.
fn recover_torn(text: &str) -> Option<(Value, usize)> {
    let mut lines = text.split('\n');
    let head = lines.next()?;
    if !head.starts_with("{\"log\":") || !head.ends_with("\"entries\":[") {
        return None;
    }
    let mut doc: Value = serde_json::from_str(&format!("{head}]}}}}")).ok()?;
    let mut entries = Vec::new();
    let mut kept = head.len();
    for line in lines {
        let Ok(entry) = serde_json::from_str::<Value>(line.strip_suffix(',').unwrap_or(line)) else { break };
        entries.push(entry);
        kept += 1 + line.len();
    }
    *doc.pointer_mut("/log/entries")? = Value::Array(entries);
    Some((doc, text.len().saturating_sub(kept)))
}

/// An open HAR file.
#[derive(Debug)]
pub struct HarFile {
    file: File,
    entries: u64,
    /// Where the closing `]}}` starts: the next entry is written there.
    close_at: u64,
}

impl HarFile {
    /// Create (or replace) the file with an empty log.
    pub fn create(path: &Path) -> std::io::Result<HarFile> {
        let empty = Har {
            log: Log {
                version: "1.2".into(),
                creator: Creator { name: "standin".into(), version: env!("CARGO_PKG_VERSION").into() },
                entries: Vec::new(),
            },
        };
        let text = serde_json::to_string(&empty)?;
        // `entries` is the last member of the last object: the document ends `[]}}`.
        let open = text.strip_suffix("]}}").ok_or_else(|| std::io::Error::other("the HAR log does not end with its entries"))?;
        let mut file = File::create(path)?;
        file.write_all(open.as_bytes())?;
        file.write_all(CLOSE)?;
        file.sync_data()?;
        Ok(HarFile { file, entries: 0, close_at: open.len() as u64 })
    }

    /// Append one exchange, keeping the file complete: entry and new closing in one write over
    /// the old closing (see the module doc for a write cut short).
    pub fn append(&mut self, e: &Exchange, keep_secrets: bool) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(1024 + e.request_body.len() + e.response_body.len());
        if self.entries > 0 {
            bytes.push(b',');
        }
        bytes.push(b'\n');
        serde_json::to_writer(&mut bytes, &entry(e, keep_secrets))?;
        bytes.extend_from_slice(CLOSE);
        self.file.seek(SeekFrom::Start(self.close_at))?;
        self.file.write_all(&bytes)?;
        self.file.flush()?;
        self.close_at += (bytes.len() - CLOSE.len()) as u64;
        self.entries += 1;
        Ok(())
    }
}

use super::redact::is_secret;

fn pair(name: &str, value: String, secrets: &[String], keep: bool) -> Pair {
    let value = if !keep && is_secret(name, secrets) { REDACTED.to_string() } else { value };
    Pair { name: name.to_string(), value }
}

fn header_pairs(list: &HeaderList, secrets: &[String], keep: bool) -> Vec<Pair> {
    list.iter().map(|(n, v)| pair(n, String::from_utf8_lossy(v).into_owned(), secrets, keep)).collect()
}

/// Body bytes as HAR text: as is when UTF-8, else base64 with the encoding named.
fn body_text(bytes: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), None),
        Err(_) => {
            use base64::Engine;
            (base64::engine::general_purpose::STANDARD.encode(bytes), Some("base64".into()))
        }
    }
}

/// `2026-12-03T10:00:00.123Z`.
fn started_date_time(started_ms: u64) -> String {
    crate::util::time::format_rfc3339_millis(started_ms)
}

/// The HAR entry of an exchange.
pub fn entry(e: &Exchange, keep_secrets: bool) -> Entry {
    let host = e.request_headers.get_str("host");
    let host = if host.is_empty() { "localhost" } else { host };
    let query: Vec<(String, String)> = e.query.as_deref().map(super::parse_query).unwrap_or_default();
    let url = match &e.query {
        None => format!("http://{host}{}", e.path),
        Some(q) => match (!keep_secrets).then(|| super::redact::query(q, &e.secrets)).flatten() {
            Some(redacted) => format!("http://{host}{}?{redacted}", e.path),
            None => format!("http://{host}{}?{q}", e.path),
        },
    };
    let post_data = (!e.request_body.is_empty()).then(|| {
        let (text, encoding) = body_text(&e.request_body);
        PostData { mime_type: e.request_headers.get_str("content-type").to_string(), text, encoding }
    });
    let (text, encoding) = body_text(&e.response_body);
    let ms = e.duration_us as f64 / 1000.0;
    Entry {
        started_date_time: started_date_time(e.started_ms),
        time: ms,
        request: Request {
            method: e.method.as_str().to_string(),
            url,
            http_version: "HTTP/1.1".into(),
            headers: header_pairs(&e.request_headers, &e.secrets, keep_secrets),
            query_string: query.into_iter().map(|(n, v)| pair(&n, v, &e.secrets, keep_secrets)).collect(),
            cookies: Vec::new(),
            headers_size: -1,
            body_size: e.request_body.len() as i64,
            post_data,
        },
        response: Response {
            status: e.status,
            status_text: axum::http::StatusCode::from_u16(e.status).ok().and_then(|s| s.canonical_reason()).unwrap_or("").to_string(),
            http_version: "HTTP/1.1".into(),
            headers: header_pairs(&e.response_headers, &e.secrets, keep_secrets),
            cookies: Vec::new(),
            content: Content {
                size: e.response_body.len() as i64,
                mime_type: e.response_headers.get_str("content-type").to_string(),
                text,
                encoding,
            },
            redirect_url: String::new(),
            headers_size: -1,
            body_size: e.response_body.len() as i64,
        },
        cache: serde_json::Map::new(),
        timings: Timings { send: 0.0, wait: ms, receive: 0.0 },
        standin: Some(StandinFields {
            id: e.id,
            operation: e.operation.as_deref().map(str::to_string),
            source: e.source.as_deref().map(str::to_string),
            violations: e.violations.iter().filter_map(|p| serde_json::to_value(p).ok()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn exchange(id: u64) -> Exchange {
        let mut req = axum::http::HeaderMap::new();
        req.insert("host", "api.test".parse().unwrap());
        req.insert("x-api-key", "ke_live_secret".parse().unwrap());
        req.insert("content-type", "application/json".parse().unwrap());
        let mut resp = axum::http::HeaderMap::new();
        resp.insert("content-type", "application/octet-stream".parse().unwrap());
        Exchange {
            id,
            started_ms: 1_764_756_000_123,
            duration_us: 1_500,
            method: axum::http::Method::POST,
            path: "/deals".into(),
            query: Some("key=ke_live_secret&q=a+b".into()),
            request_headers: HeaderList::copy_of(&req),
            request_body: axum::body::Bytes::from_static(b"{\"name\": 5}"),
            status: 400,
            response_headers: HeaderList::copy_of(&resp),
            response_body: axum::body::Bytes::from_static(b"\xff\x00binary"),
            operation: Some(Arc::from("createDeal")),
            source: None,
            violations: vec![crate::reject::Problem {
                location: "body.name".into(),
                message: "5 is not of type \"string\"".into(),
                keyword: Some("type".into()),
            }],
            warnings: Vec::new(),
            tenant: None,
            secrets: Arc::new(vec!["x-api-key".into(), "key".into()]),
            write_only: None,
        }
    }

    #[test]
    fn a_har_standin_writes_round_trips_through_the_typed_reader() {
        // Arrange
        let dir = std::env::temp_dir().join(format!("standin-har-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("round-trip.har");
        let mut file = HarFile::create(&path).unwrap();
        assert!(read(&path).unwrap().is_empty(), "a new file is a complete, empty HAR");

        // Act
        file.append(&exchange(1), false).unwrap();
        file.append(&exchange(2), false).unwrap();
        let entries = read(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).ok();

        // Assert
        assert_eq!(entries.len(), 2);
        let e = &entries[1];
        assert_eq!((e.request.method.as_str(), e.response.status), ("POST", 400));
        assert_eq!(e.path_and_query(), "/deals?key=%5Bredacted%5D&q=a+b", "the credential in the query is redacted");
        assert!(!text.contains("ke_live_secret"), "{text}");
        assert!(e.request.headers.contains(&Pair { name: "x-api-key".into(), value: REDACTED.into() }));
        assert_eq!(e.request.query_string[1], Pair { name: "q".into(), value: "a b".into() });
        assert_eq!(e.request.post_data.as_ref().map(|p| p.text.as_str()), Some("{\"name\": 5}"));
        assert_eq!(e.response_body().as_deref(), Some(&b"\xff\x00binary"[..]), "binary bodies come back byte for byte");
        assert_eq!(e.started_date_time, "2025-12-03T10:00:00.123Z");
        let standin = e.standin.as_ref().unwrap();
        assert_eq!((standin.id, standin.operation.as_deref()), (2, Some("createDeal")));
        assert_eq!(standin.violations[0]["location"], "body.name");
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["log"]["version"], "1.2");
        assert_eq!(doc["log"]["creator"]["name"], "standin");
    }

    #[test]
    fn a_file_torn_in_its_last_entry_reads_up_to_the_last_complete_entry() {
        let dir = std::env::temp_dir().join(format!("standin-har-torn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("torn.har");
        let mut file = HarFile::create(&path).unwrap();
        file.append(&exchange(1), false).unwrap();
        file.append(&exchange(2), false).unwrap();
        let whole = std::fs::read(&path).unwrap();
        // The separator `,\n` never occurs inside an entry (strings escape newlines).
        let second = whole.windows(2).rposition(|w| w == b",\n").unwrap();
        // Every cut inside the second entry, and one just after the first entry's closing.
        let mut reads = Vec::new();
        for cut in [second, second + 1, second + 2, second + 40, whole.len() - CLOSE.len() - 1, whole.len() - 3] {
            std::fs::write(&path, &whole[..cut]).unwrap();
            reads.push((cut, read(&path).map(|e| e.iter().map(|e| e.standin.as_ref().unwrap().id).collect::<Vec<_>>())));
        }
        std::fs::write(&path, "{\"log\": {\"entries\": [").unwrap();
        let foreign = read(&path);
        std::fs::remove_dir_all(&dir).ok();
        for (cut, got) in &reads[..5] {
            assert_eq!(got.as_deref(), Ok(&[1][..]), "cut at {cut}");
        }
        assert_eq!(reads[5].1.as_deref(), Ok(&[1, 2][..]), "a torn closing alone loses nothing");
        assert!(foreign.is_err_and(|e| e.contains("not JSON")), "files of other layouts are not guessed at");
    }

    #[test]
    fn entries_from_other_tools_need_only_method_url_and_status() {
        let dir = std::env::temp_dir().join(format!("standin-har-min-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("min.har");
        let minimal = r#"{"request": {"method": "GET", "url": "https://x.test/a?b=1"}, "response": {"status": 204}}"#;
        std::fs::write(&path, format!(r#"{{"log": {{"entries": [{minimal}]}}}}"#)).unwrap();
        let entries = read(&path).unwrap();
        std::fs::write(
            &path,
            format!(r#"{{"log": {{"entries": [{minimal}, {{"request": {{"url": "/"}}, "response": {{"status": 200}}}}]}}}}"#),
        )
        .unwrap();
        let err = read(&path).unwrap_err();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!((entries[0].path_and_query(), entries[0].response.status), ("/a?b=1", 204));
        assert!(entries[0].standin.is_none() && entries[0].response_body().is_some_and(|b| b.is_empty()));
        assert!(err.contains("min.har#/log/entries/1") && err.contains("method"), "{err}");
    }
}
