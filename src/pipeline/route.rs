//! Stage 1, route: the operation a request is for, from the mounted spec's route table (built
//! once at load). Takes the mount and the method and path; hands on the operation's index and
//! its path parameters, an `Allow` answer for `OPTIONS`, or the 404 / 405.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;

use crate::app::Mount;
use crate::reject::Rejection;
use crate::routes::RouteMatch;

/// A request's operation.
#[derive(Debug, Clone)]
pub struct Routed {
    /// Index into the spec's operations.
    pub op: usize,
    /// Path parameters, still percent-encoded as sent.
    pub params: Vec<(String, String)>,
}

/// What routing found.
#[derive(Debug)]
pub enum Route {
    Found(Routed),
    /// `OPTIONS` on a path the spec has: answered with the methods it allows.
    Options(Response),
}

/// Look `path` up in the mount's table.
pub fn route(mount: Option<&Mount>, method: &Method, path: &str) -> Result<Route, Rejection> {
    let (mount, rest) = mount.and_then(|m| Some((m, m.rest(path)?))).ok_or_else(|| Rejection::not_found(method, path))?;
    match mount.table.lookup(method, rest) {
        RouteMatch::Found { operation, params } => Ok(Route::Found(Routed { op: operation, params })),
        RouteMatch::MethodNotAllowed { allow } if *method == Method::OPTIONS => Ok(Route::Options(options_response(&allow))),
        RouteMatch::MethodNotAllowed { allow } => Err(Rejection::method_not_allowed(method, path, &allow)),
        RouteMatch::NotFound => Err(Rejection::not_found(method, path)),
    }
}

fn options_response(allow: &[Method]) -> Response {
    let list = allow.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    if let Ok(v) = HeaderValue::from_str(&list) {
        r.headers_mut().insert(header::ALLOW, v);
    }
    r
}
