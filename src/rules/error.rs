//! Turns Rhai errors into coded failures that name the script position.

use crate::codes::{Code, Failure};
use crate::config::ScriptLimits;
use rhai::{EvalAltResult, Position};
use std::fmt::{self, Write};

/// The token a script call is stopped with when its row holds more memory than its budget.
pub(super) const MEMORY_STOP: &str = "moosync: memory budget";

/// The longest text a failure quotes from a thrown value: enough for any message a script
/// means to give, bounded so a thrown giant cannot grow the report.
const MAX_QUOTED: usize = 4096;

fn location(script: &str, pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{script}:{l}:{c}"),
        (Some(l), None) => format!("{script}:{l}"),
        _ => script.to_string(),
    }
}

/// `users.rhai:12:5: message`, with the code telling a throw, a limit and a bug apart.
pub fn script_failure(
    script: &str,
    func: &str,
    err: &EvalAltResult,
    limits: &ScriptLimits,
) -> Failure {
    let inner = err.unwrap_inner();
    // The innermost error may lack a position (a host function's error): use the call site.
    let pos = if inner.position().is_none() {
        err.position()
    } else {
        inner.position()
    };
    let at = location(script, pos);
    match inner {
        EvalAltResult::ErrorRuntime(value, _) => Failure::new(Code::ScriptThrow, format!("{at}: {}", quoted(value))),
        // Rhai stops a runaway script without a position: say which call it was.
        EvalAltResult::ErrorTooManyOperations(_) => Failure::new(
            Code::ScriptBudget,
            format!("{at} (in {func}()): the script used more than {} operations on this row (an endless loop?); fix the script, or raise [limits] max_operations if the work is real", limits.max_operations),
        ),
        EvalAltResult::ErrorTerminated(token, _) if token.to_string() == MEMORY_STOP => Failure::new(
            Code::ScriptTooLarge,
            format!("{at} (in {func}()): the script held more than {} MiB of memory on this row; fix the script, or raise [limits] max_memory_mb if the work is real", limits.max_memory_mb),
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => Failure::new(
            Code::ScriptTooLarge,
            format!("{at}: {what} grew over its limit; see [limits] in moosync.toml"),
        ),
        EvalAltResult::ErrorStackOverflow(_) => Failure::new(
            Code::ScriptRuntime,
            format!("{at}: calls nested deeper than [limits] max_call_levels (runaway recursion?)"),
        ),
        other => Failure::new(Code::ScriptRuntime, format!("{at}: {}", without_position(other))),
    }
}

/// A value's text, cut at `MAX_QUOTED` bytes without ever building the whole of it.
fn quoted(value: &impl fmt::Display) -> String {
    struct Capped(String);
    impl Write for Capped {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let room = MAX_QUOTED - self.0.len();
            if s.len() <= room {
                self.0.push_str(s);
                return Ok(());
            }
            let cut = (0..=room)
                .rev()
                .find(|&i| s.is_char_boundary(i))
                .unwrap_or(0);
            self.0.push_str(&s[..cut]);
            // Stops the formatting: the rest would be thrown away anyway.
            Err(fmt::Error)
        }
    }
    let mut out = Capped(String::new());
    if write!(out, "{value}").is_err() {
        out.0.push_str("… (cut)");
    }
    out.0
}

/// Rhai's Display ends with " (line L, position C)"; the location is already in front.
fn without_position(e: &EvalAltResult) -> String {
    let s = e.to_string();
    match s.rfind(" (line ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}
