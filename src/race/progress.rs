//! Progress of a race on a terminal: runs of the sweeps, then states of the enumeration.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::Progress;

/// A bar on stderr, shown only when stderr is a terminal.
pub struct TerminalProgress {
    runs: Option<ProgressBar>,
    states: Option<ProgressBar>,
}

impl TerminalProgress {
    /// `runs`: sweep runs in all; `max_states`: the enumeration's budget (`None`: none).
    pub fn new(runs: u64, max_states: Option<usize>) -> TerminalProgress {
        if !std::io::stderr().is_terminal() {
            return TerminalProgress {
                runs: None,
                states: None,
            };
        }
        let bar = |len: u64, template: &str| {
            let bar = ProgressBar::new(len);
            bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
            bar
        };
        TerminalProgress {
            runs: Some(bar(runs, "{bar:40} {pos}/{len} race runs, {eta} left")),
            states: max_states.map(|n| {
                let b = bar(n as u64, "{bar:40} {pos} distinct states (budget {len})");
                b.set_position(0);
                b
            }),
        }
    }

    pub fn finish(&self) {
        for bar in self.runs.iter().chain(&self.states) {
            bar.finish_and_clear();
        }
    }
}

impl Progress for TerminalProgress {
    fn run_done(&self) {
        if let Some(bar) = &self.runs {
            bar.inc(1);
        }
    }

    fn state_seen(&self) {
        if let Some(bar) = &self.states {
            bar.inc(1);
        }
    }
}
