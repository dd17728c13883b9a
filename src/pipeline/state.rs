//! Stage 7, state: CRUD operations of the resources inferred from the spec act on the caller's
//! store in the sandbox (`state/`), unless the sandbox is off (`--stateless`) or the client asks
//! for a specific mock answer (`Prefer: code=` or `example=`).
//!
//! Takes the mount, the operation, the tenant and the request. Hands on what the sandbox decided
//! (`None`: answer as the contract mock would), or the vendor's 404 / 409 / 422.

use crate::app::Mount;
use crate::reject::Rejection;
use crate::respond::Prefer;
use crate::state::Outcome;

use super::route::Routed;

/// Run the sandbox for one request.
pub async fn run(
    mount: &Mount,
    routed: &Routed,
    tenant: &str,
    query: &[(String, String)],
    body: &[u8],
    prefer: &Prefer,
) -> Result<Option<Outcome>, Rejection> {
    match &mount.sandbox {
        Some(sandbox) if prefer.code.is_none() && prefer.example.is_none() => {
            sandbox.handle(&mount.spec, routed.op, tenant, &routed.params, query, body).await
        }
        _ => Ok(None),
    }
}
