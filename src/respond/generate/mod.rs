//! Generate realistic, schema-valid, deterministic data from a response schema.
//!
//! Last resort of the response sources (fixture > example > generated). A response schema is
//! first compiled into a [`Plan`] (once, on first use of that response): `$ref`s resolved,
//! `allOf` merged, `oneOf` branches sorted out, bounds, formats, patterns (compiled regex
//! generators) and property-name hints (`email`, `firstName`, `city`, `amount`, …) decided. Each
//! request then only walks the plan with a seeded RNG: no schema lookups, hashing or string
//! matching on the hot path.
//!
//! Determinism: the caller seeds a `ChaCha8Rng` (portable across platforms and rand versions,
//! unlike `StdRng`) from the CLI seed and a stable hash of the request, so the same seed, route
//! and request give the same body.
//!
//! Bounds: past [`OPTIONAL_DEPTH`] only required properties are generated; past [`MAX_DEPTH`]
//! objects and arrays are empty; every body is capped at [`NODE_BUDGET`] values and every plan
//! at [`MAX_PLAN_NODES`] nodes, so a hostile schema (huge `minItems`, deep recursion) cannot run
//! away.
//!
//! Files, in the order data flows through them:
//! * [`compile`]: schema → [`Plan`] (`$ref`s, `allOf` merging, `oneOf` branches, bounds);
//! * [`pattern`]: `pattern` keywords → regex generators;
//! * [`hints`]: property names → the kind of fake text or number they suggest;
//! * [`run`]: [`Plan`] + seed → [`Gen`], the generated value;
//! * [`gen`]: [`Gen`] → JSON text or a `serde_json::Value`;
//! * [`inspect`]: a plan's shape read from outside (the fields an error body fills in).
//!
//! JSON text writing, hashing and time formatting live in `crate::util` and are re-exported
//! here for the callers that know them by this path.

mod compile;
mod gen;
mod hints;
mod inspect;
pub mod pattern;
mod plan;
mod run;
#[cfg(test)]
mod tests;

use serde_json::Value;

pub use crate::util::hash::{push_hex, stable_hash};
pub use crate::util::json_text::{write_json_str, write_value};
pub use crate::util::time::format_rfc3339;
pub use gen::Gen;
pub use inspect::{NodeRef, Shape};
pub use pattern::generatable;
pub use plan::Plan;

/// Below this depth optional properties are generated too; deeper, only required ones.
const OPTIONAL_DEPTH: usize = 4;
/// Deeper than this, objects and arrays are generated empty.
const MAX_DEPTH: usize = 12;
/// At most this many values per generated body.
const NODE_BUDGET: usize = 20_000;
/// Arrays never grow past this, whatever `minItems` says.
pub const MAX_ARRAY: usize = 1_000;
/// A plan never holds more nodes than this (the rest generate `null`).
const MAX_PLAN_NODES: usize = 200_000;
/// `allOf` nested deeper than this is not merged further.
const MAX_MERGE_DEPTH: usize = 16;

/// Formats [`Run::formatted`] produces valid values for.
const GENERATED_FORMATS: [&str; 12] =
    ["email", "idn-email", "uuid", "date-time", "date", "time", "uri", "url", "hostname", "ipv4", "ipv6", "byte"];

/// Compile and generate in one step (tests, one-off use).
pub fn generate(doc: &Value, pointer: &str, seed: u64, dynamic: bool) -> Value {
    Plan::compile(doc, pointer).generate(seed, dynamic)
}
