//! Arbitrary bytes, split at arbitrary points, into `SseParser`: no panic; the same events (and the
//! same pending state) however the input is split; and with a small event limit, memory held by the
//! parser stays bounded (`EventTooLong` instead of growth), measured by a counting allocator.
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use libfuzzer_sys::fuzz_target;
use switchyard::wire::sse::{SseEvent, SseParser};
use switchyard_fuzz::{chunks, seed};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Relaxed);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn parse(parts: &[&[u8]]) -> (Vec<SseEvent>, bool) {
    let mut p = SseParser::new(usize::MAX / 2);
    let mut events = Vec::new();
    for c in parts {
        assert!(p.push(c, |e| events.push(e)).is_ok(), "no limit to exceed");
    }
    (events, p.has_pending())
}

fuzz_target!(|data: &[u8]| {
    let s = seed(data);
    let whole = parse(&[data]);
    let at = s as usize % (data.len() + 1);
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    for (how, parts) in [
        ("byte by byte", bytes),
        ("in two", vec![&data[..at], &data[at..]]),
        ("in random chunks", chunks(data, s, 64)),
    ] {
        assert!(parse(&parts) == whole, "split {how} gives other events than the whole input");
    }

    // Bounded: a small limit, random chunks; what the parser holds after each accepted chunk is
    // within a constant factor of limit + chunk (lossy UTF-8 may triple bytes, Vec growth doubles).
    let limit = 1 + (s >> 32) as usize % 256;
    let parts = chunks(data, s.rotate_left(17), 64);
    let mut p = SseParser::new(limit);
    let base = LIVE.load(Relaxed);
    let mut n = 0;
    for c in parts {
        let r = p.push(c, |e| {
            assert!(whole.0.get(n) == Some(&e), "event {n} differs from the unlimited parse");
            n += 1;
        });
        if r.is_err() {
            return; // the stream is declared broken; nothing more is pushed
        }
        let held = LIVE.load(Relaxed) - base;
        assert!(
            held <= 12 * (limit + 64) as isize + 512,
            "parser holds {held} bytes with a {limit}-byte limit"
        );
    }
    assert_eq!(n, whole.0.len(), "an unbroken limited parse delivers every event");
});
