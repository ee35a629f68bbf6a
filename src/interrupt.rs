//! SIGINT, SIGTERM and SIGHUP during a command that writes an output folder: the handler only
//! records the signal; the runner stops at the next replication, the command drops its
//! unpublished files, and the process exits with 128 + the signal's number (130, 143, 129),
//! as a shell reports a process killed by it. Without `install`, signals keep their default
//! action (commands that write nothing need no clean-up); a signal ignored when ecxsim
//! started stays ignored.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The signal received (0: none), shared with the handlers.
fn received_slot() -> &'static Arc<AtomicUsize> {
    static SLOT: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    SLOT.get_or_init(|| Arc::new(AtomicUsize::new(0)))
}

/// A termination signal this process handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal(i32);

impl Signal {
    pub fn name(self) -> &'static str {
        match self.0 {
            signal_hook::consts::SIGINT => "SIGINT",
            signal_hook::consts::SIGTERM => "SIGTERM",
            #[cfg(unix)]
            signal_hook::consts::SIGHUP => "SIGHUP",
            _ => "a signal",
        }
    }

    /// The conventional exit status of a process stopped by this signal.
    pub fn exit_code(self) -> u8 {
        (128 + self.0).clamp(0, 255) as u8
    }
}

/// Catches SIGINT, SIGTERM and SIGHUP from now on (see the module comment).
pub fn install() -> std::io::Result<()> {
    let signals = [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        #[cfg(unix)]
        signal_hook::consts::SIGHUP,
    ];
    for signal in signals {
        if ignored(signal) {
            continue;
        }
        signal_hook::flag::register_usize(signal, Arc::clone(received_slot()), signal as usize)?;
    }
    Ok(())
}

/// Whether `signal` was set to be ignored by whoever started ecxsim: `nohup` ignores SIGHUP, a
/// shell's background job SIGINT; catching them would stop a run its user meant to go on.
#[cfg(unix)]
fn ignored(signal: i32) -> bool {
    // SAFETY: sigaction with a null new action only reads the current one into `current`.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    }
}

#[cfg(not(unix))]
fn ignored(_signal: i32) -> bool {
    false
}

/// The signal received since `install`, if any.
pub fn received() -> Option<Signal> {
    match received_slot().load(Ordering::Relaxed) {
        0 => None,
        n => Some(Signal(n as i32)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(Signal(signal_hook::consts::SIGINT).exit_code(), 130);
        assert_eq!(Signal(signal_hook::consts::SIGTERM).exit_code(), 143);
        assert_eq!(Signal(signal_hook::consts::SIGHUP).exit_code(), 129);
        assert_eq!(Signal(signal_hook::consts::SIGTERM).name(), "SIGTERM");
    }
}
