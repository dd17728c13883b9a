//! Where a spec's memory goes: live heap bytes after loading it, and the share of the two schema
//! views (`bench/startup.sh` prints this beside the resident size). Counts with a wrapping
//! global allocator, so the numbers are the program's own allocations, not the allocator's pages.
//!
//! Run: `cargo run --release --example loadheap -- SPEC`

// A measuring program: its results go to stdout.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        grew(l.size());
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if n > l.size() {
            grew(n - l.size());
        } else {
            LIVE.fetch_sub(l.size() - n, Relaxed);
        }
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn mib(n: usize) -> String {
    format!("{:.1} MiB", n as f64 / 1_048_576.0)
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: loadheap SPEC");
        std::process::exit(2);
    };
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let spec = match standin::spec::Spec::load(path.as_ref(), &Default::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let (live, peak) = (LIVE.load(Relaxed) - base, PEAK.load(Relaxed) - base);
    let (request, response) = (std::sync::Arc::clone(&spec.schemas.request), std::sync::Arc::clone(&spec.schemas.response));
    drop(spec);
    let views = LIVE.load(Relaxed) - base;
    drop(response);
    let request_view = LIVE.load(Relaxed) - base;
    drop(request);
    println!(
        "live heap {} (peak while loading {}): response view {}, request view {}, the rest {}",
        mib(live),
        mib(peak),
        mib(views - request_view),
        mib(request_view),
        mib(live - views)
    );
}
