//! What serving compiles from a spec's responses, owned by the serving side, not by the IR.
//!
//! Takes a loaded [`Spec`]; hands respond and the validation proxy, per response media type, its
//! response validator, its generation [`Plan`] and its fixture or example serialized once, and
//! per response header its value plan. The spec stays a pure model: nothing here is stored on it.
//!
//! # Implementation rationale
//! Everything is compiled lazily, on first use, and kept. A response validator is expensive
//! (GitHub's spec has thousands of responses, and building all of them would take seconds before
//! the first request), and most operations of a big spec are never called in one session.
//! [`Artifacts::new`] only allocates one empty slot per media type and header, found by their
//! `index` in the IR.

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;

use super::generate::Plan;
use crate::spec::model::{ResponseHeader, ResponseMedia};
use crate::spec::{Spec, View};

/// A response validator, or why the schema cannot be compiled.
pub type CompiledValidator = Result<Arc<jsonschema::Validator>, String>;

/// The artifacts of one spec's responses (built by the app next to the spec's route table).
#[derive(Debug, Default)]
pub struct Artifacts {
    /// By [`ResponseMedia::index`].
    media: Vec<MediaArtifacts>,
    /// By [`ResponseHeader::index`].
    headers: Vec<OnceLock<Plan>>,
    /// Every response media type parsed for negotiation, by [`ResponseMedia::index`] (a
    /// response's media types have consecutive indexes).
    declared: Vec<Option<super::negotiate::Declared>>,
    /// The declared error schemas refusals are answered in.
    pub errors: super::error_body::ErrorBodies,
}

/// What one response media type compiles to, each filled on first use.
#[derive(Debug, Default)]
pub struct MediaArtifacts {
    validator: OnceLock<CompiledValidator>,
    plan: OnceLock<Plan>,
    fixed_bytes: OnceLock<Bytes>,
    /// The first example that is valid once its `$ref`s are resolved: its position and value.
    example: OnceLock<Option<(usize, serde_json::Value)>>,
}

impl Artifacts {
    /// Empty slots for every response media type and header of `spec` (nothing compiled yet).
    pub fn new(spec: &Spec) -> Artifacts {
        let responses = spec.operations.iter().flat_map(|op| op.responses.iter());
        let (mut media, mut headers) = (0, 0);
        for r in responses {
            media = r.content.iter().map(|m| m.index + 1).fold(media, usize::max);
            headers = r.headers.iter().map(|h| h.index + 1).fold(headers, usize::max);
        }
        let mut declared = vec![None; media];
        for m in spec.operations.iter().flat_map(|op| op.responses.iter()).flat_map(|r| r.content.iter()) {
            declared[m.index] = super::negotiate::Declared::parse(&m.mime);
        }
        Artifacts {
            media: std::iter::repeat_with(MediaArtifacts::default).take(media).collect(),
            headers: std::iter::repeat_with(OnceLock::new).take(headers).collect(),
            errors: super::error_body::ErrorBodies::new(spec),
            declared,
        }
    }

    /// The media types of `response` parsed at load, in its order (for negotiation).
    pub fn declared(&self, response: &crate::spec::model::Response) -> &[Option<super::negotiate::Declared>] {
        let Some(first) = response.content.first() else { return &[] };
        self.declared.get(first.index..first.index + response.content.len()).unwrap_or(&[])
    }

    /// The artifacts of `media` (a media type of the spec these were built for).
    pub fn media(&self, media: &ResponseMedia) -> &MediaArtifacts {
        &self.media[media.index]
    }

    /// The value plan of a header with a schema at `pointer`, compiled on first use.
    pub fn header_plan(&self, spec: &Spec, header: &ResponseHeader, pointer: &str) -> &Plan {
        self.headers[header.index].get_or_init(|| Plan::compile(&spec.schemas.response, pointer).named(&header.name))
    }
}

impl MediaArtifacts {
    /// The response validator of the schema at `pointer`, compiled on first use.
    pub fn validator(&self, spec: &Spec, pointer: &str) -> &CompiledValidator {
        self.validator.get_or_init(|| spec.schemas.compile_pointer(View::Response, pointer))
    }

    /// The generation plan of the schema at `pointer`, compiled on first use.
    pub fn plan(&self, spec: &Spec, pointer: &str) -> &Plan {
        self.plan.get_or_init(|| Plan::compile(&spec.schemas.response, pointer))
    }

    /// The example an answer without `Prefer: example=` is served from: the first of `media`'s
    /// examples that validates against its schema once a `{"$ref": …}` value is resolved
    /// (GitHub's spec has `value: {$ref: "#/components/examples/…"}`). Examples that break
    /// their own schema are skipped, for a generated body.
    pub fn example(&self, spec: &Spec, media: &ResponseMedia) -> Option<(usize, &serde_json::Value)> {
        let chosen = self.example.get_or_init(|| {
            let validator = media.schema.as_deref().map(|s| self.validator(spec, s));
            media.examples.iter().enumerate().find_map(|(i, (_, pointer))| {
                let value = super::example_value(spec, pointer);
                match validator {
                    Some(Ok(v)) if !v.is_valid(&value) => None,
                    _ => Some((i, value)),
                }
            })
        });
        chosen.as_ref().map(|(i, v)| (*i, v))
    }

    /// The fixed body (fixture, or else the first example), serialized by `encode` on first use.
    pub fn fixed_bytes(&self, encode: impl FnOnce() -> Bytes) -> Bytes {
        self.fixed_bytes.get_or_init(encode).clone()
    }
}
