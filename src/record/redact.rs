//! Credentials out of every output: one set of rules for the HAR file, the journal (admin API,
//! inspector) and the completion line.
//!
//! Takes an [`Exchange`] as the journal's writer receives it, with the names of its mount's API
//! keys ([`Exchange::secrets`]) and of its operation's `writeOnly` body members
//! ([`Exchange::write_only`], gathered at spec load); hands it back with the values of credential
//! query parameters and of credential-like JSON body members (`password`, `client_secret`,
//! `token`, `api_key`, … the spec's API-key names, and the members the spec marks `writeOnly`,
//! by exact name at any depth) replaced by [`REDACTED`]. Headers are redacted where they are
//! written (`har`, `ui::detail`): the journal's own summary shows none.

use super::Exchange;

/// What a redacted value reads as.
pub const REDACTED: &str = "[redacted]";

/// Header names that always carry credentials.
pub const CREDENTIAL_HEADERS: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "set-cookie"];

/// Body member names (lower case, without `-` and `_`) that carry credentials.
const SECRET_MEMBERS: [&str; 13] = [
    "password",
    "passwd",
    "secret",
    "clientsecret",
    "token",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "apikey",
    "apisecret",
    "privatekey",
    "authorization",
    "creditcardnumber",
];

/// Whether a header, query parameter or cookie named `name` carries a credential: the standard
/// ones, or an API key the spec declares (`secrets`).
pub fn is_secret(name: &str, secrets: &[String]) -> bool {
    CREDENTIAL_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name)) || secrets.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// Whether a body member (JSON or form) named `name` looks like a credential.
pub fn is_secret_member(name: &str, secrets: &[String]) -> bool {
    let folded: String = name.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect();
    SECRET_MEMBERS.contains(&folded.as_str()) || secrets.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// `query` with the values of credential parameters replaced, or `None` when it has none (the
/// common case: nothing is allocated).
pub fn query(query: &str, secrets: &[String]) -> Option<String> {
    let pairs = super::parse_query(query);
    pairs.iter().any(|(k, _)| is_secret(k, secrets)).then(|| redact_pairs(&pairs, &|k| is_secret(k, secrets)))
}

/// `pairs` form-encoded again, with the values of those `named` replaced.
fn redact_pairs(pairs: &[(String, String)], named: &dyn Fn(&str) -> bool) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, if named(k) { REDACTED } else { v });
    }
    out.finish()
}

/// A JSON body with credential-like and `write_only` members' values replaced, and what was
/// taken out; `None` when it is not JSON or has none (then the bytes stay exactly as sent).
pub fn json_body(body: &[u8], secrets: &[String], write_only: &[String]) -> Option<(Vec<u8>, Vec<Taken>)> {
    if !matches!(body.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b'[')) {
        return None;
    }
    let mut v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut taken = Vec::new();
    redact_members(&mut v, secrets, write_only, &mut taken, 0);
    if taken.is_empty() {
        return None;
    }
    Some((serde_json::to_vec(&v).ok()?, taken))
}

/// A form body (`application/x-www-form-urlencoded`) with the values of credential-like and
/// `write_only` fields replaced (a field's name is its last bracketed part: `card[cvc]` is
/// `cvc`), and what was taken out; `None` when it has none (the bytes then stay as sent).
pub fn form_body(body: &[u8], secrets: &[String], write_only: &[String]) -> Option<(Vec<u8>, Vec<Taken>)> {
    let member = |k: &str| -> String { k.trim_end_matches(']').rsplit('[').next().unwrap_or(k).to_string() };
    let named = |k: &str| {
        let m = member(k);
        is_secret_member(&m, secrets) || write_only.contains(&m)
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    if !pairs.iter().any(|(k, _)| named(k)) {
        return None;
    }
    let taken = pairs.iter().filter(|(k, _)| named(k)).map(|(k, v)| Taken { member: member(k), text: v.clone() }).collect();
    Some((redact_pairs(&pairs, &named).into_bytes(), taken))
}

/// A value redaction took out of a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The member it was under.
    pub member: String,
    /// Its text as it would be written in JSON, without quotes (escapes included).
    pub text: String,
}

