//! `pattern` keywords → regex generators (`rand_regex`), for strings that must match them.
//!
//! Takes the pattern text; hands on a generator, or `None` when the syntax cannot be generated
//! from (look-around, backreferences) or its strings would be huge. Those strings fall back to
//! plain words; `standin check` warns about them through [`generatable`].

/// Whether strings matching `pattern` can be generated (else they fall back to words).
pub fn generatable(pattern: &str) -> bool {
    compile(pattern).is_some()
}

/// Compile a pattern for generation: anchors stripped (rand_regex rejects them), ASCII classes
/// (Unicode `\w` yields exotic code points), repeats bounded. `None` for unsupported syntax
/// (look-around, backreferences): those strings fall back to plain words.
pub(super) fn compile(p: &str) -> Option<rand_regex::Regex> {
    let mut s = p;
    s = s.strip_prefix('^').unwrap_or(s);
    s = s.strip_prefix("\\A").unwrap_or(s);
    if s.ends_with('$') && !s.ends_with("\\$") {
        s = &s[..s.len() - 1];
    }
    s = s.strip_suffix("\\z").unwrap_or(s);
    let hir = regex_syntax::ParserBuilder::new().unicode(false).utf8(true).build().parse(s).ok()?;
    // A hostile pattern (`(a{1000}){1000}`) would make every generated string huge: refuse to
    // generate from patterns whose strings are necessarily longer than this.
    const MAX_PATTERN_LEN: usize = 4096;
    let props = hir.properties();
    if props.minimum_len().is_some_and(|n| n > MAX_PATTERN_LEN) || props.maximum_len().is_some_and(|n| n > MAX_PATTERN_LEN) {
        return None;
    }
    rand_regex::Regex::with_hir(hir, 8).ok()
}
