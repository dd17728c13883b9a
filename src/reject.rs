//! The one runtime error type: every answer standin makes up itself (not from the spec) is a
//! [`Rejection`], serialized by one function into one documented envelope.
//!
//! Which shape a refusal takes, in order: the operation's declared error schema
//! (`respond::error_body`, unless the vendor envelope below fits that schema), the spec's
//! `x-standin.errors` envelope, this problem+json envelope.
//!
//! Default envelope: RFC 9457 problem details (`application/problem+json`) with two extension
//! members, a stable `code` and the list of `errors`, each with the `location` of the problem
//! (`query.limit`, `body.customer.email`, `header.x-request-id`) and a `message`:
//!
//! ```json
//! {"type": "urn:standin:problem:invalid_request", "title": "Invalid request", "status": 400,
//!  "detail": "The request does not match the API description: 1 problem.",
//!  "code": "invalid_request",
//!  "errors": [{"location": "query.limit", "message": "101 is greater than the maximum of 100", "keyword": "maximum"}]}
//! ```

use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use serde::Serialize;
use serde_json::Value;

/// One problem found in a request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// Where in the request: `path.id`, `query.limit`, `header.x-api-key`, `cookie.session`,
    /// `body`, `body.items[0].sku`.
    pub location: String,
    pub message: String,
    /// The JSON Schema keyword that failed (`required`, `maximum`, …) or standin's own check
    /// (`json`, `contentType`).
    /// Borrowed for every keyword standin knows (no allocation per problem on the 400 path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword: Option<std::borrow::Cow<'static, str>>,
}

/// An answer standin makes itself.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub status: StatusCode,
    /// Stable snake_case code (`invalid_request`, `not_found`, …).
    pub code: &'static str,
    pub title: &'static str,
    /// Human-readable explanation for the client.
    pub detail: String,
    pub errors: Vec<Problem>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// A body sent as is, bypassing every envelope (`x-standin.requireHeaders` pages).
    pub raw: Option<(String, Vec<u8>)>,
}

// Message templates (tests assert on these constants, not on retyped strings).
pub const TITLE_INVALID_REQUEST: &str = "Invalid request";
pub const TITLE_NOT_FOUND: &str = "Not found";
pub const TITLE_METHOD_NOT_ALLOWED: &str = "Method not allowed";
pub const TITLE_UNSUPPORTED_MEDIA_TYPE: &str = "Unsupported media type";
pub const TITLE_NOT_ACCEPTABLE: &str = "Not acceptable";
pub const TITLE_PAYLOAD_TOO_LARGE: &str = "Payload too large";
pub const TITLE_URI_TOO_LONG: &str = "URI too long";
pub const TITLE_HEADERS_TOO_LARGE: &str = "Request headers too large";
pub const TITLE_BAD_PREFER: &str = "Unsatisfiable Prefer header";
pub const TITLE_INTERNAL: &str = "Internal error";
pub const TITLE_UNAUTHORIZED: &str = "Unauthorized";
pub const TITLE_RATE_LIMITED: &str = "Too many requests";
pub const TITLE_REFUSED: &str = "Refused";
pub const TITLE_FORBIDDEN: &str = "Forbidden";
pub const TITLE_BAD_GATEWAY: &str = "Bad gateway";
pub const TITLE_TIMEOUT: &str = "Request timeout";
pub const TITLE_BODY_TOO_SLOW: &str = "Request body too slow";

impl Rejection {
    fn new(status: StatusCode, code: &'static str, title: &'static str, detail: String) -> Self {
        Self { status, code, title, detail, errors: Vec::new(), headers: Vec::new(), raw: None }
    }

    /// 400 (or `status`, e.g. 422): the request breaks the spec; lists every problem.
    pub fn invalid_request(status: StatusCode, errors: Vec<Problem>) -> Self {
        let n = errors.len();
        let detail = format!("The request does not match the API description: {n} problem{}.", if n == 1 { "" } else { "s" });
        Self { errors, ..Self::new(status, "invalid_request", TITLE_INVALID_REQUEST, detail) }
    }

