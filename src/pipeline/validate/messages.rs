//! How one validator error is told to the client: its problems with readable locations
//! (`body.items[0].sku`, `query.limit`), a message written here for the common kinds (cheaper and
//! shorter than the validator's own rendering), and the keyword as a `'static` string.
//!
//! Takes jsonschema's errors and the instance; hands on [`Problem`]s.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::reject::Problem;
use crate::spec::convert::{FORBIDDEN_MARKER, FORBIDDEN_PROPERTIES};
use crate::util::text::MAX_MESSAGE;

use super::{short, shorten};

/// Add the problems one validator error stands for, each with a readable location, while `out`
/// holds fewer than `cap`; returns how many problems the error stands for (an
/// `additionalProperties` error names every undeclared key: a body with 700,000 of them is one
/// error, and building a problem for each would cost more than the whole request).
pub(super) fn push_problems(
    err: &jsonschema::ValidationError<'_>,
    instance: &Value,
    root: Option<&str>,
    out: &mut Vec<Problem>,
    cap: usize,
) -> usize {
    let keyword = static_keyword(err.kind().keyword());
    let room = |out: &Vec<Problem>| out.len() < cap;
    match err.kind() {
        ValidationErrorKind::Required { property } => {
            if room(out) {
                let location = readable_location(err.instance_path().as_str(), instance, root);
                let name = property.as_str().map_or_else(|| property.to_string(), str::to_string);
                out.push(Problem { location: child(location, &name), message: "is required".into(), keyword: Some(keyword) });
            }
            1
        }
        ValidationErrorKind::AdditionalProperties { unexpected } | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let location = readable_location(err.instance_path().as_str(), instance, root);
            for name in unexpected.iter().take(cap.saturating_sub(out.len())) {
                out.push(Problem {
                    location: child(location.clone(), name),
                    message: "is not a declared property and additional properties are not allowed".into(),
                    keyword: Some(keyword.clone()),
                });
            }
            unexpected.len()
        }
        // A readOnly/writeOnly refusal clause (see spec::convert): name each property sent.
        ValidationErrorKind::Not { schema } if schema.get(FORBIDDEN_MARKER).is_some() => {
            let location = readable_location(err.instance_path().as_str(), instance, root);
            let flag = schema.get(FORBIDDEN_MARKER).and_then(Value::as_str).unwrap_or_default();
            let names = schema.get(FORBIDDEN_PROPERTIES).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
            let here = crate::spec::load::pointer(instance, err.instance_path().as_str());
            let mut n = 0;
            for name in names.iter().filter_map(Value::as_str).filter(|n| here.is_some_and(|h| h.get(*n).is_some())) {
                n += 1;
                if room(out) {
                    out.push(Problem {
                        location: child(location.clone(), name),
                        message: format!("is {flag} and must not be sent in a request"),
                        keyword: Some(static_keyword(flag)),
                    });
                }
            }
            n
        }
        _ => {
            if room(out) {
                let location = readable_location(err.instance_path().as_str(), instance, root);
                out.push(Problem { location, message: message(err), keyword: Some(keyword) });
            }
            1
        }
    }
}

/// The message of one validator error: jsonschema's own wording, [`short`]ened, written here for
/// the common kinds. jsonschema's `Display` renders the instance through the formatting
/// machinery (about 2,000 instructions a message, the largest cost of a 400) and renders all of
/// it before it is cut: a type error on a 1 MB body rendered 1 MB.
pub(super) fn message(err: &jsonschema::ValidationError<'_>) -> String {
    // Past this many bytes a message has more than MAX_MESSAGE characters (4 bytes at most each),
    // so `short` cuts it where it would cut the whole text.
    const ENOUGH: usize = 4 * MAX_MESSAGE + 4;
    let instance: &Value = err.instance();
    let mut out = Vec::with_capacity(64);
    let value = |out: &mut Vec<u8>, v: &Value| crate::util::json_text::write_value(out, v, ENOUGH);
    let plural = |n: u64, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    match err.kind() {
        ValidationErrorKind::Type { kind: TypeKind::Single(t) } => {
            value(&mut out, instance);
            out.extend_from_slice(b" is not of type \"");
            out.extend_from_slice(t.as_str().as_bytes());
            out.push(b'"');
        }
        ValidationErrorKind::Type { kind: TypeKind::Multiple(types) } => {
            value(&mut out, instance);
            out.extend_from_slice(b" is not of types ");
            for (i, t) in types.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                out.push(b'"');
                out.extend_from_slice(t.as_str().as_bytes());
                out.push(b'"');
            }
        }
        ValidationErrorKind::Enum { options } => {
            let Some(options) = options.as_array() else { return short(&err.to_string()) };
            value(&mut out, instance);
            write_options(&mut out, options, &value);
        }
        ValidationErrorKind::Pattern { pattern } => {
            value(&mut out, instance);
            out.extend_from_slice(b" does not match \"");
            out.extend_from_slice(pattern.as_bytes());
            out.push(b'"');
        }
        ValidationErrorKind::Format { format } => {
            value(&mut out, instance);
            out.extend_from_slice(b" is not a \"");
            out.extend_from_slice(format.as_bytes());
            out.push(b'"');
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            value(&mut out, instance);
            out.extend_from_slice(match err.kind() {
                ValidationErrorKind::Minimum { .. } => b" is less than the minimum of ",
                ValidationErrorKind::Maximum { .. } => b" is greater than the maximum of ",
                ValidationErrorKind::ExclusiveMinimum { .. } => b" is less than or equal to the minimum of ",
                _ => b" is greater than or equal to the maximum of ",
            });
            value(&mut out, limit);
        }
        ValidationErrorKind::MinLength { limit } | ValidationErrorKind::MaxLength { limit } => {
            let longer = matches!(err.kind(), ValidationErrorKind::MaxLength { .. });
            value(&mut out, instance);
            out.extend_from_slice(
                format!(" is {} than {limit} character{}", if longer { "longer" } else { "shorter" }, plural(*limit, "", "s")).as_bytes(),
            );
        }
        ValidationErrorKind::MinItems { limit } | ValidationErrorKind::MaxItems { limit } => {
            let more = matches!(err.kind(), ValidationErrorKind::MaxItems { .. });
            value(&mut out, instance);
            out.extend_from_slice(
                format!(" has {} than {limit} item{}", if more { "more" } else { "less" }, plural(*limit, "", "s")).as_bytes(),
            );
        }
        ValidationErrorKind::Constant { expected_value } => {
            value(&mut out, expected_value);
            out.extend_from_slice(b" was expected");
        }
        _ => return short(&err.to_string()),
    }
    // Only whole UTF-8 sequences were written (strings are cut at character boundaries).
    shorten(String::from_utf8(out).unwrap_or_default())
}

