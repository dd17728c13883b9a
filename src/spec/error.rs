//! Load-time diagnostics: every problem found in a spec names the file and the JSON pointer.
//!
//! Loading collects *all* problems before failing (like `check` in any good linter), so a user
//! fixes a broken spec in one pass. Problems that real-world specs commonly have and that do not
//! stop serving are [`Severity::Warning`]; `check --strict` turns them into errors.

use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a load-time problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The spec still serves; `check` lists it; `check --strict` fails on it.
    Warning,
    /// The spec cannot be served.
    Error,
}

/// One problem found while loading a spec or its fixtures.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file the problem is in (the spec, a referenced file, or a fixture).
    pub file: PathBuf,
    /// JSON pointer (RFC 6901) to the offending value inside `file`; empty for the whole file.
    pub pointer: String,
    pub message: String,
}

impl Diagnostic {
    pub fn error(file: &Path, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Error, file: file.to_path_buf(), pointer: pointer.into(), message: message.into() }
    }
    pub fn warning(file: &Path, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, file: file.to_path_buf(), pointer: pointer.into(), message: message.into() }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        let pointer = if self.pointer.is_empty() { "" } else { "#" };
        write!(f, "{level}: {}{pointer}{}: {}", self.file.display(), self.pointer, self.message)
    }
}

/// A spec that could not be loaded, with every problem found.
#[derive(Debug, thiserror::Error)]
#[error("{} cannot be served: {} error(s)\n{}", .file.display(), .errors.len(), render(.errors))]
pub struct LoadError {
    pub file: PathBuf,
    /// Every error (and, for context, every warning) that was found.
    pub errors: Vec<Diagnostic>,
}

fn render(diags: &[Diagnostic]) -> String {
    diags.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n")
}

// The pointer helpers moved to `util::pointer`; these names stay for the spec stages.
pub use crate::util::pointer::{escape_token, join, unescape_token, unescaped};
