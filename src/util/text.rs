//! Message text: shortening what echoes client or schema input into an error message.
//!
//! Takes a message; hands on at most [`MAX_MESSAGE`] characters of it (with `…` when cut).
//! Used by request validation, fixture checks, schema repair and `check`. Also the one decoder of
//! query strings ([`parse_query`]), for validation, recording and replay alike.

/// Longest message (in characters) put into an error detail.
pub const MAX_MESSAGE: usize = 240;

/// Shorten a message to [`MAX_MESSAGE`] characters.
pub fn short(msg: &str) -> String {
    if msg.len() <= MAX_MESSAGE || msg.chars().count() <= MAX_MESSAGE {
        return msg.to_string();
    }
    let mut s: String = msg.chars().take(MAX_MESSAGE).collect();
    s.push('…');
    s
}

/// Name and value of each query parameter, percent-decoded (`+` is a space, as in HTML forms;
/// invalid UTF-8 is replaced, not refused), in order.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}
