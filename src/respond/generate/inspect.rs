//! Reading a compiled [`Plan`]'s shape from outside the generator: which properties an object
//! has and of what kind, so a caller can fill in fields of a generated value (error bodies put
//! the problems into `message`, the code into `code`, …) without walking the schema again.
//!
//! Takes a plan; hands on [`NodeRef`]s, their [`Shape`], and minimal values generated at a node.

use serde_json::Value;

use super::plan::{Kind, NodeId, Plan};

/// A node of a plan (only meaningful with the plan it came from).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeRef(NodeId);

/// What a node generates, as far as a caller filling fields needs to know.
#[derive(Debug)]
pub enum Shape<'p> {
    /// A string; `format` as declared.
    Str {
        format: Option<&'p str>,
    },
    Int,
    Num,
    Bool,
    /// One of these values.
    Enum(&'p [Value]),
    /// Exactly this value.
    Const(&'p Value),
    /// Declared properties: name, node, required.
    Object(Vec<(&'p str, NodeRef, bool)>),
    /// Items of this node.
    Array(NodeRef),
    /// Anything else (`null`, any value).
    Other,
}

impl Plan {
    /// The root node.
    pub fn root_ref(&self) -> NodeRef {
        NodeRef(self.root)
    }

    /// The shape of `node`. A `oneOf`/`anyOf` is seen through the branch the generator takes.
    pub fn shape(&self, node: NodeRef) -> Shape<'_> {
        let mut id = node.0;
        // Choices nest at most as deep as the plan is long.
        for _ in 0..self.nodes.len() {
            match &self.nodes[id].kind {
                Kind::Choice { options, distinct, .. } if !options.is_empty() => id = options[distinct.unwrap_or(0)],
                _ => break,
            }
        }
        match &self.nodes[id].kind {
            Kind::Str(s) => Shape::Str { format: s.format.as_deref() },
            Kind::Int(_) => Shape::Int,
            Kind::Num(_) => Shape::Num,
            Kind::Bool => Shape::Bool,
            Kind::Enum(values) => Shape::Enum(values),
            Kind::Const(v) => Shape::Const(v),
            Kind::Object(o) => Shape::Object(o.props.iter().map(|p| (p.name.as_str(), NodeRef(p.node), p.required)).collect()),
            Kind::Array(a) => Shape::Array(NodeRef(a.items)),
            _ => Shape::Other,
        }
    }

    /// The smallest value `node` generates: required properties only, arrays of `minItems`.
    pub fn generate_minimal(&self, node: NodeRef, seed: u64) -> Value {
        self.generate_minimal_at(node.0, seed)
    }
}
