//! `HyperV` over PowerShell: each cmdlet is one `powershell.exe -NoProfile -NonInteractive
//! -Command <script>` (the executable is configurable, so `pwsh` works). A cmdlet for another
//! host runs there through `Invoke-Command -ComputerName`, with the WinRM credential if one is
//! configured. Output comes back through `ConvertTo-Json`, with every enumeration turned into
//! its name first (Windows PowerShell would otherwise print numbers); a failure comes back as
//! the exception's message on stderr and exit code 1, and the documented messages become
//! the typed errors the control logic reasons about.
//!
//! Credentials never appear on the command line: the script reads the user and the password
//! from its stdin. Every value put in the script is a single-quoted literal (no double quotes:
//! Windows PowerShell's command-line parser strips them).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::credentials::Credential;
use super::offload::offload;
use crate::backend::hyperv_types::same_host;
use crate::backend::traits::BackendResult;
use crate::backend::{
    BackendError, HyperV, PowerState, ReplicationHealth, ReplicationMode, ReplicationState, VmInfo,
    VmReplication,
};

#[derive(Debug, Clone)]
pub struct PowerShellConfig {
    /// `powershell.exe`, `pwsh`, or a full path.
    pub executable: PathBuf,
    /// This machine's name (`COMPUTERNAME`): cmdlets for it run locally.
    pub local_host: String,
    /// A cmdlet still running after this is killed.
    pub timeout: Duration,
}

struct Inner {
    config: PowerShellConfig,
    credential: Option<Credential>,
}

#[derive(Clone)]
pub struct PowerShell {
    inner: Arc<Inner>,
}

/// A PowerShell single-quoted literal. The typographic single quotes count as quotes too.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

const VM_FIELDS: &str =
    "Select-Object Name, @{n='State';e={[string]$_.State}}, @{n='Status';e={[string]$_.Status}}";
const REPLICATION_FIELDS: &str = "Select-Object VMName, @{n='Mode';e={[string]$_.Mode}}, \
     @{n='State';e={[string]$_.State}}, @{n='Health';e={[string]$_.Health}}, \
     @{n='PrimaryServer';e={[string]$_.PrimaryServer}}, \
     @{n='ReplicaServer';e={[string]$_.ReplicaServer}}";

impl PowerShell {
    pub fn new(config: PowerShellConfig, credential: Option<Credential>) -> PowerShell {
        PowerShell {
            inner: Arc::new(Inner { config, credential }),
        }
    }

    /// The whole `-Command` text for `body` on `host`.
    pub fn script(&self, host: &str, body: &str) -> String {
        let call = if self.is_local(host) {
            format!("& {{ {body} }}")
        } else if self.inner.credential.is_some() {
            format!(
                "$u = [Console]::In.ReadLine(); \
                 $p = ConvertTo-SecureString ([Console]::In.ReadLine()) -AsPlainText -Force; \
                 $c = New-Object System.Management.Automation.PSCredential($u, $p); \
                 Invoke-Command -ComputerName {} -Credential $c -ErrorAction Stop \
                 -ScriptBlock {{ $ErrorActionPreference = 'Stop'; {body} }}",
                quote(host)
            )
        } else {
            format!(
                "Invoke-Command -ComputerName {} -ErrorAction Stop \
                 -ScriptBlock {{ $ErrorActionPreference = 'Stop'; {body} }}",
                quote(host)
            )
        };
        format!(
            "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; \
             try {{ {call} }} catch {{ [Console]::Error.WriteLine($_.Exception.Message); exit 1 }}"
        )
    }

    fn is_local(&self, host: &str) -> bool {
        same_host(host, &self.inner.config.local_host)
    }

    /// Runs `body` on `host`: its stdout, or the typed error its message maps to.
    async fn run(
        &self,
        host: &str,
        vm: &str,
        body: String,
        path: Option<&str>,
    ) -> BackendResult<String> {
        if host.is_empty() {
            return Err(BackendError::NoTarget);
        }
        let script = self.script(host, &body);
        let stdin = if self.is_local(host) {
            None
        } else {
            self.inner
                .credential
                .as_ref()
                .map(|c| format!("{}\n{}\n", c.user, c.password.expose()))
        };
        let inner = self.inner.clone();
        let (host, vm, path) = (host.to_string(), vm.to_string(), path.map(str::to_string));
        offload(move || {
            let (code, stdout, stderr) = inner.execute(&host, &script, stdin)?;
            if code == Some(0) {
                Ok(stdout)
            } else {
                Err(map_error(&host, &vm, path.as_deref(), &stderr))
            }
        })
        .await
    }

