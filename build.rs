//! Build script: the git commit for `standin --version` (`STANDIN_COMMIT`).
//!
//! `STANDIN_COMMIT` set in the environment wins (a build from a source archive can name its
//! commit); else `git rev-parse --short=12 HEAD`; else "unknown" (no git, or not a checkout).

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}

/// Rebuild when `file` changes; a file that does not exist is skipped (cargo would rerun the
/// script, and rebuild the crate, on every build).
fn watch(file: PathBuf) {
    if file.exists() {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=STANDIN_COMMIT");
    let commit = std::env::var("STANDIN_COMMIT").ok().filter(|c| !c.is_empty()).or_else(|| {
        // Rebuild when HEAD moves: HEAD itself (a checkout) and the ref it points at (a commit).
        // A worktree keeps HEAD in its own git dir and the refs in the common one.
        for (flag, file) in [("--git-dir", "HEAD"), ("--git-common-dir", "packed-refs")] {
            if let Some(dir) = git(&["rev-parse", flag]) {
                watch(PathBuf::from(dir).join(file));
            }
        }
        if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
            if let Some(dir) = git(&["rev-parse", "--git-common-dir"]) {
                watch(PathBuf::from(dir).join(reference));
            }
        }
        git(&["rev-parse", "--short=12", "HEAD"])
    });
    println!("cargo:rustc-env=STANDIN_COMMIT={}", commit.as_deref().unwrap_or("unknown"));
}
