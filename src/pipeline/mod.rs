//! The request pipeline: one function per stage, each in its own file, joined with `?` in
//! [`handle`]. The order, and why:
//!
//! 1. [`route`]: which operation (404 / 405 before anything else costs work);
//! 2. [`vendor_rules`]: what the vendor refuses before looking at credentials (a required
//!    header, one of several values);
//! 3. [`auth`]: who is calling — the tenant every later stage is keyed by (401 / 403);
//! 4. [`rate_limit`]: count the request against the tenant's window (a 429 costs no validation,
//!    and invalid requests count, as they do at the vendors);
//! 5. [`validate`]: every problem of parameters and body, in one answer;
//! 6. [`faults`]: latency and injected failures, decided before anything is stored;
//! 7. [`state`]: the sandbox acts on the tenant's store;
//! 8. [`respond`]: the answer from examples, fixtures or generated data, with the state applied.
//!
//! What is not a stage lives elsewhere: the admin endpoints (`admin`), the validation proxy
//! (`proxy`), and the transport — body limits and timeouts, CORS, HEAD, the request id and the
//! journal — in `server::exchange`, which builds the [`Context`] and turns the outcome into the
//! HTTP answer.

pub mod auth;
pub mod context;
pub mod faults;
pub mod rate_limit;
pub mod respond;
pub mod route;
pub mod state;
pub mod validate;
pub mod vendor_rules;

use axum::http::request::Parts;

use crate::app::App;
use crate::reject::Rejection;

pub use context::{Answer, Context, Facts, Refused, RequestId};

/// Run the stages for one request whose body has been read.
pub async fn handle(app: &App, cx: &Context<'_>, parts: &Parts, body: &[u8]) -> Result<Answer, Refused> {
    let path = parts.uri.path();
    let routed = match route::route(cx.mount, &parts.method, path).map_err(Refused::bare)? {
        route::Route::Found(routed) => routed,
        route::Route::Options(response) => return Ok(Answer { response, facts: Facts::default() }),
    };
    let mount = cx.mount.ok_or_else(|| Refused::bare(Rejection::not_found(&parts.method, path)))?;
    let spec = &mount.spec;
    let op = &spec.operations[routed.op];
    let write_only = op.body.as_ref().and_then(|b| b.write_only.clone());
    let mut facts = Facts { operation: Some(std::sync::Arc::clone(&op.label)), write_only, ..Facts::default() };

    let query = validate::parse_query(parts.uri.query());
    vendor_rules::check(spec, op, &parts.headers, &query, body).map_err(facts.refuse())?;
    let caller = auth::caller(spec, op, &parts.method, &parts.headers, &query).map_err(facts.refuse())?;
    facts.tenant = Some(crate::state::mask(&caller.tenant.0));
    facts.rate = rate_limit::count(app, mount, op, &caller).await;
    rate_limit::enforce(facts.rate).map_err(facts.refuse())?;
    facts.warnings = validate::check(spec, op, &routed.params, &query, &parts.headers, body).map_err(facts.refuse())?;
    let prefer_values: Vec<&str> = parts.headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()).collect();
    let prefer = crate::respond::Prefer::parse(&prefer_values);
    if let Some(faults::Fault::Cut(response)) = faults::apply(app, cx, &prefer).await.map_err(facts.refuse())? {
        return Ok(Answer { response, facts: Facts { source: Some("fault".into()), streamed: true, ..facts } });
    }
    // A store on the network (Redis) is awaited here, on this worker: no thread hand-off.
    let outcome = state::run(mount, &routed, &caller.tenant.0, &query, body, &prefer).await.map_err(facts.refuse())?;
    let (mut response, source) = respond::answer(mount, app.seed, parts, body, &routed, &prefer, outcome).map_err(facts.refuse())?;
    respond::warn_inferred(&mut response, &facts.warnings);
    facts.source = Some(source);
    Ok(Answer { response, facts })
}
