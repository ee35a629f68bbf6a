//! A schema walker over a span-preserving TOML document.
//!
//! Each `TableReader` remembers which keys the schema asked for; `finish` then reports any key
//! the schema does not know, with its position and the list of keys that are allowed. Every
//! getter reports a wrong type or a missing key with the exact position and key path.

use std::ops::Range;

use toml_edit::{Item, TableLike};

use super::error::{ScenarioError, Source};
use crate::time::{parse_duration, Micros};

pub type Result<T> = std::result::Result<T, ScenarioError>;

/// A value with the byte span it came from, for locating later (semantic) errors.
pub type WithSpan<T> = (T, Option<Range<usize>>);

pub struct TableReader<'a> {
    pub src: &'a Source,
    path: String,
    table: &'a dyn TableLike,
    span: Option<Range<usize>>,
    known: Vec<&'static str>,
}

/// What a TOML item is, in the words a user would use.
fn describe(item: &Item) -> String {
    match item {
        Item::Value(v) => match v {
            toml_edit::Value::String(s) => format!("the string {:?}", s.value()),
            toml_edit::Value::Integer(i) => format!("the integer {}", i.value()),
            toml_edit::Value::Float(f) => format!("the number {}", f.value()),
            toml_edit::Value::Boolean(b) => format!("the boolean {}", b.value()),
            toml_edit::Value::Datetime(_) => "a date-time".to_string(),
            toml_edit::Value::Array(_) => "an array".to_string(),
            toml_edit::Value::InlineTable(_) => "a table".to_string(),
        },
        Item::Table(_) => "a table".to_string(),
        Item::ArrayOfTables(_) => "an array of tables".to_string(),
        Item::None => "nothing".to_string(),
    }
}

/// Close enough to be a misspelling: at most two edits, and fewer than a third of the name.
fn close(a: &str, b: &str) -> bool {
    let d = edit_distance(a, b);
    d > 0 && d <= 2 && d * 3 <= b.chars().count()
}

/// Levenshtein distance, with a swap of two neighbours counting as one edit (`tff`/`ttf`
/// is one slip of the fingers).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