    async fn unit(&self, host: &str, vm: &str, body: String) -> BackendResult<()> {
        self.run(host, vm, body, None).await.map(|_| ())
    }
}

impl Inner {
    /// Starts the shell, hands it the credential on stdin, waits up to the timeout.
    fn execute(
        &self,
        host: &str,
        script: &str,
        stdin: Option<String>,
    ) -> BackendResult<(Option<i32>, String, String)> {
        let exe = &self.config.executable;
        let spawn = || {
            Command::new(exe)
                .args(["-NoProfile", "-NonInteractive", "-Command", script])
                .stdin(if stdin.is_some() {
                    Stdio::piped()
                } else {
                    Stdio::null()
                })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
        };
        // An executable just written ("text file busy" while another process's fork still
        // holds it open for a moment) is retried briefly rather than taken for a failure.
        let mut started = spawn();
        for _ in 0..5 {
            match &started {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(Duration::from_millis(20));
                    started = spawn();
                }
                _ => break,
            }
        }
        let mut child = started.map_err(|e| BackendError::Failed {
            target: "PowerShell".into(),
            message: format!("cannot run {}: {e}", exe.display()),
        })?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A shell that exits before reading is not an error of ours.
            let _ = pipe.write_all(text.as_bytes());
        }
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                if let Some(p) = pipe {
                    let _ = p.take(1 << 20).read_to_end(&mut text);
                }
                String::from_utf8_lossy(&text).into_owned()
            })
        };
        let out = drain(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let err = drain(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let deadline = Instant::now() + self.config.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(BackendError::Timeout {
                        target: host.to_string(),
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => {
                    return Err(BackendError::Failed {
                        target: "PowerShell".into(),
                        message: format!("cannot wait for {}: {e}", exe.display()),
                    })
                }
            }
        };
        let stdout = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        Ok((status.code(), stdout, stderr))
    }
}

/// The documented Hyper-V and WinRM messages, as typed errors.
pub fn map_error(host: &str, vm: &str, path: Option<&str>, stderr: &str) -> BackendError {
    let message = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let lower = message.to_lowercase();
    let has = |needle: &str| lower.contains(needle);
    if has("configuration was not accessible") || has("0x80004004") {
        BackendError::ConfigurationNotAccessible { vm: vm.into() }
    } else if has("access is denied")
        || has("user name or password is incorrect")
        || has("logon failure")
    {
        BackendError::Authentication {
            target: host.into(),
        }
    } else if has("winrm cannot")
        || has("connecting to remote server")
        || has("cannot find the computer")
        || has("rpc server is unavailable")
    {
        BackendError::Unreachable {
            target: host.into(),
        }
    } else if has("unable to find a virtual machine") {
        BackendError::VmNotFound {
            vm: vm.into(),
            host: host.into(),
        }
    } else if has("already enabled for replication") {
        BackendError::AlreadyReplicating {
            vm: vm.into(),
            host: host.into(),
        }
    } else if has("not enabled for replication") || has("replication is not enabled") {
        BackendError::NotReplicating {
            vm: vm.into(),
            host: host.into(),
        }
    } else if has("already exists") || has("same identifier") {
        BackendError::VmAlreadyExists {
            vm: vm.into(),
            host: host.into(),
        }
    } else if let Some(path) =
        path.filter(|_| has("not accessible") || has("cannot find path") || has("does not exist"))
    {
        BackendError::PathNotAccessible {
            path: path.into(),
            host: host.into(),
        }
    } else if has("is not allowed for virtual machine") || has("in its current state") {
        BackendError::InvalidState {
            vm: vm.into(),
            operation: "cmdlet".into(),
            detail: message,
        }
    } else {
        let mut message = if message.is_empty() {
            "the cmdlet failed without a message".to_string()
        } else {
            message
        };
        message.truncate(message.floor_char_boundary(500));
        BackendError::Failed {
            target: host.into(),
            message,
        }
    }
}

fn undecodable(host: &str, detail: impl Into<String>) -> BackendError {
    BackendError::Undecodable {
        target: host.to_string(),
        detail: detail.into(),
    }
}

