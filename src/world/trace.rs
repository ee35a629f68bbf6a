//! What happened, in order: the readable record of a run.

use serde::{Deserialize, Serialize};

use crate::time::{seconds, Micros};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceKind {
    Inject,
    Cluster,
    Script,
    Call,
    Log,
    Replication,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceEntry {
    pub at: Micros,
    pub kind: TraceKind,
    /// The server the entry concerns (a script's host for calls).
    pub server: String,
    pub text: String,
}

impl TraceEntry {
    pub fn render(&self) -> String {
        format!(
            "{:>10.3}s  {:<6} {}",
            seconds(self.at),
            self.server,
            self.text
        )
    }
}

/// Renders a trace as a timeline, one line per entry.
pub fn render(entries: &[TraceEntry]) -> String {
    entries.iter().map(|e| e.render() + "\n").collect()
}
