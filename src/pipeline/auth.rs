//! Stage 3, authenticate: who is calling (the tenant), from the spec's security schemes, or 401;
//! then the keys declared in `_keys.json` (a revoked key gets 401, a scope limits the methods: 403).
//!
//! By default any well-formed credential is accepted, and each distinct credential is its own
//! tenant. "Well-formed": an API key is present and non-empty; `Basic` decodes to `user:password`;
//! `Bearer` carries a token.

use axum::http::{header, HeaderMap, HeaderValue, Method};

use crate::reject::Rejection;
use crate::spec::ext::KeyInfo;
use crate::spec::security::{KeyLocation, SchemeKind};
use crate::spec::{Operation, Spec};

/// The caller, as identified by its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant(pub String);

impl Tenant {
    /// The tenant of requests that need no credentials (or send none where they are optional).
    pub fn anonymous() -> Tenant {
        Tenant(String::new())
    }
}

/// The caller: its tenant and, when `_keys.json` declares its key, what the key may do.
#[derive(Debug)]
pub struct Caller<'s> {
    pub tenant: Tenant,
    pub key: Option<&'s KeyInfo>,
}

/// The stage: [`authenticate`], then the declared key's revocation and scope.
pub fn caller<'s>(
    spec: &'s Spec,
    op: &Operation,
    method: &Method,
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Result<Caller<'s>, Rejection> {
    let tenant = authenticate(spec, op, headers, query)?;
    let key = spec.keys.get(&tenant.0);
    if let Some(info) = key {
        if info.revoked {
            return Err(Rejection::unauthorized("this API key has been revoked".into()));
        }
        if let Some((scope, methods)) = info.scope.as_ref().and_then(|s| spec.ext.scopes.get(s).map(|m| (s, m))) {
            if !methods.iter().any(|m| m == "all" || m.eq_ignore_ascii_case(method.as_str())) {
                return Err(Rejection::forbidden(format!("This API key's scope ({scope}) does not allow {method} requests.")));
            }
        }
    }
    Ok(Caller { tenant, key })
}

/// Check the operation's security requirement. `Ok` with the tenant, or a 401 that says what
/// was expected.
pub fn authenticate(spec: &Spec, op: &Operation, headers: &HeaderMap, query: &[(String, String)]) -> Result<Tenant, Rejection> {
    if op.security.is_empty() {
        return Ok(Tenant::anonymous());
    }
    let mut problems = Vec::new();
    for alternative in &op.security {
        if alternative.is_empty() {
            return Ok(Tenant::anonymous()); // `{}`: authentication is optional
        }
        let mut parts = Vec::new();
        let mut ok = true;
        for &i in alternative {
            let scheme = &spec.schemes[i];
            match credential(&scheme.kind, headers, query) {
                Ok(c) => parts.push(c),
                Err(why) => {
                    ok = false;
                    problems.push(why);
                }
            }
        }
        if ok {
            return Ok(Tenant(parts.join("\u{0}")));
        }
    }
    let mut r = Rejection::unauthorized(problems.join("; "));
    let challenge = op.security.iter().flatten().find_map(|&i| match spec.schemes[i].kind {
        SchemeKind::Basic => Some("Basic realm=\"standin\""),
        SchemeKind::Bearer => Some("Bearer"),
        SchemeKind::ApiKey { .. } => None,
    });
    if let Some(c) = challenge {
        // RFC 9110 §11.6.1: a 401 carries a challenge.
        r.headers.push((header::WWW_AUTHENTICATE, HeaderValue::from_static(c)));
    }
    Err(r)
}

fn credential(kind: &SchemeKind, headers: &HeaderMap, query: &[(String, String)]) -> Result<String, String> {
    match kind {
        SchemeKind::ApiKey { location: KeyLocation::Header, name } => {
            match headers.get(name.as_str()).and_then(|v| v.to_str().ok()).map(str::trim) {
                Some(v) if !v.is_empty() => Ok(v.to_string()),
                _ => Err(format!("send the API key in the {name} header")),
            }
        }
        SchemeKind::ApiKey { location: KeyLocation::Query, name } => match query.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()) {
            Some(v) if !v.is_empty() => Ok(v.to_string()),
            _ => Err(format!("send the API key in the {name} query parameter")),
        },
        SchemeKind::ApiKey { location: KeyLocation::Cookie, name } => {
            let found = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
                let (k, v) = c.split_once('=')?;
                (k.trim() == name).then(|| v.trim().to_string())
            });
            match found {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(format!("send the API key in the {name} cookie")),
            }
        }
        SchemeKind::Basic => {
            let value = authorization(headers, "basic").ok_or("send `Authorization: Basic base64(user:password)`")?;
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .map_err(|_| "the Basic credentials are not valid base64".to_string())?;
            let text = String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8".to_string())?;
            match text.split_once(':') {
                Some((user, _)) if !user.is_empty() => Ok(text),
                _ => Err("the Basic credentials must be `user:password`".into()),
            }
        }
        SchemeKind::Bearer => match authorization(headers, "bearer") {
            Some(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
            _ => Err("send `Authorization: Bearer <token>`".into()),
        },
    }
}

/// The credentials of an `Authorization` header with the given scheme (case-insensitive).
fn authorization<'h>(headers: &'h HeaderMap, scheme: &str) -> Option<&'h str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (s, rest) = v.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then_some(rest)
}