/// ` is not one of "a", "b" or "c"`: jsonschema shows three options, or two and a count.
fn write_options(out: &mut Vec<u8>, options: &[Value], value: &dyn Fn(&mut Vec<u8>, &Value)) {
    out.extend_from_slice(b" is not one of ");
    let shown = if options.len() <= 3 { options.len() } else { 2 };
    for (i, option) in options.iter().take(shown).enumerate() {
        out.extend_from_slice(match i {
            0 => b"",
            _ if i == options.len() - 1 => b" or ",
            _ => b", ",
        });
        value(out, option);
    }
    if shown < options.len() {
        out.extend_from_slice(format!(" or {} other candidates", options.len() - shown).as_bytes());
    }
}

/// The keyword as a `'static` string when it is one standin knows, so a problem costs no
/// allocation for it.
pub fn static_keyword(keyword: &str) -> std::borrow::Cow<'static, str> {
    // A `match` on the text: the compiler dispatches on length first (a linear scan of the list
    // compared up to 48 strings per problem).
    macro_rules! known {
        ($($k:literal),* $(,)?) => {
            match keyword {
                $($k => std::borrow::Cow::Borrowed($k),)*
                other => std::borrow::Cow::Owned(other.to_string()),
            }
        };
    }
    known!(
        "$ref",
        "additionalItems",
        "additionalProperties",
        "allOf",
        "anyOf",
        "const",
        "contains",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
        "dependentRequired",
        "dependentSchemas",
        "enum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "false",
        "falseSchema",
        "format",
        "if",
        "items",
        "maxContains",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minContains",
        "minItems",
        "minLength",
        "minProperties",
        "minimum",
        "multipleOf",
        "not",
        "oneOf",
        "pattern",
        "prefixItems",
        "propertyNames",
        "readOnly",
        "required",
        "type",
        "unevaluatedItems",
        "unevaluatedProperties",
        "uniqueItems",
        "writeOnly",
        "dependencies",
        "patternProperties",
        "properties",
        "then",
        "else",
        "$dynamicRef",
    )
}

fn child(mut location: String, name: &str) -> String {
    if !location.is_empty() {
        location.push('.');
    }
    location.push_str(name);
    location
}

/// `/items/0/sku` → `body.items[0].sku`; `/query/limit` → `query.limit`.
pub(super) fn readable_location(pointer: &str, instance: &Value, root: Option<&str>) -> String {
    let mut out = String::with_capacity(root.map_or(0, str::len) + pointer.len() + 24);
    out.push_str(root.unwrap_or(""));
    // Only a token of digits can be an array index; without one, the instance need not be walked.
    let may_index = pointer.split('/').skip(1).any(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()));
    let mut current = may_index.then_some(instance);
    for token in pointer.split('/').skip(1) {
        let token = crate::spec::error::unescaped(token);
        let token = token.as_ref();
        match current {
            Some(Value::Array(items)) => {
                out.push('[');
                out.push_str(token);
                out.push(']');
                current = token.parse::<usize>().ok().and_then(|i| items.get(i));
            }
            other => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(token);
                current = other.and_then(|v| v.get(token));
            }
        }
    }
    out
}