    /// 404: no path of the spec matches.
    pub fn not_found(method: &Method, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            TITLE_NOT_FOUND,
            format!("No operation of the API description matches {method} {path}."),
        )
    }

    /// 404: the path exists but the item does not (stateful sandbox), worded as vendors do.
    pub fn resource_not_found(what: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", TITLE_NOT_FOUND, format!("{what} with ID {id} not found"))
    }

    /// 405 with `Allow` (RFC 9110 §15.5.6: the origin server MUST generate an Allow header).
    pub fn method_not_allowed(method: &Method, path: &str, allow: &[Method]) -> Self {
        let list = allow.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
        let mut r = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            TITLE_METHOD_NOT_ALLOWED,
            format!("{path} does not accept {method}; it accepts {list}."),
        );
        if let Ok(v) = HeaderValue::from_str(&list) {
            r.headers.push((axum::http::header::ALLOW, v));
        }
        r
    }

    /// 415: the body's Content-Type is not one the operation accepts.
    pub fn unsupported_media_type(got: Option<&str>, accepted: &[&str]) -> Self {
        let got = got.map_or_else(|| "no Content-Type".to_string(), |g| format!("Content-Type {g:?}"));
        let mut r = Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            TITLE_UNSUPPORTED_MEDIA_TYPE,
            format!("The request body was sent with {got}; this operation accepts {}.", accepted.join(", ")),
        );
        r.errors.push(Problem {
            location: "header.content-type".into(),
            message: format!("must be one of: {}", accepted.join(", ")),
            keyword: Some("contentType".into()),
        });
        if let Ok(v) = HeaderValue::from_str(&accepted.join(", ")) {
            // RFC 9110 §15.5.16: Accept-Post/Accept-Patch style hint of what is accepted.
            r.headers.push((HeaderName::from_static("accept-post"), v));
        }
        r
    }

    /// 406: no declared response media type satisfies `Accept`.
    pub fn not_acceptable(accept: &str, available: &[&str]) -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            TITLE_NOT_ACCEPTABLE,
            format!("Accept {accept:?} matches none of the declared response media types: {}.", available.join(", ")),
        )
    }

    /// 413: the body is over the configured limit.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            TITLE_PAYLOAD_TOO_LARGE,
            format!("The request body is larger than {limit} bytes."),
        )
    }

    /// 414: the request target (path and query) is over the configured limit.
    pub fn uri_too_long(len: usize, limit: usize) -> Self {
        Self::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            TITLE_URI_TOO_LONG,
            format!("The request URL is {len} bytes; the limit is {limit} bytes."),
        )
    }

    /// 431: the request's headers, names and values together, are over the configured limit.
    pub fn headers_too_large(len: usize, limit: usize) -> Self {
        Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            TITLE_HEADERS_TOO_LARGE,
            format!("The request headers are {len} bytes; the limit is {limit} bytes."),
        )
    }

    /// 400: a `Prefer` header asks for something the operation does not declare.
    pub fn bad_prefer(detail: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsatisfiable_prefer", TITLE_BAD_PREFER, detail)
    }

    /// 401: missing or malformed credentials; `detail` says what the operation expects.
    pub fn unauthorized(expected: String) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", TITLE_UNAUTHORIZED, format!("Missing or invalid credentials: {expected}."))
    }

    /// 403: the credential is valid but may not do this.
    pub fn forbidden(detail: String) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", TITLE_FORBIDDEN, detail)
    }

    /// A vendor rule refused the request (`x-standin.requireOneOf`), with its status.
    pub fn rule(status: StatusCode, detail: String) -> Self {
        let code = match status.as_u16() {
            401 => "unauthorized",
            403 => "forbidden",
            _ => "invalid_request",
        };
        Self::new(status, code, TITLE_REFUSED, detail)
    }

    /// 429: the tenant's rate limit is used up until `reset`.
    pub fn rate_limited(limit: u64, retry_after: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            TITLE_RATE_LIMITED,
            format!("Rate limit of {limit} requests exceeded; retry in {retry_after} s."),
        )
    }

    /// A vendor's own refusal page (a required header is missing), sent exactly as declared.
    pub fn refused(status: StatusCode, content_type: String, body: Vec<u8>, detail: String) -> Self {
        Self { raw: Some((content_type, body)), ..Self::new(status, "refused", TITLE_REFUSED, detail) }
    }

    /// 502: the upstream of the validation proxy did not answer.
    pub fn new_bad_gateway(detail: String) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "bad_gateway", TITLE_BAD_GATEWAY, detail)
    }

    /// 503: the request took longer than `--request-timeout`.
    pub fn timeout(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            TITLE_TIMEOUT,
            format!("The request took longer than {} s.", limit.as_secs_f64()),
        )
    }

    /// 408 with `Connection: close`: the request body arrived at `got` bytes per second on
    /// average, below the `--min-body-rate` of `min`. RFC 9110 §15.5.9: a server sending 408
    /// SHOULD send the "close" connection option, since it has decided to stop waiting.
    pub fn body_too_slow(got: u64, min: u64) -> Self {
        let mut r = Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_too_slow",
            TITLE_BODY_TOO_SLOW,
            format!("The request body arrived at {got} bytes/s on average, below the minimum of {min} bytes/s (--min-body-rate)."),
        );
        r.headers.push((axum::http::header::CONNECTION, HeaderValue::from_static("close")));
        r
    }

    /// 500: a bug in standin; the detail is safe to show (no internals beyond the message).
    pub fn internal(detail: String) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", TITLE_INTERNAL, detail)
    }

    /// The problem+json body as a JSON value.
    pub fn body(&self) -> Value {
        serde_json::to_value(self.envelope()).unwrap_or(Value::Null)
    }

    /// The problem+json body, serialized: written field by field (the 400 path is hot, and this
    /// is what `serde_json::to_writer(&self.envelope())` writes, key order included).
    pub fn body_bytes(&self) -> Vec<u8> {
        use crate::util::json_text::write_json_str;
        let text_len: usize = self.errors.iter().map(|p| p.location.len() + p.message.len() + 48).sum();
        let mut out = Vec::with_capacity(160 + self.detail.len() + text_len);
        out.extend_from_slice(b"{\"type\":\"urn:standin:problem:");
        out.extend_from_slice(self.code.as_bytes());
        out.extend_from_slice(b"\",\"title\":");
        write_json_str(&mut out, self.title);
        out.extend_from_slice(b",\"status\":");
        out.extend_from_slice(self.status.as_str().as_bytes());
        out.extend_from_slice(b",\"detail\":");
        write_json_str(&mut out, &self.detail);
        out.extend_from_slice(b",\"code\":");
        write_json_str(&mut out, self.code);
        if !self.errors.is_empty() {
            out.extend_from_slice(b",\"errors\":[");
            for (i, p) in self.errors.iter().enumerate() {
                out.extend_from_slice(if i == 0 { b"{\"location\":" } else { b",{\"location\":" });
                write_json_str(&mut out, &p.location);
                out.extend_from_slice(b",\"message\":");
                write_json_str(&mut out, &p.message);
                if let Some(k) = &p.keyword {
                    out.extend_from_slice(b",\"keyword\":");
                    write_json_str(&mut out, k);
                }
                out.push(b'}');
            }
            out.push(b']');
        }
        out.push(b'}');
        out
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            kind: ProblemType(self.code),
            title: self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code,
            errors: &self.errors,
        }
    }
}

