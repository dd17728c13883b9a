//! The compiled form of a schema: a flat list of nodes a generator run walks.
//!
//! Built by [`compile`](super::compile), run by [`run`](super::run). Nothing here looks at the
//! document any more: keys, examples and `enum` values are owned by the plan.

use std::sync::Arc;

use serde_json::Value;

use super::hints::Hint;

pub(super) type NodeId = usize;

/// A compiled generator for one schema.
#[derive(Debug)]
pub struct Plan {
    pub(super) nodes: Vec<Node>,
    pub(super) root: NodeId,
    /// What the name of the generated thing suggests (set once by [`Plan::named`]).
    pub(super) hint: Hint,
}

#[derive(Debug)]
pub(super) struct Node {
    pub(super) kind: Kind,
    /// A scalar example or default of the right type, used unless `Prefer: dynamic=true` or the
    /// value repeats in an array.
    pub(super) example: Option<Value>,
}

#[derive(Debug)]
pub(super) enum Kind {
    Null,
    /// `true` or `{}`: anything; a word.
    Any,
    Const(Value),
    /// The non-null options (or only `null`).
    Enum(Vec<Value>),
    /// `oneOf`/`anyOf`: the compiled branches (siblings merged in), which is told apart from the
    /// others by its required set (for `oneOf`), and which do not recurse.
    Choice {
        options: Vec<NodeId>,
        distinct: Option<usize>,
        shallow: Vec<bool>,
    },
    Object(ObjectPlan),
    Array(ArrayPlan),
    Str(StrPlan),
    Int(NumPlan),
    Num(NumPlan),
    Bool,
}

#[derive(Debug)]
pub(super) struct Prop {
    pub(super) name: String,
    pub(super) node: NodeId,
    pub(super) required: bool,
    pub(super) hint: Hint,
}

#[derive(Debug)]
pub(super) struct ObjectPlan {
    pub(super) props: Vec<Prop>,
    /// Required names without a property schema (generated from `additional`, or `null`).
    pub(super) bare_required: Vec<(String, Hint)>,
    /// `additionalProperties` as a schema (`None` for absent, `true`, or `false`).
    pub(super) additional: Option<NodeId>,
    pub(super) additional_false: bool,
    pub(super) min_properties: usize,
}

#[derive(Debug)]
pub(super) struct ArrayPlan {
    pub(super) items: NodeId,
    pub(super) prefix: Vec<NodeId>,
    pub(super) min: usize,
    pub(super) max: usize,
    pub(super) unique: bool,
    /// With `uniqueItems`, an enum of items caps the length.
    pub(super) enum_len: Option<usize>,
}

#[derive(Debug)]
pub(super) struct StrPlan {
    pub(super) format: Option<String>,
    pub(super) pattern: Option<Arc<rand_regex::Regex>>,
    pub(super) min: usize,
    pub(super) max: Option<usize>,
}

#[derive(Debug)]
pub(super) struct NumPlan {
    pub(super) lo: Option<f64>,
    pub(super) hi: Option<f64>,
    pub(super) lo_ex: bool,
    pub(super) hi_ex: bool,
    pub(super) multiple_of: Option<f64>,
}

impl Plan {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the plan has no nodes (never: a plan has at least its root).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}
