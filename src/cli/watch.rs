//! `serve --watch`: reload the specs when they, their overlays or their fixtures change.
//!
//! Takes a [`LoadPlan`] (what to load, and how) and the server's swappable app; hands the server
//! a rebuilt app after every edit that loads, and keeps the last good one (printing the error)
//! after an edit that does not. The sandboxes start again from the new fixtures.
//!
//! # Implementation rationale
//! A 300 ms poll of every watched file's size and modification time, not file-system events:
//! polling works the same in containers, on network file systems and with editors that replace
//! files by rename, and a few `stat` calls per poll cost nothing next to a reload.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::SpecArgs;
use crate::spec::Spec;

/// How often the files are looked at.
const POLL: Duration = Duration::from_millis(300);
/// How long the files must stay unchanged before a reload (editors write in several steps).
const SETTLE: Duration = Duration::from_millis(200);

/// What to load: the spec files, their fixtures and overlays, and the load options.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// `--spec`, in order.
    pub specs: Vec<PathBuf>,
    /// `--fixtures`, `--overlay`, `--no-fixtures`.
    pub spec_args: SpecArgs,
    /// `--base-path`.
    pub base_path: Option<String>,
    /// Repair every schema at load (the validation proxy checks answers against them).
    pub repair_all_schemas: bool,
}

impl LoadPlan {
    /// Load every spec; the first that fails stops the load, with its problems.
    pub fn load(&self) -> Result<Vec<Arc<Spec>>, String> {
        self.specs
            .iter()
            .map(|path| self.spec_args.load(path, self.base_path.clone(), self.repair_all_schemas).map(Arc::new).map_err(|e| e.to_string()))
            .collect()
    }

    /// A cheap fingerprint of the watched files: every path with its size and modification time.
    fn fingerprint(&self) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
        let mut paths: Vec<PathBuf> = self.specs.iter().chain(&self.spec_args.overlay).cloned().collect();
        for spec in &self.specs {
            if let Some(dir) = self.spec_args.fixtures_for(spec) {
                if let Ok(entries) = std::fs::read_dir(&dir) {
                    paths.extend(entries.filter_map(Result::ok).map(|e| e.path()));
                }
                paths.push(dir);
            }
        }
        paths.sort();
        paths
            .into_iter()
            .map(|p| {
                let meta = std::fs::metadata(&p).ok();
                let (len, modified) = (meta.as_ref().map_or(0, |m| m.len()), meta.and_then(|m| m.modified().ok()));
                (p, len, modified)
            })
            .collect()
    }
}

/// The polling thread; dropping it stops the polling (within one poll).
#[derive(Debug)]
pub struct Watcher {
    stop: Arc<AtomicBool>,
}

impl Watcher {
    /// Start polling `plan`'s files; every change that loads is swapped into `live`. The files
    /// are looked at before this returns, so an edit made once it has (once the server says it
    /// listens) is seen, however late the polling thread first runs.
    pub fn spawn(plan: LoadPlan, live: Arc<crate::app::LiveApp>) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let seen = plan.fingerprint();
        std::thread::spawn(move || poll(&plan, seen, &live, &flag));
        Watcher { stop }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Poll until `stop`, from the files as `seen`; reload and swap on a change.
fn poll(plan: &LoadPlan, seen: Vec<(PathBuf, u64, Option<SystemTime>)>, live: &crate::app::LiveApp, stop: &AtomicBool) {
    let mut last = seen;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(POLL);
        if plan.fingerprint() == last {
            continue;
        }
        std::thread::sleep(SETTLE);
        last = plan.fingerprint();
        match plan.load() {
            Ok(specs) => {
                let (app, _) = live.load().rebuild(specs);
                live.store(Arc::new(app));
                println!("standin: reloaded");
            }
            Err(e) => eprintln!("standin: the edit does not load, still serving the last good version\n{e}"),
        }
    }
}
