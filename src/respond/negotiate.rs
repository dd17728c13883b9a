//! Content negotiation as clients do it (RFC 9110 §12.5.1): which declared media type of a
//! response the `Accept` header prefers.
//!
//! Takes the declared media types (parsed once, at load, into [`Declared`]) and the `Accept`
//! value; hands on the chosen media type, or `None` for a 406. Each declared type gets the
//! quality of the most specific range that matches it: `type/subtype` (parameters aside), then a
//! structured-syntax suffix (RFC 6839: `application/vnd.github.v3+json` and `application/json`
//! are both JSON), then `type/*`, then `*/*`. `q=0` excludes. The highest quality wins; ties go
//! to the more specific match, then to JSON, then to declaration order. Per request the header
//! is scanned in place, once per declared type: no allocation.

use crate::spec::model::{is_json_mime, ResponseMedia};

/// A declared media type, parsed at load.
#[derive(Debug, Clone)]
pub struct Declared {
    ty: String,
    subtype: String,
    /// The structured-syntax suffix (`json` of `vnd.x+json`), else the subtype.
    base: String,
    json: bool,
}

impl Declared {
    /// Parse a declared media type (`None` when it is not one).
    pub fn parse(mime: &str) -> Option<Declared> {
        let m: mime::Mime = mime.parse().ok()?;
        // `Mime::subtype` leaves the suffix out; the full subtype is what a range names.
        let subtype = m.essence_str().split_once('/').map_or("", |(_, s)| s).to_ascii_lowercase();
        let base = m.suffix().map_or_else(|| subtype.clone(), |s| s.as_str().to_ascii_lowercase());
        Some(Declared { ty: m.type_().as_str().to_ascii_lowercase(), subtype, base, json: is_json_mime(mime) })
    }

    /// How specifically the range `ty/subtype` matches this type: 4 exact, 3 same suffix, 2
    /// `type/*`, 1 `*/*` (a declared wildcard matches any range at 1).
    fn specificity(&self, ty: &str, subtype: &str) -> Option<u8> {
        if self.ty == "*" || (ty == "*" && subtype == "*") {
            return Some(1);
        }
        if !self.ty.eq_ignore_ascii_case(ty) {
            return None;
        }
        if subtype == "*" || self.subtype == "*" {
            return Some(2);
        }
        if self.subtype.eq_ignore_ascii_case(subtype) {
            return Some(4);
        }
        let range_base = subtype.rsplit_once('+').map_or(subtype, |(_, s)| s);
        self.base.eq_ignore_ascii_case(range_base).then_some(3)
    }

    /// The quality `accept` gives this type and how specific the range that gave it is.
    fn quality(&self, accept: &str) -> Option<(f32, u8)> {
        let mut best: Option<(f32, u8)> = None;
        for part in accept.split(',') {
            let mut bits = part.split(';');
            let range = bits.next().unwrap_or("").trim();
            let Some((ty, subtype)) = range.split_once('/') else { continue };
            let Some(spec) = self.specificity(ty.trim(), subtype.trim()) else { continue };
            if best.is_some_and(|(_, s)| s >= spec) {
                continue;
            }
            let q = bits
                .filter_map(|b| b.trim().strip_prefix("q=").or_else(|| b.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            best = Some((q, spec));
        }
        best
    }
}

/// Pick the declared media type `accept` prefers; `declared` is parsed from `content`, in order.
/// `None` means 406.
pub fn negotiate<'m>(content: &'m [ResponseMedia], declared: &[Option<Declared>], accept: Option<&str>) -> Option<&'m ResponseMedia> {
    let first_json = || content.iter().find(|m| is_json_mime(&m.mime)).or(content.first());
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else { return first_json() };
    let mut best: Option<(usize, f32, u8, bool)> = None;
    for (i, d) in declared.iter().enumerate() {
        let Some(d) = d else { continue };
        let Some((q, spec)) = d.quality(accept) else { continue };
        if q <= 0.0 {
            continue;
        }
        let better = match best {
            None => true,
            Some((_, bq, bs, bj)) => q > bq || (q == bq && (spec > bs || (spec == bs && d.json && !bj))),
        };
        if better {
            best = Some((i, q, spec, d.json));
        }
    }
    best.and_then(|(i, ..)| content.get(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(declared: &[&str], accept: &str) -> Option<String> {
        let content: Vec<ResponseMedia> = declared
            .iter()
            .map(|m| ResponseMedia { mime: m.to_string(), schema: None, examples: vec![], fixture: None, index: 0, content_type: None })
            .collect();
        let parsed: Vec<Option<Declared>> = declared.iter().map(|m| Declared::parse(m)).collect();
        negotiate(&content, &parsed, Some(accept)).map(|m| m.mime.clone())
    }

    #[test]
    fn q_values_wildcards_and_suffixes() {
        let both = ["application/json", "text/csv"];
        assert_eq!(pick(&both, "text/csv;q=0.9, application/json;q=0.5").as_deref(), Some("text/csv"));
        assert_eq!(pick(&both, "*/*").as_deref(), Some("application/json"));
        assert_eq!(pick(&both, "text/*").as_deref(), Some("text/csv"));
        assert_eq!(pick(&both, "application/json;q=0, */*;q=0.1").as_deref(), Some("text/csv"));
        assert_eq!(pick(&both, "application/xml"), None);
        assert_eq!(pick(&["application/json"], "application/vnd.github.v3+json").as_deref(), Some("application/json"));
        // The exact type beats the same suffix at equal quality.
        let vendor = ["application/json", "application/vnd.x.report+json"];
        assert_eq!(pick(&vendor, "application/vnd.x.report+json").as_deref(), Some("application/vnd.x.report+json"));
        assert_eq!(pick(&vendor, "application/json").as_deref(), Some("application/json"));
    }
}
