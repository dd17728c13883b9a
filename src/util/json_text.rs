//! Compact JSON text, byte for byte what `serde_json::to_writer` writes, only faster.
//!
//! Takes a string or a `serde_json::Value`; appends its JSON text to a byte buffer. Generated
//! bodies, fixture and example bytes, error envelopes and validation messages are written here.

use serde_json::Value;

/// Append `s` as a JSON string, exactly as `serde_json::to_writer` writes it. Runs that need no
/// escaping are found eight bytes at a time and copied whole: serde_json looks up every byte in a
/// table, which showed in profiles of generated bodies and of error envelopes.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if i + 8 <= bytes.len() {
            let mut chunk = [0u8; 8];
            chunk.copy_from_slice(&bytes[i..i + 8]);
            if !needs_escape(u64::from_le_bytes(chunk)) {
                i += 8;
                continue;
            }
        }
        let end = (i + 8).min(bytes.len());
        while i < end {
            let b = bytes[i];
            if b < 0x20 || b == b'"' || b == b'\\' {
                out.extend_from_slice(&bytes[start..i]);
                escape_byte(out, b);
                start = i + 1;
            }
            i += 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Compact JSON text of `v`, byte for byte what `serde_json::to_writer` writes, stopping once
/// `out` is longer than `limit` bytes (error messages show only the start of an instance; pass
/// `usize::MAX` for all of it).
pub fn write_value(out: &mut Vec<u8>, v: &Value, limit: usize) {
    if out.len() > limit {
        return;
    }
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => {
            // A long string is cut at a character boundary past what the message can show.
            let room = limit.saturating_add(1).saturating_sub(out.len());
            let cut = if s.len() <= room { s.len() } else { (room..=s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(s.len()) };
            write_json_str(out, &s[..cut]);
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if out.len() > limit {
                    return;
                }
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, limit);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, item)) in map.iter().enumerate() {
                if out.len() > limit {
                    return;
                }
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, k);
                out.push(b':');
                write_value(out, item, limit);
            }
            out.push(b'}');
        }
    }
}

/// Whether any of eight bytes is a control character, `"` or `\\` (exact: the "has a byte less
/// than n" and "has a zero byte" bit tricks never report a byte that is not there).
fn needs_escape(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    (control | zero(quote) | zero(backslash)) != 0
}

fn escape_byte(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Pushed byte by byte: two- and six-byte copies through `extend_from_slice` are calls to
    // memcpy, dearer than the escape itself.
    out.push(b'\\');
    match b {
        b'"' | b'\\' => out.push(b),
        b'\n' => out.push(b'n'),
        b'\r' => out.push(b'r'),
        b'\t' => out.push(b't'),
        0x08 => out.push(b'b'),
        0x0c => out.push(b'f'),
        _ => {
            out.push(b'u');
            out.push(b'0');
            out.push(b'0');
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::write_json_str;

    #[test]
    fn json_strings_are_escaped_exactly_as_serde_json_does() {
        let cases = [
            "",
            "plain",
            "exactly8",
            "a \"quoted\" \\ path",
            "tab\tnew\nline\r\u{8}\u{c}",
            "ctl \u{1}\u{1f} end",
            "ünïcödé → ✓ and a longer tail of text",
            "\u{7f}",
            "0123456\"",
            "01234567\\89abcdef\u{1f}",
        ];
        for s in cases {
            let mut out = Vec::new();
            write_json_str(&mut out, s);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(s).unwrap(), "{s:?}");
        }
        let value = serde_json::json!({"a": [1, -2.5, 1e300, true, null, "x\"y"], "b": {"ü": {}}, "c": []});
        let mut out = Vec::new();
        super::write_value(&mut out, &value, usize::MAX);
        assert_eq!(out, serde_json::to_vec(&value).unwrap());
        // Every single byte value in every position of a chunk.
        for b in 0u8..0x80 {
            for pos in 0..10 {
                let mut s = "x".repeat(10);
                s.replace_range(pos..pos + 1, std::str::from_utf8(&[b]).unwrap());
                let mut out = Vec::new();
                write_json_str(&mut out, &s);
                assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap(), "byte {b:#x} at {pos}");
            }
        }
    }
}
