//! HAR 1.2 recording that is a complete, readable file after every entry.
//!
//! The file is written as `{"log":{…,"entries":[` … `]}}`. Each new entry is written over the
//! closing `]}}` together with a fresh closing, in one write: a crash or `kill -9` leaves the
//! file with every entry answered so far and its closing brackets. standin's own data goes in
//! HAR's `_`-prefixed custom fields (`_standin`). Secrets are redacted unless asked otherwise.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use serde_json::{json, Value};

use super::Exchange;

const CLOSE: &[u8] = b"\n]}}\n";
const REDACTED: &str = "[redacted]";

/// An open HAR file.
pub struct HarFile {
    file: File,
    entries: u64,
}

impl HarFile {
    /// Create (or replace) the file with an empty log.
    pub fn create(path: &Path) -> std::io::Result<HarFile> {
        let mut file = File::create(path)?;
        let open = format!("{{\"log\":{{\"version\":\"1.2\",\"creator\":{{\"name\":\"standin\",\"version\":\"{}\"}},\"entries\":[", env!("CARGO_PKG_VERSION"));
        file.write_all(open.as_bytes())?;
        file.write_all(CLOSE)?;
        file.sync_data()?;
        Ok(HarFile { file, entries: 0 })
    }

    /// Append one exchange, keeping the file complete.
    pub fn append(&mut self, e: &Exchange, keep_secrets: bool) -> std::io::Result<()> {
        let entry = entry(e, keep_secrets).to_string();
        let mut bytes = Vec::with_capacity(entry.len() + 8);
        if self.entries > 0 {
            bytes.push(b',');
        }
        bytes.push(b'\n');
        bytes.extend_from_slice(entry.as_bytes());
        bytes.extend_from_slice(CLOSE);
        self.file.seek(SeekFrom::End(-(CLOSE.len() as i64)))?;
        self.file.write_all(&bytes)?;
        self.file.flush()?;
        self.entries += 1;
        Ok(())
    }
}

fn redact(name: &str, value: &str, secrets: &[String], keep: bool) -> String {
    let lower = name.to_ascii_lowercase();
    let secret = lower == "authorization" || lower == "cookie" || lower == "set-cookie" || lower == "proxy-authorization" || secrets.iter().any(|s| s.eq_ignore_ascii_case(name));
    if secret && !keep {
        REDACTED.into()
    } else {
        value.into()
    }
}

fn pairs(list: &[(String, String)], secrets: &[String], keep: bool) -> Vec<Value> {
    list.iter().map(|(n, v)| json!({"name": n, "value": redact(n, v, secrets, keep)})).collect()
}

fn body_text(bytes: &[u8]) -> (String, Option<&'static str>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), None),
        Err(_) => {
            use base64::Engine;
            (base64::engine::general_purpose::STANDARD.encode(bytes), Some("base64"))
        }
    }
}

fn header_list(list: &super::HeaderList) -> Vec<(String, String)> {
    list.iter().map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v).into_owned())).collect()
}

/// The HAR entry of an exchange.
pub fn entry(e: &Exchange, keep_secrets: bool) -> Value {
    let host = e.request_headers.get_str("host");
    let query: Vec<(String, String)> = crate::pipeline::validate::parse_query(e.query.as_deref());
    let url = format!("http://{}{}{}", if host.is_empty() { "localhost" } else { host }, e.path, e.query.as_deref().map(|q| format!("?{q}")).unwrap_or_default());
    let url = if keep_secrets || query.iter().all(|(k, _)| !e.secrets.iter().any(|s| s == k)) { url } else { format!("http://{}{}?{}", host, e.path, query.iter().map(|(k, v)| format!("{k}={}", redact(k, v, &e.secrets, false))).collect::<Vec<_>>().join("&")) };
    let (req_text, req_enc) = body_text(&e.request_body);
    let (resp_text, resp_enc) = body_text(&e.response_body);
    let mut request = json!({
        "method": e.method.as_str(), "url": url, "httpVersion": "HTTP/1.1",
        "headers": pairs(&header_list(&e.request_headers), &e.secrets, keep_secrets),
        "queryString": pairs(&query, &e.secrets, keep_secrets),
        "cookies": [], "headersSize": -1, "bodySize": e.request_body.len(),
    });
    if !e.request_body.is_empty() {
        request["postData"] = json!({"mimeType": e.request_headers.get_str("content-type"), "text": req_text});
        if let Some(enc) = req_enc {
            request["postData"]["_encoding"] = json!(enc);
        }
    }
    let mut content = json!({"size": e.response_body.len(), "mimeType": e.response_headers.get_str("content-type"), "text": resp_text});
    if let Some(enc) = resp_enc {
        content["encoding"] = json!(enc);
    }
    let ms = e.duration_us as f64 / 1000.0;
    json!({
        "startedDateTime": format!("{}.{:03}Z", &crate::respond::fake::format_rfc3339((e.started_ms / 1000) as i64)[..19], e.started_ms % 1000),
        "time": ms,
        "request": request,
        "response": {
            "status": e.status,
            "statusText": axum::http::StatusCode::from_u16(e.status).ok().and_then(|s| s.canonical_reason()).unwrap_or(""),
            "httpVersion": "HTTP/1.1",
            "headers": pairs(&header_list(&e.response_headers), &e.secrets, keep_secrets),
            "cookies": [], "content": content, "redirectURL": "", "headersSize": -1, "bodySize": e.response_body.len(),
        },
        "cache": {},
        "timings": {"send": 0, "wait": ms, "receive": 0},
        "_standin": {"id": e.id, "operation": e.operation.as_deref(), "source": e.source, "violations": e.violations},
    })
}
