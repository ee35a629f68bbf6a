//! `Dns` through a configured command: the program and its arguments, with `{record}` and
//! `{address}` replaced (no shell, so neither value can inject anything). Exit code 0 is
//! success.

use std::process::{Command, Stdio};

use super::offload::offload;
use crate::backend::traits::BackendResult;
use crate::backend::{BackendError, Dns};

#[derive(Debug, Clone)]
pub struct DnsCommand {
    /// The program first, then its arguments; empty: no DNS to update (the agent's case,
    /// since only the master moves VMs between clusters).
    pub argv: Vec<String>,
}

impl DnsCommand {
    pub fn render(&self, record: &str, address: &str) -> Vec<String> {
        self.argv
            .iter()
            .map(|a| a.replace("{record}", record).replace("{address}", address))
            .collect()
    }
}

impl Dns for DnsCommand {
    async fn update_record(&self, record: &str, address: &str) -> BackendResult<()> {
        let argv = self.render(record, address);
        offload(move || {
            let (program, args) = argv.split_first().ok_or_else(|| BackendError::Failed {
                target: "DNS update".into(),
                message: "no [master] dns_command is configured".into(),
            })?;
            let output = Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| BackendError::Failed {
                    target: "DNS update".into(),
                    message: format!("cannot run {program}: {e}"),
                })?;
            if output.status.success() {
                Ok(())
            } else {
                let mut message = String::from_utf8_lossy(&output.stderr).trim().to_string();
                message.truncate(message.floor_char_boundary(300));
                Err(BackendError::Failed {
                    target: "DNS update".into(),
                    message: format!("{program} failed ({}): {message}", output.status),
                })
            }
        })
        .await
    }
}
