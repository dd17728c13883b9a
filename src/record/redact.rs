//! Credentials out of every output: one set of rules for the HAR file, the journal (admin API,
//! inspector) and the completion line.
//!
//! Takes an [`Exchange`] as the journal's writer receives it, with the names of its mount's API
//! keys ([`Exchange::secrets`]); hands it back with the values of credential query parameters and
//! of credential-like JSON body members (`password`, `client_secret`, `token`, `api_key`, … and
//! the spec's API-key names) replaced by [`REDACTED`]. Headers are redacted where they are
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
    if !pairs.iter().any(|(k, _)| is_secret(k, secrets)) {
        return None;
    }
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        q.append_pair(k, if is_secret(k, secrets) { REDACTED } else { v });
    }
    Some(q.finish())
}

/// A JSON body with credential-like members' values replaced, or `None` when it is not JSON or
/// has none (then the bytes stay exactly as sent).
pub fn json_body(body: &[u8], secrets: &[String]) -> Option<Vec<u8>> {
    if !matches!(body.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b'[')) {
        return None;
    }
    let mut v: serde_json::Value = serde_json::from_slice(body).ok()?;
    redact_members(&mut v, secrets, 0).then(|| serde_json::to_vec(&v).ok()).flatten()
}

/// Replace credential-like members' scalar values at any depth (bounded); whether any was.
pub fn redact_members(v: &mut serde_json::Value, secrets: &[String], depth: u32) -> bool {
    use serde_json::Value;
    if depth > 64 {
        return false;
    }
    let mut changed = false;
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if is_secret_member(k, secrets) && matches!(child, Value::String(_) | Value::Number(_)) {
                    *child = Value::from(REDACTED);
                    changed = true;
                } else {
                    changed |= redact_members(child, secrets, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for i in items {
                changed |= redact_members(i, secrets, depth + 1);
            }
        }
        _ => {}
    }
    changed
}

/// Redact an exchange's query and request body in place (the journal's writer, off the
/// request path, before anything is written).
pub fn exchange(e: &mut Exchange) {
    if let Some(q) = e.query.as_deref().and_then(|q| query(q, &e.secrets)) {
        e.query = Some(q);
    }
    if let Some(body) = json_body(&e.request_body, &e.secrets) {
        e.request_body = body.into();
    }
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
        let out: serde_json::Value = serde_json::from_slice(&json_body(body, &secrets).unwrap()).unwrap();
        assert_eq!(out["Password"], REDACTED);
        assert_eq!(out["nested"][0]["client_secret"], REDACTED);
        assert_eq!(out["nested"][0]["api_key"], REDACTED);
        assert_eq!((out["user"].as_str(), out["tokenCount"].as_u64()), (Some("ari"), Some(3)));
        assert_eq!(json_body(br#"{"user": "ari"}"#, &secrets), None, "nothing to redact: the bytes stay as sent");
    }
}
