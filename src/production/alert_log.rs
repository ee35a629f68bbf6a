//! `AlertLog` through `clplogcmd -m <message> -l INFO|ERR`, ECX's alert log. Every line also
//! goes to stderr, which ECX keeps in the script resource's log; when `clplogcmd` cannot be
//! run (not an ECX server), stderr is all there is, and a warning says so once.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::backend::{AlertLog, LogLevel};

#[derive(Clone)]
pub struct ClpLogCmd {
    /// `clplogcmd` (on the PATH of an ECX server) or its full path; `None`: stderr only.
    command: Option<PathBuf>,
    /// Prefixed to every message: which program and VM speak.
    source: String,
    warned: Arc<AtomicBool>,
}

/// ECX truncates alert messages; keep them within its limit.
const MAX_MESSAGE: usize = 498;

impl ClpLogCmd {
    pub fn new(command: Option<PathBuf>, source: &str) -> ClpLogCmd {
        ClpLogCmd {
            command,
            source: source.to_string(),
            warned: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn with_source(&self, source: &str) -> ClpLogCmd {
        ClpLogCmd {
            source: source.to_string(),
            ..self.clone()
        }
    }
}

impl AlertLog for ClpLogCmd {
    fn log(&self, level: LogLevel, message: &str) {
        let tag = match level {
            LogLevel::Info => "INFO",
            LogLevel::Error => "ERR",
        };
        let mut line = format!("{}: {message}", self.source);
        line.retain(|c| !c.is_control());
        line.truncate(line.floor_char_boundary(MAX_MESSAGE));
        eprintln!("[{tag}] {line}");
        let Some(command) = &self.command else {
            return;
        };
        let status = Command::new(command)
            .args(["-m", &line, "-l", tag])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let failed = !matches!(status, Ok(s) if s.success());
        if failed && !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!(
                "[ERR] {}: cannot write to the ECX alert log with {}",
                self.source,
                command.display()
            );
        }
    }
}
