//! Finding a key of a scenario file again after it was read, to locate a problem found later
//! (by `analytic`, say) with the same file:line:column as a validation error.
//!
//! A key path is dotted as in `sweep --param`: `SECTION.KEY...` or `ARRAY.NAME.KEY...`, where
//! `NAME` is the `name` of one `[[ARRAY]]` element (`cluster.cluster1.interconnect`).

use std::path::Path;

use toml_edit::{ImDocument, Item, TableLike};

use super::error::{ScenarioError, Source};

/// An error at `key` of the scenario file `path`: located at the key when the file still has
/// it, at the file as a whole otherwise.
pub fn error_at(path: &Path, key: &str, message: impl Into<String>) -> ScenarioError {
    let text = super::file::read_bounded(path)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let span = text.as_deref().and_then(|text| span_of(text, key));
    let src = Source::new(path, text.unwrap_or_default());
    src.error(span, key, message)
}

/// The byte span of `key` (the key itself, or the `[[ARRAY]]` header of a named element) in
/// scenario text.
fn span_of(text: &str, key: &str) -> Option<std::ops::Range<usize>> {
    let doc = ImDocument::parse(text).ok()?;
    let mut table: &dyn TableLike = doc.as_table();
    let mut span = None;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        let (k, item) = table.get_key_value(part)?;
        span = k.span().or_else(|| item.span());
        if let Some(array) = item.as_array_of_tables() {
            let Some(name) = parts.next() else { break };
            let element = array
                .iter()
                .find(|t| t.get("name").and_then(Item::as_str) == Some(name))?;
            span = element.span().or(span);
            table = element;
        } else if parts.peek().is_some() {
            table = item.as_table_like()?;
        }
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[simulation]\nseed = 1\n\n[[cluster]]\nname = \"a\"\n\n[[cluster]]\nname = \"b\"\nservers = [\"x\"]\ninterconnect = { ttf = \"1h\" }\n";

    fn position(key: &str) -> Option<(usize, usize)> {
        let src = Source::new(Path::new("s.toml"), TEXT.to_string());
        span_of(TEXT, key).map(|s| src.position(s.start))
    }

    #[test]
    fn finds_keys_of_sections_and_named_array_elements() {
        assert_eq!(position("simulation.seed"), Some((2, 1)));
        assert_eq!(position("cluster.b.servers"), Some((9, 1)));
        assert_eq!(position("cluster.b.interconnect"), Some((10, 1)));
        assert_eq!(position("cluster.b.interconnect.ttf"), Some((10, 18)));
        assert!(position("cluster.b").is_some());
        assert_eq!(position("cluster.c.servers"), None);
        assert_eq!(position("witness"), None);
    }
}
