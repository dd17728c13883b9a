//! Stage 8, respond: the answer itself, from `respond/` (a `Prefer`ed example, a fixture, the
//! spec's example or generated data) with what the sandbox decided applied to it, built into an
//! HTTP response with the declared headers, `x-standin-source` and any contract warnings.
//!
//! Takes the mount, the routed operation, the request and the sandbox's outcome. Hands on the response
//! and where its body came from.

use std::borrow::Cow;

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use crate::app::Mount;
use crate::reject::{Problem, Rejection};
use crate::respond::{self, Prefer, RespondInput};
use crate::state::Outcome;

use super::route::Routed;
use super::validate;

/// Build the answer for a request that passed every earlier stage.
pub fn answer(
    mount: &Mount,
    seed: u64,
    parts: &Parts,
    body: &[u8],
    routed: &Routed,
    prefer: &Prefer,
    outcome: Option<Outcome>,
) -> Result<(Response, Cow<'static, str>), Rejection> {
    let spec = &mount.spec;
    let op = &spec.operations[routed.op];
    // Each request has its own seed: the same request gets the same generated answer.
    let seed = seed
        ^ crate::util::hash::stable_hash(&[
            parts.method.as_str().as_bytes(),
            op.path.as_bytes(),
            parts.uri.path().as_bytes(),
            parts.uri.query().unwrap_or("").as_bytes(),
            body,
        ]);
    let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let status = outcome.as_ref().and_then(crate::state::status_of);
    let next_page = outcome.as_ref().and_then(crate::state::next_page);
    let mut answer = respond::respond(
        spec,
        op,
        RespondInput { artifacts: &mount.artifacts, prefer, accept, path_params: &routed.params, seed, state: outcome.map(|o| o.body) },
    )?;
    if let Some(status) = status {
        answer.status = status.as_u16();
    }

    // Built in place: `Response::builder()` re-parses every header name and value.
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).map_err(|e| Rejection::internal(format!("response status {}: {e}", answer.status)))?;
    let headers = response.headers_mut();
    if let Some(ct) = answer.content_type {
        headers.insert(header::CONTENT_TYPE, ct);
    }
    for (name, value) in answer.headers {
        headers.append(name, value);
    }
    match next_page {
        Some(next) => crate::state::link_next(headers, parts, next),
        None => drop_foreign_links(headers, parts),
    }
    // Example names come from the spec: keep the header value visible ASCII.
    let source = match &answer.source {
        Cow::Borrowed(s) => Some(HeaderValue::from_static(s)),
        Cow::Owned(s) if s.bytes().all(|c| c.is_ascii_graphic()) => HeaderValue::from_str(s).ok(),
        Cow::Owned(s) => HeaderValue::from_str(&s.chars().map(|c| if c.is_ascii_graphic() { c } else { '_' }).collect::<String>()).ok(),
    };
    if let Some(v) = source {
        headers.insert("x-standin-source", v);
    }
    // Contract warnings (accepted, but outside what the API typically takes).
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let warnings = validate::body_warnings(op, content_type, body);
    if !warnings.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&warnings.join("; ")) {
            headers.insert("x-standin-warning", v);
        }
    }
    Ok((response, answer.source))
}

/// Tell the client its request broke constraints the spec marks inferred (`spec::inferred`) and
/// was answered anyway: one more `X-Standin-Warning` value naming the first problem and the count.
pub fn warn_inferred(response: &mut Response, inferred: &[Problem]) {
    let Some(first) = inferred.first() else { return };
    let n = inferred.len();
    let more = if n > 1 { format!(" (and {} more)", n - 1) } else { String::new() };
    let text = format!(
        "accepted despite {n} problem{} with inferred constraints (not in the vendor's documentation): {} {}{more}",
        if n == 1 { "" } else { "s" },
        first.location,
        first.message
    );
    // Header values are visible ASCII: messages quote the client's values.
    let text: String =
        crate::util::text::short(&text).chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' }).collect();
    if let Ok(v) = HeaderValue::from_str(&text) {
        response.headers_mut().append("x-standin-warning", v);
    }
}

/// Remove a `Link` header that sends the client to another host: an example in the spec
/// (GitHub's `<https://api.github.com/…?page=2>; rel="next"`) would page a client out of the
/// sandbox to the real vendor. Without the sandbox's pages the answer is the only page.
fn drop_foreign_links(headers: &mut axum::http::HeaderMap, request: &Parts) {
    let Some(link) = headers.get(header::LINK).and_then(|v| v.to_str().ok()) else { return };
    let host = request.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let foreign = link.split('<').skip(1).filter_map(|target| target.split('>').next()).any(|url| {
        let authority = url.split_once("://").map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""));
        authority.is_some_and(|a| !a.eq_ignore_ascii_case(host))
    });
    if foreign {
        headers.remove(header::LINK);
    }
}
