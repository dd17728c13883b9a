//! Stable hashing and hex: seeds, shards and ids that must not change between releases.
//!
//! Takes bytes; hands on a 64-bit FNV-1a hash ([`stable_hash`]) or lower-case hex text
//! ([`push_hex`]). Used by generation (request seeds), chaos, rate-limit shards and the sandbox.

/// Stable 64-bit FNV-1a hash (not `DefaultHasher`, whose output may change between releases).
pub fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Lower-case hex of `bytes`, appended (ids and uuids: no `format!` per byte).
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xf) as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_hex_are_stable() {
        assert_eq!(stable_hash(&[]), 0xcbf2_9ce4_8422_2325);
        assert_ne!(stable_hash(&[b"ab"]), stable_hash(&[b"a", b"b"]));
        let mut s = String::new();
        push_hex(&mut s, &[0x00, 0x7f, 0xff]);
        assert_eq!(s, "007fff");
    }
}
