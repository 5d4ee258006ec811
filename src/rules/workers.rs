//! The threads scripts run on, with stacks sized for the deepest a script may go.
//!
//! Rhai walks nested values (clone, drop, `to_string`, `==`) and nested calls by recursion on
//! the thread's stack. A stack too small for what the limits allow ends the whole process, so
//! every script call runs here, never on a thread of another size.

use crate::config::ScriptLimits;
use std::sync::Arc;

/// Stack one level of a nested value can take in Rhai's deepest walks (`to_string`, `==`):
/// measured at 8.3 KiB in debug builds and 1.9 KiB in release.
const STACK_PER_VALUE_LEVEL: usize = 12 * 1024;
/// Stack one script call level can take with the deepest expression the parser allows in
/// it: measured at 90 KiB in debug builds and 21 KiB in release.
const STACK_PER_CALL_LEVEL: usize = 128 * 1024;
/// The mapping around the call: the row's map, the result's conversion, error texts.
const STACK_BASE: usize = 4 << 20;

/// The stack a script thread needs under these limits. Each nesting level of a value counts
/// one entry against `max_array_size` or `max_map_size`, so together they bound the depth.
/// Only what a script really uses is ever touched: the rest stays address space.
pub fn stack_bytes(limits: &ScriptLimits) -> usize {
    STACK_BASE
        + (limits.max_array_size + limits.max_map_size) * STACK_PER_VALUE_LEVEL
        + limits.max_call_levels * STACK_PER_CALL_LEVEL
}

/// A pool of script threads, shared by every script of a run.
#[derive(Clone)]
pub struct Workers {
    pool: Arc<rayon::ThreadPool>,
}

impl Workers {
    /// `count` threads, 0 meaning one per core.
    pub fn new(limits: &ScriptLimits, count: usize) -> std::io::Result<Workers> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(count)
            .stack_size(stack_bytes(limits))
            .thread_name(|i| format!("moosync-script-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Workers {
            pool: Arc::new(pool),
        })
    }

    /// Runs `f` on one of the script threads (at once when already on one); parallel
    /// iterators inside `f` use these threads.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }
}
