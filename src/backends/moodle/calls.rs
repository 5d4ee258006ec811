//! What the tools share to send their rows: the check that the token's service has a
//! function, one error for what stops the file, and rows sent by function in calls of
//! `batch_size`, several at once, each split where Moodle refuses it.

use super::client::{CallError, Client, Retry};
use super::form::Params;
use super::ledger::Ledger;
use super::pool;
use super::split::{send_split, Piece};
use crate::codes::{Code, Failure};
use std::collections::{BTreeMap, HashSet};

/// What every tool's rows are sent with: the site, the settings, and what the run knows.
pub struct Ctx<'a> {
    pub client: &'a Client,
    pub cfg: &'a crate::config::Config,
    /// The functions the token's service offers.
    pub functions: &'a HashSet<String>,
    /// What moosync did on the site that Moodle does not show.
    pub ledger: &'a Ledger,
}

/// One planned operation to send, with its row: what every sender takes.
pub struct Item<'a> {
    pub row: usize,
    pub op: &'a crate::plan::Op,
}

/// Form fields per call, under PHP's max_input_vars as Moodle requires it set.
pub const MAX_FIELDS: usize = 4000;

/// Fails the file when the token's service lacks `function`, naming it.
pub fn require(functions: &HashSet<String>, function: &str) -> Result<(), Failure> {
    if functions.contains(function) {
        return Ok(());
    }
    Err(Failure::new(
        Code::RemoteAccess,
        format!("the token's web service lacks {function}, which this file needs; add it to the service in Moodle (Site administration > Server > Web services > External services)"),
    ))
}

/// The failure for an error of a read the rows depend on: the file stops, or (a refusal)
/// the file stops with Moodle's words.
pub fn stop_or(e: CallError, what: &str) -> Failure {
    e.stops_the_file().unwrap_or_else(|| match e {
        CallError::Moodle(m) => Failure::new(
            Code::RemoteRejected,
            format!("Moodle refused {what}: {}", m.describe()),
        ),
        _ => unreachable!("transport faults stop the file"),
    })
}

/// How a tool's kind of call is sent.
pub trait CallKind: Copy + Ord + Send + Sync {
    fn function(self) -> &'static str;
    /// The list parameter its items go in (`users`, `enrolments`, `members`…).
    fn list(self) -> &'static str;
    /// Whether a call may be sent again after a lost answer: creates are not.
    fn retry(self) -> Retry {
        Retry::Safe
    }
    /// Whether it is one of moosync's plugin's functions, which answer the items done and
    /// warn about each item that failed by its index, instead of failing the whole call.
    fn indexed(self) -> bool {
        self.function().starts_with(super::PLUGIN_PREFIX)
    }
}

/// The warning a plugin's answer gives the item at `index`, as "code: message".
fn warning_for(answer: &serde_json::Value, index: usize) -> Option<String> {
    use serde_json::Value;
    let w = answer
        .get("warnings")
        .and_then(Value::as_array)?
        .iter()
        .find(|w| w.get("index").and_then(Value::as_u64) == Some(index as u64))?;
    Some(format!(
        "{}: {}",
        w.get("warningcode").and_then(Value::as_str).unwrap_or(""),
        w.get("message").and_then(Value::as_str).unwrap_or("")
    ))
}

/// The record a plugin's answer gives the item done at `index`, in the answer's list.
fn done_item(answer: &serde_json::Value, index: usize) -> Option<serde_json::Value> {
    use serde_json::Value;
    answer
        .as_object()?
        .iter()
        .filter(|(k, _)| *k != "warnings")
        .filter_map(|(_, l)| l.as_array())
        .flatten()
        .find(|x| x.get("index").and_then(Value::as_u64) == Some(index as u64))
        .cloned()
}

/// One call as sent: its kind, the rows of its items in order, and what became of each piece.
pub type Sent<K> = (K, Vec<usize>, Vec<Piece>);

/// Sends `rows` (row index, kind, item) grouped by kind, `batch` per call, `parallel` at
/// once. Returns, per call sent, its kind, its rows, and what became of each piece.
pub fn send<K: CallKind>(
    client: &Client,
    functions: &HashSet<String>,
    batch: usize,
    parallel: usize,
    rows: Vec<(usize, K, &Params)>,
) -> Result<Vec<Sent<K>>, Failure> {
    let mut by_kind: BTreeMap<K, Vec<(usize, &Params)>> = BTreeMap::new();
    for (i, k, item) in rows {
        by_kind.entry(k).or_default().push((i, item));
    }
    let mut jobs = Vec::new();
    for (k, items) in by_kind {
        require(functions, k.function())?;
        // PHP drops form fields past max_input_vars (Moodle asks for at least 5,000) without
        // a word: a call stays under 4,000 fields whatever batch_size.
        let mut chunk = Vec::new();
        let mut fields = 0;
        for (i, item) in items {
            let n = item.len().max(1);
            if !chunk.is_empty() && (chunk.len() >= batch.max(1) || fields + n > MAX_FIELDS) {
                jobs.push((k, std::mem::take(&mut chunk)));
                fields = 0;
            }
            chunk.push((i, item));
            fields += n;
        }
        if !chunk.is_empty() {
            jobs.push((k, chunk));
        }
    }
    let results = pool::map(&jobs, parallel, |(k, items)| {
        let call = |r: std::ops::Range<usize>| {
            let mut p = Params::new();
            for (n, (_, item)) in items[r].iter().enumerate() {
                p.item(k.list(), n, item);
            }
            client.call(k.function(), &p, k.retry())
        };
        send_split(items.len(), &call)
    });
    let mut out = Vec::with_capacity(jobs.len());
    for ((k, items), pieces) in jobs.into_iter().zip(results) {
        out.push((k, items.into_iter().map(|(i, _)| i).collect(), pieces?));
    }
    Ok(out)
}

/// What Moodle answered for one item: its element of the call's answer (a create's new
/// record; for a plugin's function, the record of the item done), or the call's refusal.
pub type Answer = Result<Option<serde_json::Value>, String>;

/// Sends `items` as `send` does and gives each its answer, in the order the items were
/// given.
pub fn send_each<'a, K: CallKind>(
    ctx: &Ctx,
    items: impl Iterator<Item = (K, &'a Params)>,
) -> Result<Vec<Answer>, Failure> {
    let t = &ctx.cfg.target;
    // Items go by their position, so each answer finds its item.
    let items: Vec<(usize, K, &Params)> = items.enumerate().map(|(n, (k, p))| (n, k, p)).collect();
    let mut answers: Vec<Answer> = vec![Ok(None); items.len()];
    for (kind, these, pieces) in send(ctx.client, ctx.functions, t.batch_size, t.parallel, items)? {
        for piece in pieces {
            for (k, &n) in these[piece.items.clone()].iter().enumerate() {
                answers[n] = match &piece.answer {
                    Ok(v) if kind.indexed() => match warning_for(v, k) {
                        Some(w) => Err(w),
                        None => Ok(done_item(v, k)),
                    },
                    Ok(v) => Ok(v.get(k).cloned()),
                    Err(m) => Err(m.describe()),
                };
            }
        }
    }
    Ok(answers)
}