/// The JSON on stdout; `None` when the cmdlet wrote nothing (or `null`).
fn json_output(host: &str, stdout: &str) -> BackendResult<Option<Value>> {
    let text = stdout.trim();
    if text.is_empty() || text == "null" {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| undecodable(host, format!("not the JSON ConvertTo-Json writes: {e}")))
}

fn field<'v>(host: &str, v: &'v Value, key: &str) -> BackendResult<&'v str> {
    match v.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(Value::Null) | None if key.ends_with("Server") || key == "Status" => Ok(""),
        _ => Err(undecodable(
            host,
            format!("`{key}` missing or not a string"),
        )),
    }
}

/// `Get-VM .State`: only off and running matter to the control logic. A VM that holds
/// memory (paused, starting, stopping, critical) counts as running, so it is never taken
/// for a copy that is safely off; saved and off states count as off.
pub fn power_state(host: &str, state: &str) -> BackendResult<PowerState> {
    const OFF: &[&str] = &[
        "Off",
        "OffCritical",
        "Saved",
        "SavedCritical",
        "FastSaved",
        "FastSavedCritical",
    ];
    const ON: &[&str] = &[
        "Running",
        "RunningCritical",
        "Paused",
        "PausedCritical",
        "Starting",
        "StartingCritical",
        "Stopping",
        "StoppingCritical",
        "Saving",
        "SavingCritical",
        "Pausing",
        "PausingCritical",
        "Resuming",
        "ResumingCritical",
        "Reset",
        "ResetCritical",
        "FastSaving",
        "FastSavingCritical",
        "Other",
    ];
    if OFF.contains(&state) {
        Ok(PowerState::Off)
    } else if ON.contains(&state) {
        Ok(PowerState::Running)
    } else {
        Err(undecodable(host, format!("unknown VM state {state:?}")))
    }
}

pub fn parse_vm(host: &str, v: &Value) -> BackendResult<VmInfo> {
    Ok(VmInfo {
        name: field(host, v, "Name")?.into(),
        state: power_state(host, field(host, v, "State")?)?,
        status: field(host, v, "Status")?.to_string().into(),
    })
}

/// One relationship; `None` for a VM whose replication is disabled.
pub fn parse_replication(host: &str, v: &Value) -> BackendResult<Option<VmReplication>> {
    use ReplicationState::*;
    let mode = match field(host, v, "Mode")? {
        "Primary" => ReplicationMode::Primary,
        "Replica" => ReplicationMode::Replica,
        "None" => return Ok(None),
        other => {
            return Err(undecodable(
                host,
                format!("unsupported replication mode {other:?}"),
            ))
        }
    };
    let state = match field(host, v, "State")? {
        "Disabled" => return Ok(None),
        "ReadyForInitialReplication" => ReadyForInitialReplication,
        "InitialReplicationInProgress" => InitialReplicationInProgress,
        "WaitingForInitialReplication" => WaitingForInitialReplication,
        "Replicating" => Replicating,
        // A resynchronisation is a transfer in progress, like the initial one.
        "Resynchronizing" => InitialReplicationInProgress,
        "ResynchronizeSuspended" => Suspended,
        "PreparedForFailover" | "SyncedReplicationComplete" => PreparedForFailover,
        "FailedOverWaitingCompletion" | "Recovered" => FailedOverWaitingCompletion,
        "FailedOver" | "Committed" => FailedOver,
        "Suspended" => Suspended,
        "Error" | "Critical" => Error,
        "WaitingForStartResynchronize" => WaitingForStartResynchronize,
        other => {
            return Err(undecodable(
                host,
                format!("unsupported replication state {other:?}"),
            ))
        }
    };
    let health = match field(host, v, "Health")? {
        "Normal" => ReplicationHealth::Normal,
        "Warning" | "NotApplicable" | "" => ReplicationHealth::Warning,
        "Critical" => ReplicationHealth::Critical,
        other => {
            return Err(undecodable(
                host,
                format!("unknown replication health {other:?}"),
            ))
        }
    };
    Ok(Some(VmReplication {
        vm_name: field(host, v, "VMName")?.into(),
        mode,
        state,
        health,
        primary_server: field(host, v, "PrimaryServer")?.into(),
        replica_server: field(host, v, "ReplicaServer")?.into(),
    }))
}