/// Replace the scalar values of credential-like members and of members named in `write_only`
/// (exactly: JSON names are case-sensitive) at any depth (bounded); each one replaced goes into
/// `taken`.
pub fn redact_members(v: &mut serde_json::Value, secrets: &[String], write_only: &[String], taken: &mut Vec<Taken>, depth: u32) {
    use serde_json::Value;
    if depth > 64 {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                let named = is_secret_member(k, secrets) || write_only.iter().any(|w| w == k);
                if named && matches!(child, Value::String(_) | Value::Number(_)) {
                    let text = child.to_string();
                    let text = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).map_or(text.clone(), str::to_string);
                    taken.push(Taken { member: k.clone(), text });
                    *child = Value::from(REDACTED);
                } else {
                    redact_members(child, secrets, write_only, taken, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for i in items {
                redact_members(i, secrets, write_only, taken, depth + 1);
            }
        }
        _ => {}
    }
}

/// Values shorter than this are not looked for elsewhere in the exchange: too many innocent
/// matches (`1`, `ok`) would be cut out of the answer.
const MIN_SCRUBBED: usize = 4;

/// Redact an exchange's query and request body in place (the journal's writer, off the
/// request path, before anything is written). A value taken from the body is also taken from
/// where it comes back: the message of a problem at its member (`"hunter2" is shorter than 8
/// characters`), and, when at least [`MIN_SCRUBBED`] characters long, any other problem and the
/// answer's body (an error answer quoting it, an echo).
pub fn exchange(e: &mut Exchange) {
    if let Some(q) = e.query.as_deref().and_then(|q| query(q, &e.secrets)) {
        e.query = Some(q);
    }
    let write_only = e.write_only.as_deref().unwrap_or_default();
    let form = e.request_headers.get_str("content-type").to_ascii_lowercase().starts_with("application/x-www-form-urlencoded");
    let redacted =
        if form { form_body(&e.request_body, &e.secrets, write_only) } else { json_body(&e.request_body, &e.secrets, write_only) };
    let Some((body, taken)) = redacted else { return };
    e.request_body = body.into();
    for p in e.violations.iter_mut().chain(e.warnings.iter_mut()) {
        if taken.iter().any(|t| t.member == member_of(&p.location)) {
            p.message = REDACTED.to_string();
            continue;
        }
        for t in taken.iter().filter(|t| t.text.len() >= MIN_SCRUBBED) {
            if p.message.contains(&t.text) {
                p.message = p.message.replace(&t.text, REDACTED);
            }
        }
    }
    for t in taken.iter().filter(|t| t.text.len() >= MIN_SCRUBBED) {
        if let Some(scrubbed) = replace_all(&e.response_body, t.text.as_bytes(), REDACTED.as_bytes()) {
            e.response_body = scrubbed.into();
        }
    }
}

/// The member a problem's location names last (`body.card.cvc` → `cvc`, `body.pins[0]` → `pins`).
fn member_of(location: &str) -> &str {
    let mut name = location;
    while let Some(rest) = name.strip_suffix(']').and_then(|n| n.rfind('[').map(|i| &n[..i])) {
        name = rest;
    }
    name.rsplit('.').next().unwrap_or(name)
}