/// RFC 9457 problem details with standin's `code` and `errors` extension members.
#[derive(Serialize)]
struct Envelope<'r> {
    #[serde(rename = "type")]
    kind: ProblemType,
    title: &'r str,
    status: u16,
    detail: &'r str,
    code: &'r str,
    #[serde(skip_serializing_if = "<[Problem]>::is_empty")]
    errors: &'r [Problem],
}

/// Serializes as `urn:standin:problem:<code>`.
struct ProblemType(&'static str);

impl Serialize for ProblemType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("urn:standin:problem:{}", self.0))
    }
}

/// Where an error answer's shape comes from: the spec's error envelope (`x-standin.errors`) when
/// it declares one, else problem+json. A body set with [`Rejection::raw`] is sent as is. The body
/// in the operation's own declared error schema is chosen before this, by `respond::error_body`,
/// and sent with [`Rejection::respond_with`].
impl Rejection {
    /// The answer for this rejection (body, status, content type and its own headers). Answers
    /// to HEAD lose their body at the transport, not here.
    pub fn render(&self, envelope: Option<&crate::spec::ext::ErrorEnvelope>) -> axum::response::Response {
        let (content_type, bytes) = match (&self.raw, envelope) {
            (Some((ct, body)), _) => (HeaderValue::from_str(ct).unwrap_or(HeaderValue::from_static("text/plain")), body.clone()),
            (None, Some(env)) => {
                let bytes = match self.envelope_value(env) {
                    Value::String(s) => s.into_bytes(),
                    other => other.to_string().into_bytes(),
                };
                (HeaderValue::from_str(&env.content_type).unwrap_or(HeaderValue::from_static("application/json")), bytes)
            }
            (None, None) => (HeaderValue::from_static("application/problem+json"), self.body_bytes()),
        };
        self.respond_with(content_type, bytes)
    }

    /// The vendor's envelope filled in for this rejection.
    pub fn envelope_value(&self, env: &crate::spec::ext::ErrorEnvelope) -> Value {
        let problems: Vec<(String, String)> = self.errors.iter().map(|p| (p.location.clone(), p.message.clone())).collect();
        env.render(self.status.as_u16(), self.code, &self.message(), &problems)
    }

    /// One message naming every problem (`location: message; …`), or the detail when there are
    /// none: for envelopes without a problems slot.
    pub fn message(&self) -> String {
        if self.errors.is_empty() {
            self.detail.clone()
        } else {
            self.errors.iter().map(|p| format!("{}: {}", p.location, p.message)).collect::<Vec<_>>().join("; ")
        }
    }

    /// The answer with this status and headers and the given body.
    pub fn respond_with(&self, content_type: HeaderValue, bytes: Vec<u8>) -> axum::response::Response {
        let mut resp = axum::response::Response::new(axum::body::Body::from(bytes));
        *resp.status_mut() = self.status;
        resp.headers_mut().insert(axum::http::header::CONTENT_TYPE, content_type);
        for (name, value) in &self.headers {
            resp.headers_mut().insert(name.clone(), value.clone());
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_bytes_is_the_serialized_envelope() {
        let mut r = Rejection::invalid_request(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![
                Problem { location: "body.name".into(), message: "is required".into(), keyword: Some("required".into()) },
                Problem { location: "query.q".into(), message: "\"x\" is not \\ valid\n".into(), keyword: None },
            ],
        );
        assert_eq!(r.body_bytes(), serde_json::to_vec(&r.envelope()).unwrap());
        r.errors.clear();
        assert_eq!(r.body_bytes(), serde_json::to_vec(&r.envelope()).unwrap());
    }

    #[test]
    fn method_not_allowed_lists_allow_header() {
        let r = Rejection::method_not_allowed(&Method::PUT, "/deals", &[Method::GET, Method::POST]);
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers[0].1, "GET, POST");
    }
}
