//! Host functions for value cleaning. Scripts get these, never raw database access.

use crate::command::moodle_rules;
use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position};

/// The value `skip("why")` returns: the row is left alone, reported, and not a failure.
#[derive(Debug, Clone)]
pub struct Skip(pub String);

fn yes_no(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "y" | "yes" | "true" | "on" => Some(true),
        "0" | "n" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

fn is_blank(v: &Dynamic) -> bool {
    v.read_lock::<ImmutableString>()
        .is_some_and(|s| s.trim().is_empty())
        || v.is_unit()
}

pub fn register(engine: &mut Engine) {
    engine.register_type_with_name::<Skip>("Skip");
    engine.register_fn("skip", |why: ImmutableString| Skip(why.to_string()));
    engine.register_fn("clean_username", |s: &str| moodle_rules::clean_username(s));
    engine.register_fn("is_valid_email", |s: &str| moodle_rules::is_valid_email(s));
    engine.register_fn("normalise_lang", |s: &str| moodle_rules::normalise_lang(s));
    engine.register_fn("normalise_country", |s: &str| {
        moodle_rules::normalise_country(s)
            .map(Dynamic::from)
            .unwrap_or_else(|| Dynamic::from(s.trim().to_uppercase()))
    });
    // True only for an explicit yes (1, yes, true, y, on): anything else, blank included, is false.
    engine.register_fn("is_true", |s: &str| yes_no(s) == Some(true));
    // A yes/no cell as a boolean; () for an empty cell; a row error for anything else.
    engine.register_fn("flag", |s: &str| -> Result<Dynamic, Box<EvalAltResult>> {
        if s.trim().is_empty() {
            return Ok(Dynamic::UNIT);
        }
        match yes_no(s) {
            Some(b) => Ok(Dynamic::from(b)),
            None => Err(Box::new(EvalAltResult::ErrorRuntime(
                format!("'{s}' is not a yes/no value (use 1/0, yes/no or true/false)").into(),
                Position::NONE,
            ))),
        }
    });
    // The non-empty cells of the named columns that the row has, as a new map. Done in Rust
    // because it runs for every row and would cost dozens of script operations.
    engine.register_fn("take", |row: &mut Map, columns: Array| {
        let mut out = Map::new();
        for c in columns {
            if let Some(name) = c.read_lock::<ImmutableString>() {
                if let Some(v) = row.get(name.as_str()) {
                    if !is_blank(v) {
                        out.insert(name.as_str().into(), v.clone());
                    }
                }
            }
        }
        out
    });
    // The non-empty cells whose column starts with `prefix`, keyed by the rest of the name
    // (`profile_field_team` → `team`).
    engine.register_fn("with_prefix", |row: &mut Map, prefix: &str| {
        let mut out = Map::new();
        for (k, v) in row.iter() {
            if let Some(rest) = k.strip_prefix(prefix) {
                if !rest.is_empty() && !is_blank(v) {
                    out.insert(rest.into(), v.clone());
                }
            }
        }
        out
    });
    // A date column as a Unix timestamp; () when the row has no such column or it is empty; a
    // row error that lists the accepted forms for anything else.
    engine.register_fn(
        "date_of",
        |row: &mut Map, column: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            let Some(v) = row.get(column).filter(|v| !is_blank(v)) else {
                return Ok(Dynamic::UNIT);
            };
            let text = v.to_string();
            super::dates::parse_date(&text)
                .map(Dynamic::from)
                .map_err(|e| {
                    Box::new(EvalAltResult::ErrorRuntime(
                        format!("{column}: {e}").into(),
                        Position::NONE,
                    ))
                })
        },
    );
    // The row's `<prefix>N<suffix>` columns' numbers N, sorted (`topic` → 0, 1, 5 for
    // topic0, topic1, topic5).
    engine.register_fn("numbered", |row: &mut Map, prefix: &str, suffix: &str| {
        let mut ns: Vec<i64> = row
            .keys()
            .filter_map(|k| k.strip_prefix(prefix)?.strip_suffix(suffix)?.parse().ok())
            .collect();
        ns.sort_unstable();
        ns.dedup();
        ns.into_iter().map(Dynamic::from).collect::<Array>()
    });
    // A whole number cell; () for an empty cell; a row error for anything else.
    engine.register_fn(
        "int_or_empty",
        |s: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            let t = s.trim();
            if t.is_empty() {
                return Ok(Dynamic::UNIT);
            }
            t.parse::<i64>().map(Dynamic::from).map_err(|_| {
                Box::new(EvalAltResult::ErrorRuntime(
                    format!("'{s}' is not a whole number").into(),
                    Position::NONE,
                ))
            })
        },
    );
}

#[cfg(test)]
mod tests {
    use super::yes_no;

    #[test]
    fn yes_no_values() {
        assert_eq!(yes_no(" YES "), Some(true));
        assert_eq!(yes_no("0"), Some(false));
        assert_eq!(yes_no(""), None);
        assert_eq!(yes_no("2"), None);
    }
}
