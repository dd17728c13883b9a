//! JSON pointers (RFC 6901) and the `$ref` chains they travel through: the one implementation
//! the crate uses.
//!
//! Takes a document (`serde_json::Value`) and a pointer or a URI fragment (`#/components/…`,
//! possibly percent-encoded); hands back the value it names, the canonical pointer of a `$ref`
//! chain's end, or a pointer built token by token. Imports nothing of the crate.
//!
//! Every loop that follows `$ref`s stops after [`MAX_REF_HOPS`] hops, so a circular chain in a
//! hostile spec ends with an error instead of a hang.

use std::borrow::Cow;

use serde_json::Value;

/// The most `$ref`s followed in one chain before it is called circular.
pub const MAX_REF_HOPS: usize = 64;

/// Escape one reference token (RFC 6901 §4: `~` → `~0`, `/` → `~1`).
pub fn escape_token(token: &str) -> String {
    if !token.contains(['~', '/']) {
        return token.to_string();
    }
    token.replace('~', "~0").replace('/', "~1")
}

/// Undo [`escape_token`], borrowing when there is nothing to undo (lookups on the request path).
pub fn unescaped(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

/// Undo [`escape_token`], as an owned string.
pub fn unescape_token(token: &str) -> String {
    unescaped(token).into_owned()
}

/// Append `/token`, escaped.
pub fn push_token(at: &mut String, token: &str) {
    at.push('/');
    if token.contains(['~', '/']) {
        at.push_str(&escape_token(token));
    } else {
        at.push_str(token);
    }
}

/// Append `/index` (array positions; no formatting machinery).
pub fn push_index(at: &mut String, index: usize) {
    at.push('/');
    at.push_str(itoa::Buffer::new().format(index));
}

/// Join a pointer and one more token.
pub fn join(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    out.push_str(pointer);
    push_token(&mut out, token);
    out
}

/// The pointer made of `tokens`, each escaped (`["a/b", "0"]` → `/a~1b/0`).
pub fn from_tokens<T: AsRef<str>>(tokens: impl IntoIterator<Item = T>) -> String {
    let mut out = String::new();
    for t in tokens {
        push_token(&mut out, t.as_ref());
    }
    out
}

/// Percent-encode a pointer for use in a URI fragment (`$ref: '#…'`; RFC 6901 §6).
pub fn encode_pointer(pointer: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'/').remove(b'~').remove(b'-').remove(b'.').remove(b'_');
    percent_encoding::utf8_percent_encode(pointer, KEEP).to_string()
}

/// Undo the percent-encoding of a URI fragment, borrowing when there is none.
pub fn decode_fragment(fragment: &str) -> Cow<'_, str> {
    if fragment.contains('%') {
        percent_encoding::percent_decode_str(fragment).decode_utf8_lossy()
    } else {
        Cow::Borrowed(fragment)
    }
}

/// `Value::pointer` without a `String` per token (serde_json unescapes every token into a new
/// one): for lookups on the request path.
pub fn get<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(doc);
    }
    let mut current = doc;
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = unescaped(token);
        current = match current {
            Value::Object(map) => map.get(token.as_ref())?,
            Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Resolve a URI fragment (`/components/schemas/Deal`, possibly percent-encoded) in `doc`.
pub fn resolve_fragment<'a>(doc: &'a Value, fragment: &str) -> Option<&'a Value> {
    get(doc, &decode_fragment(fragment))
}

/// Follow a chain of `$ref`s starting at `value` (at `pointer`) to the first non-reference value.
///
/// Returns the value and its pointer, or an error message for a broken or circular chain.
pub fn deref<'a>(doc: &'a Value, value: &'a Value, pointer: &str) -> Result<(&'a Value, String), String> {
    let mut current = value;
    let mut at = pointer.to_string();
    for _ in 0..MAX_REF_HOPS {
        match current.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let fragment = r.strip_prefix('#').ok_or_else(|| format!("unsupported $ref {r:?}"))?;
                current = resolve_fragment(doc, fragment).ok_or_else(|| format!("$ref {r:?} does not resolve"))?;
                at = decode_fragment(fragment).into_owned();
            }
            None => return Ok((current, at)),
        }
    }
    Err(format!("$ref chain is circular or longer than {MAX_REF_HOPS} hops"))
}

/// Resolve a pointer token by token, following `$ref`s met on the way (a pointer that passes
/// *through* a reference, which some tools accept). Returns the canonical pointer of the target.
pub fn deep_resolve(doc: &Value, pointer: &str) -> Option<String> {
    let mut at = String::new();
    let mut hops = 0;
    for token in pointer.split('/').skip(1) {
        let key = unescaped(token);
        loop {
            let node = get(doc, &at)?;
            let has = match node {
                Value::Object(m) => m.contains_key(key.as_ref()),
                Value::Array(a) => key.parse::<usize>().is_ok_and(|i| i < a.len()),
                _ => false,
            };
            if has {
                break;
            }
            let r = node.get("$ref").and_then(Value::as_str)?.strip_prefix('#')?;
            hops += 1;
            if hops > MAX_REF_HOPS {
                return None;
            }
            at = decode_fragment(r).into_owned();
        }
        push_token(&mut at, &key);
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn get_matches_serde_json_pointer() {
        let doc = json!({"a/b": {"c~d": [1, {"e": true}]}, "": {"x": 0}});
        for p in ["", "/a~1b", "/a~1b/c~0d", "/a~1b/c~0d/1/e", "/a~1b/c~0d/2", "/missing", "//x", "/a~1b/c~0d/x", "no-slash"] {
            assert_eq!(get(&doc, p), doc.pointer(p), "{p}");
        }
    }

    #[test]
    fn tokens_escape_and_unescape_both_ways() {
        assert_eq!(from_tokens(["a/b", "c~d", "0"]), "/a~1b/c~0d/0");
        assert_eq!(unescape_token("a~1b~0c"), "a/b~c");
        assert_eq!(join("/paths", "/x/{id}"), "/paths/~1x~1{id}");
        let mut at = String::from("/items");
        push_index(&mut at, 12);
        assert_eq!(at, "/items/12");
    }

    #[test]
    fn ref_chains_are_followed_and_circular_ones_stop() {
        let doc =
            json!({"a": {"$ref": "#/b"}, "b": {"$ref": "#/c%20d"}, "c d": {"type": "string"}, "x": {"$ref": "#/y"}, "y": {"$ref": "#/x"}});
        let (v, at) = deref(&doc, &doc["a"], "/a").unwrap();
        assert_eq!((v, at.as_str()), (&json!({"type": "string"}), "/c d"));
        assert!(deref(&doc, &doc["x"], "/x").unwrap_err().contains(&MAX_REF_HOPS.to_string()));
        let through = json!({"r": {"$ref": "#/t"}, "t": {"k": {"v": 1}}});
        assert_eq!(deep_resolve(&through, "/r/k/v").as_deref(), Some("/t/k/v"));
        assert_eq!(deep_resolve(&doc, "/x/nothing"), None, "a circular chain resolves to nothing");
    }
}
