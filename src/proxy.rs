//! The validation proxy (`serve --upstream URL`): every request is forwarded to the real API and
//! its answer passed through, while both directions are checked against the spec. Each way either
//! side breaks the spec is a violation in the journal (locations `request.…` and `response.…`);
//! nothing is refused. It replaces the pipeline's stages for the whole server, so it is its own
//! module, called by `server::exchange` in the pipeline's place.
//!
//! Takes the upstream's base URL and client, the mount and the request. Hands on the upstream's
//! answer with its facts, or a 502 when the upstream did not answer.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::Response;

use crate::app::Mount;
use crate::pipeline::{Answer, Facts, Refused};
use crate::reject::{Problem, Rejection};
use crate::routes::RouteMatch;

pub async fn forward(upstream: &(String, reqwest::Client), mount: Option<&Mount>, parts: &Parts, body: &Bytes) -> Result<Answer, Refused> {
    let (base, client) = upstream;
    let mut violations = Vec::new();
    let mut op = None;
    let mut operation = None;
    let mut write_only = None;
    if let Some((m, rest)) = mount.and_then(|m| Some((m, m.rest(parts.uri.path())?))) {
        match m.table.lookup(&parts.method, rest) {
            RouteMatch::Found { operation: index, params } => {
                let o = &m.spec.operations[index];
                operation = Some(Arc::clone(&o.label));
                write_only = o.body.as_ref().and_then(|b| b.write_only.clone());
                let query = crate::pipeline::validate::parse_query(parts.uri.query());
                let ct = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
                let mut problems = crate::pipeline::validate::validate_params(&m.spec, o, &params, &query, &parts.headers).all();
                match crate::pipeline::validate::validate_body(&m.spec, o, ct, body) {
                    Ok(p) => problems.extend(p.all()),
                    Err(r) => problems.extend(r.errors),
                }
                violations.extend(problems.into_iter().map(|p| Problem { location: format!("request.{}", p.location), ..p }));
                op = Some((m, o));
            }
            _ => violations.push(Problem {
                location: "request".into(),
                message: format!("{} {} is not an operation of the spec", parts.method, parts.uri.path()),
                keyword: Some("undocumented".into()),
            }),
        }
    }
    // --- Forward.
    let url = format!("{base}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let mut req = client.request(parts.method.clone(), url);
    for (n, v) in &parts.headers {
        if !matches!(n.as_str(), "host" | "content-length" | "connection" | "transfer-encoding") {
            req = req.header(n, v);
        }
    }
    let upstream_resp = match req.body(body.clone()).send().await {
        Ok(r) => r,
        Err(e) => {
            let rejection = Rejection::new_bad_gateway(format!("the upstream {base} did not answer: {e}"));
            return Err(Refused { rejection, facts: Facts { operation, violations, write_only, ..Facts::default() } });
        }
    };
    let status = upstream_resp.status();
    let headers = upstream_resp.headers().clone();
    let bytes = upstream_resp.bytes().await.unwrap_or_default();
    if let Some((m, o)) = op {
        check_response(m, o, status, &headers, &bytes, &mut violations);
    }
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    for (n, v) in &headers {
        if !matches!(n.as_str(), "content-length" | "transfer-encoding" | "connection") {
            resp.headers_mut().append(n, v.clone());
        }
    }
    resp.headers_mut().insert("x-standin-source", HeaderValue::from_static("upstream"));
    Ok(Answer { response: resp, facts: Facts { operation, violations, source: Some("upstream".into()), write_only, ..Facts::default() } })
}

/// Every way the upstream's answer breaks the operation's declared responses: an undeclared
/// status, an undeclared media type, a JSON body its schema refuses.
fn check_response(
    m: &Mount,
    o: &crate::spec::Operation,
    status: axum::http::StatusCode,
    headers: &axum::http::HeaderMap,
    bytes: &Bytes,
    violations: &mut Vec<Problem>,
) {
    match o.response_for(status.as_u16()) {
        None => violations.push(Problem {
            location: "response.status".into(),
            message: format!("{status} is not a declared response of {}", o.label()),
            keyword: Some("status".into()),
        }),
        Some(declared) => {
            let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
            let base_ct = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            let media = declared.content.iter().find(|c| c.mime == base_ct).or_else(|| {
                declared.content.iter().find(|c| crate::spec::model::is_json_mime(&c.mime) && crate::spec::model::is_json_mime(&base_ct))
            });
            match media {
                None if !declared.content.is_empty() && !bytes.is_empty() => violations.push(Problem {
                    location: "response.header.content-type".into(),
                    message: format!("{ct:?} is not a declared media type of this response"),
                    keyword: Some("contentType".into()),
                }),
                Some(media) if crate::spec::model::is_json_mime(&base_ct) => {
                    if let Some(schema) = &media.schema {
                        let validator = m.artifacts.media(media).validator(&m.spec, schema);
                        match (validator, serde_json::from_slice::<serde_json::Value>(bytes)) {
                            (Ok(v), Ok(instance)) => {
                                for err in v.iter_errors(&instance) {
                                    let at = err.instance_path().as_str().replace('/', ".");
                                    violations.push(Problem {
                                        location: format!("response.body{at}"),
                                        message: crate::pipeline::validate::short(&err.to_string()),
                                        keyword: Some(crate::pipeline::validate::static_keyword(err.kind().keyword())),
                                    });
                                }
                            }
                            (_, Err(e)) => violations.push(Problem {
                                location: "response.body".into(),
                                message: format!("malformed JSON: {e}"),
                                keyword: Some("json".into()),
                            }),
                            (Err(_), _) => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }
}
