//! Heap accounting per thread, so a script's row can be stopped when it holds too much.
//!
//! Rhai's own limits bound each value (string bytes, array and map entries) but not how many
//! values a script keeps alive, nor the length of map keys: a row could still take gigabytes.
//! The process's allocator counts, per thread, the bytes allocated minus the bytes freed; a
//! script call compares that count with the one it started from.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    // Const-initialised and without a destructor: safe to touch from inside the allocator.
    static NET: Cell<isize> = const { Cell::new(0) };
}

fn add(bytes: isize) {
    // `try_with`: a thread being torn down may still free memory.
    let _ = NET.try_with(|n| n.set(n.get().wrapping_add(bytes)));
}

/// The system allocator, counting.
pub struct CountingAllocator;

// SAFETY: every call is forwarded unchanged to `System`; the counter is a plain thread-local.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Bytes this thread allocated and did not free since it started (negative when it freed
/// what other threads allocated). Only differences between two readings mean anything.
pub fn thread_net() -> isize {
    NET.try_with(Cell::get).unwrap_or(0)
}

thread_local! {
    // The count past which this thread's budgeted work is over its budget.
    static CEILING: Cell<isize> = const { Cell::new(isize::MAX) };
}

/// Runs `f` with a budget of `bytes` more than the thread holds now; `over_budget` tells,
/// from inside `f`, whether it went past it.
pub fn with_budget<R>(bytes: usize, f: impl FnOnce() -> R) -> R {
    let ceiling = thread_net().saturating_add(bytes as isize);
    let outer = CEILING.with(|c| c.replace(ceiling));
    let r = f();
    CEILING.with(|c| c.set(outer));
    r
}

/// Whether the work `with_budget` runs on this thread holds more than its budget.
pub fn over_budget() -> bool {
    thread_net() > CEILING.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::thread_net;

    #[test]
    fn counts_what_the_thread_holds() {
        let start = thread_net();
        let v: Vec<u8> = Vec::with_capacity(1 << 20);
        assert!(thread_net() - start >= 1 << 20);
        drop(v);
        assert!(thread_net() - start < 1024);
    }

    #[test]
    fn a_budget_is_crossed_by_what_is_held_not_by_what_was_freed() {
        super::with_budget(1 << 20, || {
            let small = vec![0u8; 1 << 19];
            assert!(!super::over_budget());
            drop(small);
            let big = vec![0u8; 2 << 20];
            assert!(super::over_budget());
            drop(big);
            assert!(!super::over_budget());
        });
        assert!(!super::over_budget());
    }
}
