//! Turns Rhai errors into coded failures that name the script position.

use crate::codes::{Code, Failure};
use rhai::{EvalAltResult, Position};

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
    max_operations: u64,
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
        EvalAltResult::ErrorRuntime(value, _) => Failure::new(Code::ScriptThrow, format!("{at}: {value}")),
        // Rhai stops a runaway script without a position: say which call it was.
        EvalAltResult::ErrorTooManyOperations(_) => Failure::new(
            Code::ScriptBudget,
            format!("{at} (in {func}()): the script used more than {max_operations} operations on this row (an endless loop?); fix the script, or raise [limits] max_operations if the work is real"),
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

/// Rhai's Display ends with " (line L, position C)"; the location is already in front.
fn without_position(e: &EvalAltResult) -> String {
    let s = e.to_string();
    match s.rfind(" (line ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}
