//! Recording: what happened to each request, kept, written and read back.
//!
//! Takes a finished [`Exchange`] (the pipeline builds one per request, rejections and unmatched
//! requests too) and hands it to the [`Recorder`] ([`journal`]): the journal for the admin API,
//! the HAR file ([`har`]), the completion line through `tracing`, and the contract report
//! ([`junit`]). The recorded HAR is read back by [`replay`] (serve it) and [`verify`] (re-send
//! it and compare).

pub mod har;
pub mod journal;
pub mod junit;
pub mod redact;
pub mod replay;
pub mod verify;

use std::sync::Arc;

use crate::reject::Problem;

pub use journal::{LogFormat, OperationReport, RecordOptions, Recorder, EXCHANGE_TARGET};

/// One request and its answer.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub id: u64,
    /// Epoch milliseconds when the request arrived.
    pub started_ms: u64,
    pub duration_us: u64,
    /// Standard methods are constants: no allocation per exchange.
    pub method: axum::http::Method,
    pub path: String,
    pub query: Option<String>,
    /// Copied out of hyper's read buffer (see [`HeaderList`]); the body likewise.
    pub request_headers: HeaderList,
    pub request_body: axum::body::Bytes,
    pub status: u16,
    /// The response's headers and body: kept only when recording a HAR file or with
    /// `RecordOptions::keep_responses` (empty otherwise).
    pub response_headers: HeaderList,
    pub response_body: axum::body::Bytes,
    /// The operation it matched (`operationId` or `METHOD /path`).
    pub operation: Option<Arc<str>>,
    /// Where the answer came from (`fixture`, `generated`, `state`, …), if standin answered it.
    pub source: Option<std::borrow::Cow<'static, str>>,
    /// Contract violations of the request (the problems of a 400/422).
    pub violations: Vec<Problem>,
    /// Problems with constraints the spec marks inferred: the request was answered anyway.
    pub warnings: Vec<Problem>,
    /// The caller's credential, masked (`ke_l…`).
    pub tenant: Option<String>,
    /// The mount's API-key names (header, query, cookie), for [`redact`]; empty when the
    /// exchange has nothing they could be in.
    pub secrets: Arc<Vec<String>>,
    /// The request body members its operation's spec marks `writeOnly`, for [`redact`]
    /// (shared with the operation); `None` when there are none.
    pub write_only: Option<Arc<[String]>>,
}

/// Headers as the journal keeps them: every name and value copied into one allocation.
///
/// hyper's header values, and a body that came in the same read, are slices of its connection
/// read buffer. Kept for the journal's lifetime, they pinned that buffer: 13 MB resident for a
/// 1,000-entry journal (8–16 KB per entry for a 300-byte request), and hyper allocated a fresh
/// buffer for nearly every request because the old one was never its alone again. One copy of
/// a few hundred bytes costs less than either.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HeaderList {
    /// `[name length: u32 LE][name][value length: u32 LE][value]`, once per header, in order.
    packed: Box<[u8]>,
}

impl HeaderList {
    /// A copy of `map`, repeated names included, in its iteration order.
    pub fn copy_of(map: &axum::http::HeaderMap) -> HeaderList {
        let len: usize = map.iter().map(|(n, v)| 8 + n.as_str().len() + v.len()).sum();
        let mut packed = Vec::with_capacity(len);
        for (name, value) in map {
            for part in [name.as_str().as_bytes(), value.as_bytes()] {
                packed.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_le_bytes());
                packed.extend_from_slice(&part[..part.len().min(u32::MAX as usize)]);
            }
        }
        HeaderList { packed: packed.into_boxed_slice() }
    }

    /// Name (lowercase) and value of each header, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        let mut rest: &[u8] = &self.packed;
        let mut take = move || -> Option<&[u8]> {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let len = (u32::from_le_bytes(*len) as usize).min(tail.len());
            let (part, tail) = tail.split_at(len);
            rest = tail;
            Some(part)
        };
        std::iter::from_fn(move || {
            let name = take()?;
            let value = take()?;
            Some((std::str::from_utf8(name).unwrap_or(""), value))
        })
    }

    /// The first value of `name` (any case).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// The first value of `name` as text; empty when missing or not UTF-8.
    pub fn get_str(&self, name: &str) -> &str {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok()).unwrap_or("")
    }

    /// Whether there are no headers (a response not kept for the recording).
    pub fn is_empty(&self) -> bool {
        self.packed.is_empty()
    }
}

impl std::fmt::Debug for HeaderList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(|(n, v)| (n, String::from_utf8_lossy(v)))).finish()
    }
}

/// The path and query of a recorded URL (`http://host/a?b=1` → `/a?b=1`).
pub fn path_and_query(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    after_scheme.find('/').map_or("/", |i| &after_scheme[i..])
}

pub use crate::util::text::parse_query;

#[cfg(test)]
mod tests {
    use super::HeaderList;
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn header_list_keeps_every_header_in_order_and_owns_its_bytes() {
        let mut map = HeaderMap::new();
        map.append("x-api-key", HeaderValue::from_static("ke_live_1"));
        map.append("accept", HeaderValue::from_static("application/json"));
        map.append("accept", HeaderValue::from_static("text/plain"));
        map.append("x-binary", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        map.append("x-empty", HeaderValue::from_static(""));
        let list = HeaderList::copy_of(&map);
        drop(map);
        let got: Vec<(&str, &[u8])> = list.iter().collect();
        assert_eq!(
            got,
            vec![
                ("x-api-key", &b"ke_live_1"[..]),
                ("accept", b"application/json"),
                ("accept", b"text/plain"),
                ("x-binary", b"caf\xe9"),
                ("x-empty", b"")
            ]
        );
        assert_eq!(list.get_str("Accept"), "application/json", "the first value, any case");
        assert_eq!(list.get_str("x-binary"), "", "not UTF-8 reads as empty text");
        assert_eq!(list.get("x-binary"), Some(&b"caf\xe9"[..]));
        assert_eq!(list.get("missing"), None);
        assert!(HeaderList::copy_of(&HeaderMap::new()).is_empty());
    }
}
