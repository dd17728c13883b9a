//! Every answer conforms to the spec it serves: a property test over the shipped vendor specs
//! and the test specs. For each operation it sends requests built from the spec (valid ones,
//! with generated bodies and parameters, and invalid ones: wrong types, unknown fields, an empty
//! body) in the default (stateful) mode and in `--stateless`, and checks each answer against the
//! operation's declared responses:
//! - a 2xx status is one the operation declares;
//! - where the status is declared (exactly, by range or `default`), the media type is one it
//!   declares (or the body is empty where it declares none), and a JSON body validates against
//!   the declared schema.
//!
//! Randomness is seeded (the failures name the seed, spec, operation and request), and the
//! number of requests is bounded: a few per operation.

use std::collections::HashMap;
use std::sync::Arc;

use rand::{RngExt, SeedableRng};
use serde_json::{json, Value};
use standin::spec::{Operation, ParamLocation, ParamShape, Spec, StatusKey, View};

use crate::common::{load, TestServer};

/// A spec, its fixtures, and the headers and query pairs that authenticate every request.
struct Case {
    spec: &'static str,
    fixtures: Option<&'static str>,
    headers: &'static [(&'static str, &'static str)],
    query: &'static [(&'static str, &'static str)],
}

const CASES: &[Case] = &[
    Case { spec: "specs/bench.yaml", fixtures: Some("fixtures/bench"), headers: &[("x-api-key", "ke_live_prop")], query: &[] },
    Case {
        spec: "specs/benchwork.yaml",
        fixtures: Some("fixtures/benchwork"),
        headers: &[("authorization", "Bearer bw_live_prop")],
        query: &[],
    },
    Case {
        spec: "specs/bento.yaml",
        fixtures: Some("fixtures/bento"),
        // pk:sk
        headers: &[("authorization", "Basic cGs6c2s="), ("user-agent", "AcmeCRM/1.0")],
        query: &[("site_uuid", "site_prop")],
    },
    Case { spec: "specs/bi369.yaml", fixtures: Some("fixtures/bi369"), headers: &[("authorization", "Bearer key_prop")], query: &[] },
    // A sample of other shapes: Swagger 2.0 documents (lowered at load), a messy spec (examples
    // that break their schemas, duplicate operationIds, unsatisfiable allOfs), webhooks only.
    Case {
        spec: "tests/fixtures/specs/swagger2.yaml",
        fixtures: None,
        headers: &[("x-api-key", "prop"), ("authorization", "Bearer prop")],
        query: &[],
    },
    Case { spec: "tests/fixtures/specs/swagger2/petstore.yaml", fixtures: None, headers: &[("api_key", "prop")], query: &[] },
    Case { spec: "tests/fixtures/specs/swagger2/forms.json", fixtures: None, headers: &[], query: &[] },
    Case { spec: "tests/fixtures/specs/messy.yaml", fixtures: None, headers: &[], query: &[] },
    Case { spec: "tests/fixtures/specs/reflect.yaml", fixtures: None, headers: &[], query: &[] },
    Case { spec: "tests/fixtures/specs/sandbox.yaml", fixtures: None, headers: &[("authorization", "Bearer prop")], query: &[] },
    Case {
        spec: "tests/fixtures/specs/shop.yaml",
        fixtures: Some("tests/fixtures/responses/shop"),
        headers: &[("x-api-key", "prop")],
        query: &[],
    },
];

/// Requests per operation: valid ones, then one per kind of breakage.
const VALID_PER_OPERATION: u64 = 2;

#[tokio::test]
async fn every_answer_conforms_to_the_declared_responses() {
    let mut failures = Vec::new();
    let mut sent = 0;
    for case in CASES {
        for stateless in [false, true] {
            let spec = load(case.spec, case.fixtures);
            let options = standin::app::Options {
                stateless,
                body_limit: 1 << 20,
                rate_limit_off: true,
                record: Some(Default::default()),
                ..Default::default()
            };
            let t = TestServer::with(case.spec, case.fixtures, options).await;
            let validators = Validators::default();
            for (index, op) in spec.operations.iter().enumerate() {
                for variant in 0..VALID_PER_OPERATION + BREAKAGES {
                    let seed = (index as u64) << 8 | variant;
                    let request = build(&spec, op, case, seed, variant.checked_sub(VALID_PER_OPERATION));
                    let resp = t.client.request(op.method.clone(), t.url(&request.url));
                    let resp = request.headers.iter().fold(resp, |r, (k, v)| r.header(k.as_str(), v.as_str()));
                    let resp = match &request.body {
                        Some(b) => resp.header("content-type", "application/json").body(b.clone()),
                        None => resp,
                    };
                    let resp = resp.send().await.unwrap();
                    sent += 1;
                    let status = resp.status().as_u16();
                    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                    let body = resp.bytes().await.unwrap();
                    if let Err(why) = conforms(&spec, op, &validators, status, &ct, &body) {
                        failures.push(format!(
                            "{} ({}) {} {} [seed {seed}] → {status} {ct}: {why}\n    body: {}",
                            case.spec,
                            if stateless { "stateless" } else { "stateful" },
                            op.method,
                            request.url,
                            String::from_utf8_lossy(&body[..body.len().min(300)])
                        ));
                    }
                }
            }
        }
    }
    assert!(sent > 500, "only {sent} requests were sent");
    assert!(failures.is_empty(), "{} of {sent} answers break the spec:\n{}", failures.len(), failures.join("\n"));
}