impl<'a> TableReader<'a> {
    pub fn new(
        src: &'a Source,
        path: impl Into<String>,
        table: &'a dyn TableLike,
        span: Option<Range<usize>>,
    ) -> TableReader<'a> {
        TableReader {
            src,
            path: path.into(),
            table,
            span,
            known: Vec::new(),
        }
    }

    /// Renames the path used in messages (e.g. `cluster[0]` becomes `cluster.cluster1` once the
    /// name is known).
    pub fn set_path(&mut self, path: String) {
        self.path = path;
    }

    pub fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub fn span(&self) -> Option<Range<usize>> {
        self.span.clone()
    }

    /// The item under `key` (marking the key as known) with the best span for it.
    pub fn item(&mut self, key: &'static str) -> Option<(&'a Item, Option<Range<usize>>)> {
        if !self.known.contains(&key) {
            self.known.push(key);
        }
        let (k, item) = self.table.get_key_value(key)?;
        let span = item.span().or_else(|| k.span());
        Some((item, span))
    }

    pub fn error(
        &self,
        span: Option<Range<usize>>,
        key: &str,
        message: impl Into<String>,
    ) -> ScenarioError {
        self.src.error(span, &self.key_path(key), message)
    }

    fn missing(&self, key: &str, expected: &str) -> ScenarioError {
        // A required key is most often "missing" because it is misspelt: point at the key
        // that looks like it, where it is.
        let misspelt = self
            .table
            .iter()
            .map(|(k, _)| k)
            .filter(|k| !self.known.contains(k))
            .filter(|k| close(k, key))
            .min_by_key(|k| edit_distance(k, key));
        if let Some(found) = misspelt {
            let span = self.table.get_key_value(found).and_then(|(k, _)| k.span());
            return self.error(
                span.or_else(|| self.span.clone()),
                key,
                format!(
                    "missing required key `{key}` (expected {expected}); found `{found}`: \
                     did you mean `{key}`?"
                ),
            );
        }
        self.error(
            self.span.clone(),
            key,
            format!("missing required key `{key}` (expected {expected})"),
        )
    }

    fn wrong_type(
        &self,
        key: &str,
        item: &Item,
        span: Option<Range<usize>>,
        expected: &str,
    ) -> ScenarioError {
        self.error(
            span,
            key,
            format!("expected {expected}, found {}", describe(item)),
        )
    }

    /// Requires a value: turns `Ok(None)` from an optional getter into a "missing key" error.
    pub fn required<T>(
        &mut self,
        key: &'static str,
        expected: &str,
        get: impl FnOnce(&mut Self, &'static str) -> Result<Option<T>>,
    ) -> Result<T> {
        get(self, key)?.ok_or_else(|| self.missing(key, expected))
    }

    pub fn string(&mut self, key: &'static str) -> Result<Option<WithSpan<String>>> {
        match self.item(key) {
            None => Ok(None),
            Some((item, span)) => match item.as_str() {
                Some(s) => Ok(Some((s.to_string(), span))),
                None => Err(self.wrong_type(key, item, span, "a string")),
            },
        }
    }

    /// A string naming one of a fixed set of values: `parse` reads it, `names` lists them for
    /// the error.
    pub fn one_of<T>(
        &mut self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
        names: &str,
    ) -> Result<Option<T>> {
        let Some((name, span)) = self.string(key)? else {
            return Ok(None);
        };
        parse(&name)
            .map(Some)
            .ok_or_else(|| self.error(span, key, format!("expected one of {names}")))
    }

    /// A non-empty name (of a cluster, server, service...).
    pub fn name(&mut self, key: &'static str) -> Result<Option<WithSpan<String>>> {
        match self.string(key)? {
            Some((s, span)) if s.trim().is_empty() => {
                Err(self.error(span, key, "expected a non-empty name"))
            }
            other => Ok(other),
        }
    }

    pub fn boolean(&mut self, key: &'static str) -> Result<Option<bool>> {
        match self.item(key) {
            None => Ok(None),
            Some((item, span)) => item
                .as_bool()
                .map(Some)
                .ok_or_else(|| self.wrong_type(key, item, span, "true or false")),
        }
    }

    /// A whole number in `min..=max`.
    pub fn integer(&mut self, key: &'static str, min: i64, max: i64) -> Result<Option<i64>> {
        match self.item(key) {
            None => Ok(None),
            Some((item, span)) => {
                let expected = format!("a whole number from {min} to {max}");
                let value = item
                    .as_integer()
                    .ok_or_else(|| self.wrong_type(key, item, span.clone(), &expected))?;
                if value < min || value > max {
                    return Err(self.error(
                        span,
                        key,
                        format!("expected {expected}, found {value}"),
                    ));
                }
                Ok(Some(value))
            }
        }
    }

    /// A finite number greater than zero (integers are accepted).
    pub fn positive_number(&mut self, key: &'static str) -> Result<Option<WithSpan<f64>>> {
        self.number_where(key, |v| v > 0.0, "a number greater than zero")
    }

    /// A finite number that `accept` allows (integers are accepted); otherwise an error that
    /// says `expected`.
    pub fn number_where(
        &mut self,
        key: &'static str,
        accept: impl Fn(f64) -> bool,
        expected: &str,
    ) -> Result<Option<WithSpan<f64>>> {
        match self.item(key) {
            None => Ok(None),
            Some((item, span)) => {
                let value = item
                    .as_float()
                    .or_else(|| item.as_integer().map(|i| i as f64))
                    .ok_or_else(|| self.wrong_type(key, item, span.clone(), "a number"))?;
                if !(value.is_finite() && accept(value)) {
                    return Err(self.error(
                        span,
                        key,
                        format!("expected {expected}, found {value}"),
                    ));
                }
                Ok(Some((value, span)))
            }
        }
    }

    /// A plain duration string such as `"90s"`.
    pub fn duration(&mut self, key: &'static str) -> Result<Option<WithSpan<Micros>>> {
        match self.string(key)? {
            None => Ok(None),
            Some((text, span)) => parse_duration(&text)
                .map(|d| Some((d, span.clone())))
                .map_err(|e| self.error(span, key, e.to_string())),
        }
    }

    /// A non-empty array of distinct non-empty strings.
    pub fn name_list(&mut self, key: &'static str) -> Result<Option<Vec<WithSpan<String>>>> {
        let Some((item, span)) = self.item(key) else {
            return Ok(None);
        };
        let array = item
            .as_array()
            .ok_or_else(|| self.wrong_type(key, item, span.clone(), "an array of names"))?;
        if array.is_empty() {
            return Err(self.error(span, key, "expected at least one name, found an empty list"));
        }
        let mut names: Vec<WithSpan<String>> = Vec::new();
        for value in array.iter() {
            let vspan = value.span();
            let name = value.as_str().ok_or_else(|| {
                self.error(
                    vspan.clone(),
                    key,
                    format!(
                        "expected a name (string), found {}",
                        describe(&Item::Value(value.clone()))
                    ),
                )
            })?;
            if name.trim().is_empty() {
                return Err(self.error(vspan, key, "expected a non-empty name"));
            }
            if names.iter().any(|(n, _)| n == name) {
                return Err(self.error(vspan, key, format!("duplicate name {name:?} in the list")));
            }
            names.push((name.to_string(), vspan));
        }
        Ok(Some(names))
    }

    /// A sub-table, written inline (`k = { ... }`) or as a `[section]`.
    pub fn table(&mut self, key: &'static str) -> Result<Option<TableReader<'a>>> {
        let Some((item, span)) = self.item(key) else {
            return Ok(None);
        };
        let table = item
            .as_table_like()
            .ok_or_else(|| self.wrong_type(key, item, span.clone(), "a table"))?;
        Ok(Some(TableReader::new(
            self.src,
            self.key_path(key),
            table,
            span,
        )))
    }

    /// The tables of a `[[key]]` array (absent means none).
    pub fn array_of_tables(&mut self, key: &'static str) -> Result<Vec<TableReader<'a>>> {
        let Some((item, span)) = self.item(key) else {
            return Ok(Vec::new());
        };
        let array = item.as_array_of_tables().ok_or_else(|| {
            self.wrong_type(key, item, span, &format!("one or more [[{key}]] sections"))
        })?;
        Ok(array
            .iter()
            .enumerate()
            .map(|(i, t)| {
                TableReader::new(
                    self.src,
                    format!("{key}[{i}]"),
                    t as &dyn TableLike,
                    t.span(),
                )
            })
            .collect())
    }

    /// Fails on the first key the schema did not ask for.
    pub fn finish(self) -> Result<()> {
        for (key, item) in self.table.iter() {
            if !self.known.contains(&key) {
                let span = self
                    .table
                    .get_key_value(key)
                    .and_then(|(k, _)| k.span())
                    .or_else(|| item.span());
                let mut allowed = self.known.clone();
                allowed.sort_unstable();
                let hint = allowed
                    .iter()
                    .filter(|k| close(k, key))
                    .min_by_key(|k| edit_distance(k, key))
                    .map_or(String::new(), |k| format!(" (did you mean `{k}`?)"));
                return Err(self.error(
                    span,
                    key,
                    format!(
                        "unknown key `{key}`{hint}; expected one of: {}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspellings_are_close_and_other_keys_are_not() {
        assert_eq!(edit_distance("server_tff", "server_ttf"), 1);
        assert_eq!(edit_distance("hartbeat_timeout", "heartbeat_timeout"), 1);
        assert!(close("server_tff", "server_ttf"));
        assert!(!close("seed", "name"));
        assert!(!close("server_ttf", "server_ttf"));
    }
}