/// ConvertTo-Json writes one object bare and several as an array.
fn objects(v: Value) -> Vec<Value> {
    match v {
        Value::Array(list) => list,
        other => vec![other],
    }
}

fn flag(on: bool, name: &str) -> &str {
    if on {
        name
    } else {
        ""
    }
}

impl HyperV for PowerShell {
    async fn get_vm(&self, host: &str, vm: &str) -> BackendResult<Option<VmInfo>> {
        let body = format!(
            "Get-VM -Name {} | {VM_FIELDS} | ConvertTo-Json -Compress",
            quote(vm)
        );
        match self.run(host, vm, body, None).await {
            Ok(out) => match json_output(host, &out)? {
                None => Ok(None),
                Some(v) => objects(v).first().map(|v| parse_vm(host, v)).transpose(),
            },
            Err(BackendError::VmNotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn start_vm(&self, host: &str, vm: &str) -> BackendResult<()> {
        self.unit(host, vm, format!("Start-VM -Name {}", quote(vm)))
            .await
    }

    async fn stop_vm(&self, host: &str, vm: &str) -> BackendResult<()> {
        let body = format!(
            "Stop-VM -Name {} -TurnOff -Force -Confirm:$false",
            quote(vm)
        );
        self.unit(host, vm, body).await
    }

    async fn import_vm(&self, host: &str, vm: &str, path: &str) -> BackendResult<()> {
        let body = format!("Import-VM -Path {} -Confirm:$false | Out-Null", quote(path));
        self.run(host, vm, body, Some(path)).await.map(|_| ())
    }

    async fn get_vm_replication(
        &self,
        host: &str,
        vm: &str,
    ) -> BackendResult<Option<VmReplication>> {
        let body = format!(
            "Get-VMReplication -VMName {} | {REPLICATION_FIELDS} | ConvertTo-Json -Compress",
            quote(vm)
        );
        match self.run(host, vm, body, None).await {
            Ok(out) => match json_output(host, &out)? {
                None => Ok(None),
                Some(v) => match objects(v).first() {
                    None => Ok(None),
                    Some(v) => parse_replication(host, v),
                },
            },
            Err(BackendError::NotReplicating { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn list_vm_replication(&self, host: &str) -> BackendResult<Vec<VmReplication>> {
        let body = format!(
            "ConvertTo-Json -Compress -InputObject @(Get-VMReplication | {REPLICATION_FIELDS})"
        );
        let out = self.run(host, "", body, None).await?;
        let Some(v) = json_output(host, &out)? else {
            return Ok(Vec::new());
        };
        let mut list = Vec::new();
        for item in objects(v) {
            list.extend(parse_replication(host, &item)?);
        }
        Ok(list)
    }

    async fn remove_vm_replication(&self, host: &str, vm: &str) -> BackendResult<()> {
        let body = format!("Remove-VMReplication -VMName {} -Confirm:$false", quote(vm));
        self.unit(host, vm, body).await
    }

    async fn enable_vm_replication(
        &self,
        host: &str,
        vm: &str,
        replica: &str,
        frequency_s: Option<u32>,
    ) -> BackendResult<()> {
        if replica.is_empty() {
            return Err(BackendError::NoTarget);
        }
        let every = frequency_s.map_or(String::new(), |f| format!(" -ReplicationFrequencySec {f}"));
        let body = format!(
            "Enable-VMReplication -VMName {} -ReplicaServerName {} -ReplicaServerPort 80 \
             -AuthenticationType Kerberos{every} -Confirm:$false",
            quote(vm),
            quote(replica)
        );
        self.unit(host, vm, body).await
    }

    async fn enable_vm_replication_as_replica(&self, host: &str, vm: &str) -> BackendResult<()> {
        let body = format!(
            "Enable-VMReplication -VMName {} -AsReplica -Confirm:$false",
            quote(vm)
        );
        self.unit(host, vm, body).await
    }

    async fn start_vm_initial_replication(&self, host: &str, vm: &str) -> BackendResult<()> {
        let body = format!(
            "Start-VMInitialReplication -VMName {} -Confirm:$false",
            quote(vm)
        );
        self.unit(host, vm, body).await
    }

    async fn start_vm_failover(&self, host: &str, vm: &str, prepare: bool) -> BackendResult<()> {
        let body = format!(
            "Start-VMFailover -VMName {} {} -Confirm:$false",
            quote(vm),
            flag(prepare, "-Prepare")
        );
        self.unit(host, vm, body).await
    }

    async fn complete_vm_failover(&self, host: &str, vm: &str) -> BackendResult<()> {
        let body = format!("Complete-VMFailover -VMName {} -Confirm:$false", quote(vm));
        self.unit(host, vm, body).await
    }

    async fn reverse_vm_replication(
        &self,
        host: &str,
        vm: &str,
        replica: &str,
    ) -> BackendResult<()> {
        let body = format!(
            "Set-VMReplication -VMName {} -Reverse -ReplicaServerName {} -Confirm:$false",
            quote(vm),
            quote(replica)
        );
        self.unit(host, vm, body).await
    }

    async fn set_vm_replication_as_replica(&self, host: &str, vm: &str) -> BackendResult<()> {
        let body = format!(
            "Set-VMReplication -VMName {} -AsReplica -Confirm:$false",
            quote(vm)
        );
        self.unit(host, vm, body).await
    }

    async fn resume_vm_replication(
        &self,
        host: &str,
        vm: &str,
        resynchronize: bool,
    ) -> BackendResult<()> {
        let body = format!(
            "Resume-VMReplication -VMName {} {} -Confirm:$false",
            quote(vm),
            flag(resynchronize, "-Resynchronize")
        );
        self.unit(host, vm, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_single_quoted() {
        assert_eq!(quote("TestVM1"), "'TestVM1'");
        assert_eq!(quote("it's"), "'it''s'");
        assert_eq!(quote("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
    }

    #[test]
    fn the_script_never_holds_the_password() {
        let ps = PowerShell::new(
            PowerShellConfig {
                executable: "pwsh".into(),
                local_host: "c1s1".into(),
                timeout: Duration::from_secs(1),
            },
            Some(Credential::new("CORP\\admin", "pa55word")),
        );
        let remote = ps.script("c2s1.corp.example", "Get-VM -Name 'vm'");
        assert!(remote.contains("Invoke-Command -ComputerName 'c2s1.corp.example' -Credential $c"));
        assert!(!remote.contains("pa55word") && !remote.contains('"'));
        let local = ps.script("C1S1.corp.example", "Get-VM -Name 'vm'");
        assert!(!local.contains("Invoke-Command"));
    }

    #[test]
    fn documented_messages_map_to_typed_errors() {
        let e = map_error("h", "vm", None, "Operation not allowed for virtual machine 'vm' because the configuration was not accessible. Try again later.\n");
        assert_eq!(
            e,
            BackendError::ConfigurationNotAccessible { vm: "vm".into() }
        );
        let e = map_error(
            "h",
            "vm",
            None,
            "Hyper-V failed to remove replication for 'vm': Operation aborted (0x80004004).",
        );
        assert_eq!(
            e,
            BackendError::ConfigurationNotAccessible { vm: "vm".into() }
        );
        let e = map_error("h", "vm", None, "Connecting to remote server h failed with the following error message : Access is denied.");
        assert!(matches!(e, BackendError::Authentication { .. }));
        let e = map_error("h", "vm", None, "Connecting to remote server h failed with the following error message : WinRM cannot complete the operation.");
        assert!(matches!(e, BackendError::Unreachable { .. }));
        let e = map_error(
            "h",
            "vm",
            None,
            "Hyper-V was unable to find a virtual machine with name \"vm\".",
        );
        assert!(matches!(e, BackendError::VmNotFound { .. }));
        let e = map_error("h", "vm", None, "something odd");
        assert!(matches!(e, BackendError::Failed { .. }));
    }

    #[test]
    fn states_parse_by_name() {
        let v: Value =
            serde_json::from_str(r#"{"Name":"vm","State":"Saved","Status":"Operating normally"}"#)
                .unwrap();
        assert_eq!(parse_vm("h", &v).unwrap().state, PowerState::Off);
        let v: Value =
            serde_json::from_str(r#"{"Name":"vm","State":"PausedCritical","Status":null}"#)
                .unwrap();
        assert_eq!(parse_vm("h", &v).unwrap().state, PowerState::Running);
        let v: Value = serde_json::from_str(r#"{"Name":"vm","State":2}"#).unwrap();
        assert!(parse_vm("h", &v).is_err());
    }
}