/// `haystack` with every `needle` replaced by `with`, or `None` when there is none.
fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Option<Vec<u8>> {
    let first = haystack.windows(needle.len()).position(|w| w == needle)?;
    let mut out = Vec::with_capacity(haystack.len());
    out.extend_from_slice(&haystack[..first]);
    let mut rest = &haystack[first..];
    while !rest.is_empty() {
        if rest.starts_with(needle) {
            out.extend_from_slice(with);
            rest = &rest[needle.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keys_and_secret_members_are_redacted_and_the_rest_kept_as_sent() {
        let secrets = vec!["api_key".to_string()];
        assert_eq!(query("api_key=k1&q=a+b", &secrets).as_deref(), Some("api_key=%5Bredacted%5D&q=a+b"));
        assert_eq!(query("q=a+b", &secrets), None);
        let body = br#"{"user": "ari", "Password": "hunter2", "nested": [{"client_secret": "cs", "api_key": 7}], "tokenCount": 3}"#;
        let out: serde_json::Value = serde_json::from_slice(&json_body(body, &secrets, &[]).unwrap().0).unwrap();
        assert_eq!(out["Password"], REDACTED);
        assert_eq!(out["nested"][0]["client_secret"], REDACTED);
        assert_eq!(out["nested"][0]["api_key"], REDACTED);
        assert_eq!((out["user"].as_str(), out["tokenCount"].as_u64()), (Some("ari"), Some(3)));
        assert_eq!(json_body(br#"{"user": "ari"}"#, &secrets, &[]), None, "nothing to redact: the bytes stay as sent");
    }

    #[test]
    fn form_fields_are_redacted_by_their_last_bracketed_name() {
        let write_only = vec!["cvc".to_string()];
        let (out, taken) = form_body(b"email=a%40example.com&password=hunter22&card[cvc]=987&card[last4]=4242", &[], &write_only).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("hunter22") && !out.contains("987"), "{out}");
        assert!(out.contains("a%40example.com") && out.contains("4242"), "{out}");
        assert_eq!(taken.iter().map(|t| t.member.as_str()).collect::<Vec<_>>(), ["password", "cvc"]);
        assert_eq!(form_body(b"email=a%40example.com", &[], &write_only), None, "nothing to redact: the bytes stay as sent");
    }

    #[test]
    fn write_only_members_are_redacted_by_exact_name_at_any_depth() {
        let write_only = vec!["recoveryCode".to_string(), "cvc".to_string()];
        let body = br#"{"email": "a@example.com", "recoveryCode": "rc-1", "card": {"cvc": 123, "last4": "4242"}, "RecoveryCode": "kept"}"#;
        let out: serde_json::Value = serde_json::from_slice(&json_body(body, &[], &write_only).unwrap().0).unwrap();
        assert_eq!((out["recoveryCode"].as_str(), out["card"]["cvc"].as_str()), (Some(REDACTED), Some(REDACTED)));
        assert_eq!((out["email"].as_str(), out["card"]["last4"].as_str()), (Some("a@example.com"), Some("4242")));
        assert_eq!(out["RecoveryCode"], "kept", "JSON names are case-sensitive");
    }

    #[test]
    fn a_taken_value_is_scrubbed_from_problems_and_the_answer() {
        let mut e = Exchange {
            id: 1,
            started_ms: 0,
            duration_us: 0,
            method: axum::http::Method::POST,
            path: "/signups".into(),
            query: None,
            request_headers: Default::default(),
            request_body: axum::body::Bytes::from_static(br#"{"card": {"cvc": "12"}, "recoveryCode": "rc-7788"}"#),
            status: 400,
            response_headers: Default::default(),
            response_body: axum::body::Bytes::from_static(br#"{"errors": [{"message": "\"rc-7788\" is too long"}]}"#),
            operation: None,
            source: None,
            violations: vec![
                crate::reject::Problem { location: "body.card.cvc".into(), message: "\"12\" is too short".into(), keyword: None },
                crate::reject::Problem { location: "body".into(), message: "\"rc-7788\" is too long".into(), keyword: None },
            ],
            warnings: Vec::new(),
            tenant: None,
            secrets: Default::default(),
            write_only: Some(std::sync::Arc::from(["cvc".to_string(), "recoveryCode".to_string()])),
        };
        exchange(&mut e);
        assert_eq!(e.violations[0].message, REDACTED, "a problem at the member: its whole message");
        assert_eq!(e.violations[1].message, "\"[redacted]\" is too long");
        assert_eq!(&e.response_body[..], br#"{"errors": [{"message": "\"[redacted]\" is too long"}]}"#);
        assert_eq!((member_of("body.pins[0][1]"), member_of("body.card.cvc"), member_of("body")), ("pins", "cvc", "body"));
    }
}
