//! `serve --self-check`: every answer standin sends is checked against the operation's declared
//! response — a declared status, a declared media type, a body its schema accepts. A miss is
//! standin's own bug: it is added to the exchange's violations (keyword `selfCheck`, so
//! `/__standin/violations` lists it) and logged once per operation and status.
//!
//! Takes the mount and the pipeline's answer (after a refusal was rendered); hands the answer
//! back with its facts completed. Costs nothing when off: the server does not call it.
//!
//! Refusals of a status the operation does not declare, or in a media type it does not declare
//! for that status (the vendor envelope, problem+json), are standin's documented behaviour and
//! not reported; their bodies are checked whenever the media type is declared.

use std::collections::HashSet;
use std::sync::Mutex;

use axum::body::Body;
use axum::http::header;
use serde_json::Value;

use crate::app::Mount;
use crate::pipeline::Answer;
use crate::reject::Problem;
use crate::spec::model::is_json_mime;

/// The keyword of every problem the self-check finds.
pub const KEYWORD: &str = "selfCheck";

/// Operation and status pairs already logged (a miss repeats on every call).
static LOGGED: Mutex<Option<HashSet<(String, u16)>>> = Mutex::new(None);

/// `answer` with every way its response breaks the declared contract added to its violations.
pub async fn checked(mount: Option<&Mount>, answer: Answer) -> Answer {
    let Answer { response, mut facts } = answer;
    let (Some(mount), Some(label)) = (mount, facts.operation.clone()) else { return Answer { response, facts } };
    if facts.streamed {
        return Answer { response, facts };
    }
    let (parts, body) = response.into_parts();
    // Bodies are built in memory: collecting them is a move, not a read from a socket.
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let problems = problems(mount, &label, parts.status.as_u16(), content_type, &bytes);
    if !problems.is_empty() {
        log_once(&label, parts.status.as_u16(), &problems);
        facts.violations.extend(problems);
    }
    Answer { response: axum::response::Response::from_parts(parts, Body::from(bytes)), facts }
}

/// Every way an answer of `status`, `content_type` and `body` breaks what `label` declares.
pub fn problems(mount: &Mount, label: &str, status: u16, content_type: Option<&str>, body: &[u8]) -> Vec<Problem> {
    let (spec, artifacts) = (&mount.spec, &mount.artifacts);
    let Some(op) = artifacts.errors.operation(spec, label) else { return Vec::new() };
    let problem = |location: String, message: String| Problem { location, message, keyword: Some(KEYWORD.into()) };
    let refusal = status >= 400;
    let Some(declared) = op.response_for(status) else {
        return if refusal {
            Vec::new()
        } else {
            vec![problem("response.status".into(), format!("standin answered {status}, which {label} does not declare"))]
        };
    };
    let base = content_type.map(|ct| ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    let media = base.as_deref().and_then(|ct| {
        declared
            .content
            .iter()
            .find(|m| m.mime == ct)
            .or_else(|| declared.content.iter().find(|m| is_json_mime(&m.mime) && is_json_mime(ct)))
    });
    let Some(media) = media else {
        if refusal || declared.content.is_empty() || body.is_empty() {
            return Vec::new();
        }
        let got = content_type.unwrap_or("no Content-Type");
        return vec![problem(
            "response.header.content-type".into(),
            format!("standin answered {got}, not a declared media type of {status}"),
        )];
    };
    let (Some(schema), true) = (&media.schema, is_json_mime(&media.mime)) else { return Vec::new() };
    let Ok(validator) = artifacts.media(media).validator(spec, schema) else { return Vec::new() };
    match serde_json::from_slice::<Value>(body) {
        Ok(instance) => validator
            .iter_errors(&instance)
            .map(|e| problem(format!("response.body{}", e.instance_path().as_str().replace('/', ".")), e.to_string()))
            .collect(),
        Err(e) => vec![problem("response.body".into(), format!("standin answered malformed JSON: {e}"))],
    }
}

/// Log a miss once per operation and status: it is standin's bug, not the client's.
fn log_once(label: &str, status: u16, problems: &[Problem]) {
    let mut logged = LOGGED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if logged.get_or_insert_with(HashSet::new).insert((label.to_string(), status)) {
        let first = &problems[0];
        tracing::warn!(operation = label, status, "self-check: standin's answer breaks the spec at {}: {}", first.location, first.message);
    }
}