/// How many kinds of invalid request [`build`] makes.
const BREAKAGES: u64 = 3;

struct Request {
    url: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

/// A request for `op`: parameters and body generated from their schemas; with `breakage`, one
/// thing made wrong (0: every typed parameter and top-level body field of the wrong type, 1: an
/// unknown body field and a missing required one, 2: an empty JSON object as the body).
fn build(spec: &Spec, op: &Operation, case: &Case, seed: u64, breakage: Option<u64>) -> Request {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let mut path = op.path.clone();
    let mut query: Vec<(String, String)> = case.query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut headers: Vec<(String, String)> = case.headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    for p in &op.params {
        if !p.required && rng.random_bool(0.5) {
            continue;
        }
        let value = match (breakage, &p.shape) {
            (Some(0), ParamShape::Scalar(Some(t))) if t == "integer" || t == "number" || t == "boolean" => "not-a-value".to_string(),
            _ => param_value(p, &mut rng),
        };
        match p.location {
            ParamLocation::Path => path = path.replace(&format!("{{{}}}", p.name), &value),
            ParamLocation::Query if !query.iter().any(|(k, _)| *k == p.name) => query.push((p.name.clone(), value)),
            ParamLocation::Header => headers.push((p.name.clone(), value)),
            _ => {}
        }
    }
    let body = op.body.as_ref().and_then(|b| b.content.iter().find(|m| m.mime.contains("json"))).map(|media| {
        let mut value = match &media.schema {
            Some(ptr) => standin::respond::generate::generate(&spec.schemas.request, ptr, seed, false),
            None => json!({}),
        };
        match (breakage, value.as_object_mut()) {
            (Some(0), Some(map)) => {
                for v in map.values_mut() {
                    *v = match v {
                        Value::String(_) => json!(12345),
                        _ => json!("wrong type"),
                    };
                }
            }
            (Some(1), Some(map)) => {
                let first = map.keys().next().cloned();
                if let Some(k) = first {
                    map.remove(&k);
                }
                map.insert("zz_undeclared".into(), json!(true));
            }
            (Some(2), _) => value = json!({}),
            _ => {}
        }
        value.to_string()
    });
    let mut url = spec.base_path.clone() + &path;
    if !query.is_empty() {
        let q: Vec<String> = query.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        url = format!("{url}?{}", q.join("&"));
    }
    Request { url, headers, body }
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A plausible value for a parameter: its default, else one of its type.
fn param_value(p: &standin::spec::Param, rng: &mut rand::rngs::ChaCha8Rng) -> String {
    if let Some(d) = &p.default {
        return d.as_str().map_or_else(|| d.to_string(), str::to_string);
    }
    match &p.shape {
        ParamShape::Scalar(Some(t)) if t == "integer" || t == "number" => rng.random_range(1..50).to_string(),
        ParamShape::Scalar(Some(t)) if t == "boolean" => "true".into(),
        _ => format!("v{}", rng.random_range(1..1000)),
    }
}

/// Response validators compiled once per schema pointer.
#[derive(Default)]
struct Validators(std::sync::Mutex<HashMap<String, Arc<jsonschema::Validator>>>);

impl Validators {
    fn get(&self, spec: &Spec, pointer: &str) -> Arc<jsonschema::Validator> {
        let mut map = self.0.lock().unwrap();
        Arc::clone(map.entry(pointer.to_string()).or_insert_with(|| spec.schemas.compile_pointer(View::Response, pointer).unwrap()))
    }
}

/// Whether one answer conforms to what `op` declares for its status.
fn conforms(spec: &Spec, op: &Operation, validators: &Validators, status: u16, ct: &str, body: &[u8]) -> Result<(), String> {
    let declared = op.response_for(status);
    let Some(response) = declared else {
        // standin's own refusals (401, 404, 405, …) may be statuses an operation does not list;
        // a success it does not list is a bug.
        return if (200..300).contains(&status) {
            Err(format!("status {status} is not declared ({:?})", op.responses.iter().map(|r| r.status).collect::<Vec<StatusKey>>()))
        } else {
            Ok(())
        };
    };
    if response.content.is_empty() {
        return if body.is_empty() { Ok(()) } else { Err("a body where the response declares none".into()) };
    }
    let base = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let Some(media) = response
        .content
        .iter()
        .find(|m| m.mime == base || m.mime == "*/*" || m.mime.strip_suffix("/*").is_some_and(|t| base.starts_with(&format!("{t}/"))))
    else {
        return Err(format!("media type {base:?} is not declared ({:?})", response.content.iter().map(|m| &m.mime).collect::<Vec<_>>()));
    };
    let (Some(schema), true) = (&media.schema, base.ends_with("json")) else { return Ok(()) };
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let validator = validators.get(spec, schema);
    let problems: Vec<String> = validator.iter_errors(&value).take(3).map(|e| format!("{}: {e}", e.instance_path())).collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("the body breaks the declared schema: {}", problems.join("; ")))
    }
}
