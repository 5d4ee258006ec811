//! Moodle rolls a whole create or enrol call back when one item is bad, and with debugging
//! off it does not say which. The call is split in halves until each refusal is pinned on one
//! item; the good halves are applied as they go.

use super::client::{CallError, MoodleError};
use crate::codes::Failure;
use serde_json::Value;
use std::ops::Range;

/// What became of a run of items sent together.
#[derive(Debug)]
pub struct Piece {
    pub items: Range<usize>,
    pub answer: Result<Value, MoodleError>,
}

/// Sends `0..n` through `send` (which sends the items of a range in one call), splitting
/// refused ranges. A refused range of one item is that item's failure. An error that stops
/// the file (token, maintenance, unreachable) ends it all.
pub fn send_split(
    n: usize,
    send: &dyn Fn(Range<usize>) -> Result<Value, CallError>,
) -> Result<Vec<Piece>, Failure> {
    let mut out = Vec::new();
    let mut todo: Vec<Range<usize>> = Vec::new();
    todo.push(0..n);
    while let Some(r) = todo.pop() {
        if r.is_empty() {
            continue;
        }
        match send(r.clone()) {
            Ok(v) => out.push(Piece {
                items: r,
                answer: Ok(v),
            }),
            Err(e) => {
                if let Some(stop) = e.stops_the_file() {
                    return Err(stop);
                }
                let CallError::Moodle(m) = e else {
                    unreachable!("only Moodle's own refusals leave the file running")
                };
                if r.len() == 1 {
                    out.push(Piece {
                        items: r,
                        answer: Err(m),
                    });
                } else {
                    let mid = r.start + r.len() / 2;
                    // Popped last first: the lower half goes first, keeping the file's order.
                    todo.push(mid..r.end);
                    todo.push(r.start..mid);
                }
            }
        }
    }
    out.sort_by_key(|p| p.items.start);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn refusal() -> CallError {
        CallError::Moodle(MoodleError {
            exception: "invalid_parameter_exception".into(),
            errorcode: "invalidparameter".into(),
            message: "Invalid parameter value detected".into(),
            debuginfo: None,
        })
    }

    fn run(n: usize, bad: &[usize]) -> (Vec<Piece>, usize) {
        let calls = Mutex::new(0);
        let pieces = send_split(n, &|r: Range<usize>| {
            *calls.lock().unwrap() += 1;
            if bad.iter().any(|b| r.contains(b)) {
                Err(refusal())
            } else {
                Ok(Value::from(r.len()))
            }
        })
        .unwrap();
        let c = *calls.lock().unwrap();
        (pieces, c)
    }

    #[test]
    fn one_bad_item_among_a_hundred_is_isolated() {
        let (pieces, calls) = run(100, &[37]);
        let failed: Vec<usize> = pieces
            .iter()
            .filter(|p| p.answer.is_err())
            .map(|p| p.items.start)
            .collect();
        assert_eq!(failed, [37]);
        let applied: usize = pieces
            .iter()
            .filter(|p| p.answer.is_ok())
            .map(|p| p.items.len())
            .sum();
        assert_eq!(applied, 99);
        // About two calls per level of halving: 1 + 2 * log2(100).
        assert!(calls <= 15, "{calls} calls");
    }

    #[test]
    fn two_bad_items_are_both_isolated_and_the_rest_applied() {
        let (pieces, _) = run(100, &[3, 90]);
        let failed: Vec<usize> = pieces
            .iter()
            .filter(|p| p.answer.is_err())
            .map(|p| p.items.start)
            .collect();
        assert_eq!(failed, [3, 90]);
        let covered: usize = pieces.iter().map(|p| p.items.len()).sum();
        assert_eq!(covered, 100);
    }
}
