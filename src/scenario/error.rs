//! Scenario errors: every one names the file, the line and column, the key, and what was
//! expected, so a user can fix the file without guessing.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A scenario file that cannot be used, located as precisely as the input allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: PathBuf,
    /// 1-based line and column; `None` when the problem is the file as a whole.
    pub position: Option<(usize, usize)>,
    /// Dotted key path, e.g. `cluster[0].server_ttf.mean`; empty for file-level problems.
    pub key: String,
    pub message: String,
}

impl std::error::Error for ScenarioError {}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The text of a scenario file with what is needed to turn byte offsets into positions.
#[derive(Debug, Clone)]
pub struct Source {
    pub file: PathBuf,
    pub text: String,
}

impl Source {
    pub fn new(file: &Path, text: String) -> Source {
        Source {
            file: file.to_path_buf(),
            text,
        }
    }

    /// 1-based (line, column) of a byte offset; the column counts characters, not bytes.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    pub fn error(
        &self,
        span: Option<Range<usize>>,
        key: &str,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError {
            file: self.file.clone(),
            position: span.map(|s| self.position(s.start)),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A problem with the file itself (unreadable, not UTF-8), before any TOML is parsed.
pub fn file_error(file: &Path, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        file: file.to_path_buf(),
        position: None,
        key: String::new(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let src = Source::new(Path::new("a.toml"), "ab\ncé = 1\n".to_string());
        assert_eq!(src.position(0), (1, 1));
        assert_eq!(src.position(3), (2, 1));
        assert_eq!(src.position(6), (2, 3)); // after the two-byte é
        let err = src.error(Some(3..4), "x.y", "expected a number");
        assert_eq!(err.to_string(), "a.toml:2:1: `x.y`: expected a number");
    }
}
