//! Where a setting's value is in a TOML text, so that a message about a value the parser
//! accepted (a range, a form, a rule of Moodle's) names its line and column as the parser's
//! own errors do.

use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// A TOML text and its parse with every value's span.
pub struct TomlPlaces<'a> {
    text: &'a str,
    doc: Option<Spanned<DeTable<'a>>>,
}

impl<'a> TomlPlaces<'a> {
    pub fn parse(text: &'a str) -> TomlPlaces<'a> {
        TomlPlaces {
            text,
            doc: DeTable::parse(text).ok(),
        }
    }

    /// "line L, column C: " where the value of `key` is, `key` written as messages name it:
    /// `[users] default_lang`, `[target.roles] student`, `[mail] to[1]` (an array's entry),
    /// `[mail]` (the table). A key the text does not set is placed at its table; "" when the
    /// text has neither.
    pub fn at(&self, key: &str) -> String {
        self.place(self.span_of(key))
    }

    /// "line L, column C: " of the value at `path` (tables, then a key), for a key that
    /// cannot be written as `at` reads one (a quoted key with spaces or dots).
    pub fn at_path(&self, path: &[&str], index: Option<usize>) -> String {
        self.place(self.span(path, index))
    }

    /// The key whose value holds the byte `offset`, written as `at` reads keys
    /// (`[users] allow_rename`, `[mail] to[1]`), for an error the deserializer placed there.
    pub fn key_at(&self, offset: usize) -> Option<String> {
        key_in(self.doc.as_ref()?.get_ref(), offset, &mut Vec::new())
    }

    fn place(&self, span: Option<Range<usize>>) -> String {
        match span {
            Some(span) => {
                let (line, column) = line_col(self.text, span.start);
                format!("line {line}, column {column}: ")
            }
            None => String::new(),
        }
    }

    fn span_of(&self, key: &str) -> Option<Range<usize>> {
        let (tables, rest) = key.strip_prefix('[')?.split_once(']')?;
        let mut path: Vec<&str> = tables.split('.').map(str::trim).collect();
        // The key runs to the first space or bracket: "[target] token_env / token_file".
        let rest = rest.trim_start();
        let end = rest.find([' ', '[']).unwrap_or(rest.len());
        let index = rest[end..]
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .and_then(|(i, _)| i.parse().ok());
        if end > 0 {
            path.push(&rest[..end]);
        }
        self.span(&path, index)
    }

    /// The span of the value at `path` (its `index`th entry for an array), else of the
    /// deepest table along the path that the text has.
    pub fn span(&self, path: &[&str], index: Option<usize>) -> Option<Range<usize>> {
        let doc = self.doc.as_ref()?;
        let mut table = doc.get_ref();
        let mut found = None;
        for (i, name) in path.iter().enumerate() {
            let Some(value) = table.get(*name) else {
                return found;
            };
            found = Some(value.span());
            match value.get_ref() {
                DeValue::Table(t) => table = t,
                DeValue::Array(items) if i + 1 == path.len() => {
                    if let Some(item) = index.and_then(|n| items.get(n)) {
                        found = Some(item.span());
                    }
                }
                _ => break,
            }
        }
        found
    }
}

/// A table's span is its header only: its keys are searched, not its span.
fn key_in<'t>(table: &'t DeTable, offset: usize, tables: &mut Vec<&'t str>) -> Option<String> {
    for (name, value) in table {
        match value.get_ref() {
            DeValue::Table(t) => {
                tables.push(name.get_ref());
                if let Some(found) = key_in(t, offset, tables) {
                    return Some(found);
                }
                tables.pop();
            }
            _ if value.span().contains(&offset) => {
                let index = match value.get_ref() {
                    DeValue::Array(items) => items
                        .iter()
                        .position(|i| i.span().contains(&offset))
                        .map(|i| format!("[{i}]")),
                    _ => None,
                };
                let key = name.get_ref();
                let index = index.unwrap_or_default();
                return Some(format!("[{}] {key}{index}", tables.join(".")));
            }
            _ => {}
        }
    }
    None
}

/// The 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[users]\ndefault_lang = \"english\"\n\n[target.roles]\nstudent = 0\n\n[mail]\nto = [\"a@example.org\", \"b\"]\n# é\n[courses]\nteacher_role = \"x\"  \n";

    #[test]
    fn values_are_placed_at_their_line_and_column() {
        let p = TomlPlaces::parse(TEXT);
        assert_eq!(p.at("[users] default_lang"), "line 2, column 16: ");
        assert_eq!(p.at("[target.roles] student"), "line 5, column 11: ");
        assert_eq!(p.at("[mail] to[1]"), "line 8, column 24: ");
        assert_eq!(p.at("[mail] to"), "line 8, column 6: ");
        assert_eq!(p.at("[courses] teacher_role"), "line 11, column 16: ");
        assert_eq!(
            p.at("[target] token_env / token_file"),
            "line 4, column 2: "
        );
    }

    #[test]
    fn a_key_not_set_is_placed_at_its_table_or_nowhere() {
        let p = TomlPlaces::parse(TEXT);
        assert_eq!(p.at("[users] default_auth"), "line 1, column 1: ");
        assert_eq!(p.at("[feed] stale_lock_minutes"), "");
        assert_eq!(p.at("not a key"), "");
        assert_eq!(TomlPlaces::parse("").at("[users] x"), "");
    }

    #[test]
    fn the_key_of_a_place_is_found() {
        let p = TomlPlaces::parse(TEXT);
        assert_eq!(p.key_at(25).as_deref(), Some("[users] default_lang"));
        let to = TEXT.find("\"b\"").unwrap();
        assert_eq!(p.key_at(to).as_deref(), Some("[mail] to[1]"));
        assert_eq!(p.key_at(0), None);
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_col("é = 1\nab", 8), (2, 2));
        assert_eq!(line_col("é = 1", 5), (1, 5));
    }
}
