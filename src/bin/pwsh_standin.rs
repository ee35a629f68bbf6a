//! A stand-in for `powershell.exe` in tests (real PowerShell and Hyper-V are not available on
//! the build machines). It accepts exactly the command lines the PowerShell backend writes
//! (`-NoProfile -NonInteractive -Command <script>`), finds the cmdlet, its target host and its
//! parameters in the script, runs it on the simulated Hyper-V farm, and answers as PowerShell
//! would: JSON on stdout, the exception's message on stderr, exit code 1 on failure. It checks
//! the WinRM credential it reads from stdin, like a remote host would.
//!
//! The farm lives in the JSON file named by `ECXSIM_STANDIN_STATE`; every call loads it,
//! applies the cmdlet and saves it, and records the script it was given. Or, with
//! `ECXSIM_STANDIN_WORLD` naming a JSON file `{"url", "user", "password", "local",
//! "credential"}`, the cmdlet runs on the Hyper-V of a world `ecxsim serve` serves (its
//! `POST /ecxsim/v1/hyperv`), as PowerShell on server `local` would run it.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use ecxsim::backend::sim::hyperv::HvEffect;
use ecxsim::backend::sim::{
    HostState, HvCmd, HyperVFarm, OpOutput, OpResult, Relationship, VmOnHost,
};
use ecxsim::backend::{
    BackendError, Name, PowerState, ReplicationHealth, ReplicationMode, ReplicationState,
};

#[derive(Serialize, Deserialize, Clone)]
struct Rel {
    mode: ReplicationMode,
    state: ReplicationState,
    health: ReplicationHealth,
    primary: String,
    replica: String,
    #[serde(default)]
    config_lost: bool,
    #[serde(default = "default_frequency")]
    frequency_s: u32,
}

fn default_frequency() -> u32 {
    ecxsim::backend::sim::hyperv::DEFAULT_REPLICATION_FREQUENCY_S
}

#[derive(Serialize, Deserialize, Clone)]
struct Vm {
    power: PowerState,
    replication: Option<Rel>,
}

#[derive(Serialize, Deserialize, Clone)]
struct Host {
    cluster: String,
    up: bool,
    connected: bool,
    disk: bool,
    vms: BTreeMap<String, Vm>,
}

#[derive(Serialize, Deserialize, Clone, PartialEq)]
struct Cred {
    user: String,
    password: String,
}

/// The state file.
#[derive(Serialize, Deserialize, Clone)]
struct State {
    /// The machine the shell runs on.
    local: String,
    /// What remote hosts accept from `Invoke-Command -Credential`; `None`: no credential.
    credential: Option<Cred>,
    hosts: BTreeMap<String, Host>,
    /// `.vmcx` path → (cluster whose disk holds it, VM).
    paths: BTreeMap<String, (String, String)>,
    #[serde(default)]
    calls: u64,
    /// Every script received, in order.
    #[serde(default)]
    scripts: Vec<String>,
}

impl State {
    fn farm(&self) -> HyperVFarm {
        let mut farm = HyperVFarm::default();
        for (name, h) in &self.hosts {
            let vms = h
                .vms
                .iter()
                .map(|(vm, v)| {
                    let replication = v.replication.as_ref().map(|r| Relationship {
                        mode: r.mode,
                        state: r.state,
                        health: r.health,
                        primary: r.primary.as_str().into(),
                        replica: r.replica.as_str().into(),
                        config_lost: r.config_lost,
                        before_loss: None,
                        frequency_s: r.frequency_s,
                    });
                    let on = VmOnHost {
                        power: v.power,
                        checkpoint_until: 0,
                        checkpoint_answers: 0,
                        replication,
                    };
                    (vm.clone(), on)
                })
                .collect();
            let mut host = HostState::new(name, &h.cluster);
            host.up = h.up;
            host.connected = h.connected;
            host.disk = h.disk;
            host.vms = vms;
            farm.hosts.insert(name.clone(), host);
        }
        farm.paths = self.paths.clone();
        farm
    }

    fn store(&mut self, farm: &HyperVFarm) {
        for (name, h) in &farm.hosts {
            let vms = h
                .vms
                .iter()
                .map(|(vm, v)| {
                    let replication = v.replication.as_ref().map(|r| Rel {
                        mode: r.mode,
                        state: r.state,
                        health: r.health,
                        primary: r.primary.to_string(),
                        replica: r.replica.to_string(),
                        config_lost: r.config_lost,
                        frequency_s: r.frequency_s,
                    });
                    (
                        vm.to_string(),
                        Vm {
                            power: v.power,
                            replication,
                        },
                    )
                })
                .collect();
            if let Some(mine) = self.hosts.get_mut(&**name) {
                mine.vms = vms;
            }
        }
    }
}

/// Where a world served by `ecxsim serve` answers, and as which of its servers to call.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorldLink {
    url: String,
    user: String,
    password: String,
    local: String,
    credential: Option<Cred>,
    #[serde(default)]
    paths: BTreeMap<String, (String, String)>,
}

/// The cmdlet run on the served world's Hyper-V.
fn forward(link: &WorldLink, host: &str, cmd: &HvCmd) -> Result<OpResult, String> {
    use base64::Engine;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", link.user, link.password));
    let body = serde_json::json!({ "caller": link.local, "host": host, "cmd": cmd });
    let mut response = agent
        .post(&link.url)
        .header("Authorization", &format!("Basic {token}"))
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
        .map_err(|e| format!("the served world does not answer: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("the served world's answer: {e}"))?;
    if status != 200 {
        return Err(format!("the served world answered {status}: {text}"));
    }
    let answer: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("the served world's answer: {e}"))?;
    serde_json::from_value(answer["outcome"].clone())
        .map_err(|e| format!("the served world's answer: {e}"))
}

/// What PowerShell prints for a cmdlet's result: JSON, or the error message.
fn rendered(result: OpResult, cmd: &HvCmd, host: String) -> Result<String, String> {
    match result {
        Ok(OpOutput::Unit) => Ok(String::new()),
        Ok(OpOutput::Vm(Some(v))) => Ok(vm_json(&v).to_string()),
        Ok(OpOutput::Vm(None)) => Err(error_text(&BackendError::VmNotFound {
            vm: cmd.vm().unwrap_or_default().to_string(),
            host,
        })),
        Ok(OpOutput::Replication(Some(r))) => Ok(replication_json(&r).to_string()),
        Ok(OpOutput::Replication(None)) => Err(format!(
            "Replication is not enabled for virtual machine '{}'.",
            cmd.vm().unwrap_or_default()
        )),
        Ok(OpOutput::Replications(list)) => {
            Ok(serde_json::Value::Array(list.iter().map(replication_json).collect()).to_string())
        }
        Ok(_) => Err("stand-in: unexpected answer".into()),
        Err(e) => Err(error_text(&e)),
    }
}

/// A remote host refuses a credential other than the one it accepts.
fn access_check(host: &str, given: &Option<Cred>, accepted: &Option<Cred>) -> Result<(), String> {
    if given != accepted {
        return Err(format!(
            "Connecting to remote server {host} failed with the following error message : \
             Access is denied."
        ));
    }
    Ok(())
}

/// Words and single-quoted literals of the script (enough for the scripts the backend writes).
fn tokens(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = script.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut lit = String::from("'");
            while let Some(c) = chars.next() {
                if c == '\'' {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                        lit.push('\'');
                    } else {
                        break;
                    }
                } else {
                    lit.push(c);
                }
            }
            out.push(lit);
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '\'' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push(word.trim_start_matches("@(").to_string());
        }
    }
    out
}

/// The literal after `-<name>`, if any.
fn param(words: &[String], name: &str) -> Option<String> {
    let i = words.iter().position(|w| w.eq_ignore_ascii_case(name))?;
    words.get(i + 1)?.strip_prefix('\'').map(str::to_string)
}

/// The bare word after `-<name>`, if any.
fn bare<'w>(words: &'w [String], name: &str) -> Option<&'w str> {
    let i = words.iter().position(|w| w.eq_ignore_ascii_case(name))?;
    words.get(i + 1).map(String::as_str)
}

fn switch(words: &[String], name: &str) -> bool {
    words.iter().any(|w| w.eq_ignore_ascii_case(name))
}

const CMDLETS: &[&str] = &[
    "Get-VM",
    "Start-VM",
    "Stop-VM",
    "Import-VM",
    "Get-VMReplication",
    "Remove-VMReplication",
    "Enable-VMReplication",
    "Start-VMInitialReplication",
    "Start-VMFailover",
    "Complete-VMFailover",
    "Set-VMReplication",
    "Resume-VMReplication",
];

/// The cmdlet of the script as the simulator's command.
fn command(words: &[String], paths: &BTreeMap<String, (String, String)>) -> Result<HvCmd, String> {
    let at = words
        .iter()
        .position(|w| CMDLETS.contains(&w.as_str()))
        .ok_or("no Hyper-V cmdlet in the script")?;
    let cmdlet = words[at].as_str();
    // The cmdlet's own parameters: up to the end of its pipeline element.
    let end = words[at + 1..]
        .iter()
        .position(|w| w == "|" || w.starts_with('}') || w.ends_with(';') || w.ends_with(')'))
        .map_or(words.len(), |i| at + 1 + i);
    let p = &words[at + 1..end];
    let vm = || {
        param(p, "-VMName")
            .or_else(|| param(p, "-Name"))
            .map(Name::from)
            .ok_or(format!("{cmdlet} without -VMName"))
    };
    Ok(match cmdlet {
        "Get-VM" => HvCmd::GetVm { vm: vm()? },
        "Start-VM" => HvCmd::StartVm { vm: vm()? },
        "Stop-VM" => {
            if !switch(p, "-Force") || !switch(p, "-Confirm:$false") {
                return Err("Stop-VM would prompt".into());
            }
            HvCmd::StopVm { vm: vm()? }
        }
        "Import-VM" => {
            let path = param(p, "-Path").ok_or("Import-VM without -Path")?;
            let vm = paths.get(&path).map(|(_, v)| v.clone()).unwrap_or_default();
            HvCmd::ImportVm {
                vm: vm.into(),
                path: path.into(),
            }
        }
        "Get-VMReplication" => match vm() {
            Ok(vm) => HvCmd::GetReplication { vm },
            Err(_) => HvCmd::ListReplication,
        },
        "Remove-VMReplication" => HvCmd::RemoveReplication { vm: vm()? },
        "Enable-VMReplication" if switch(p, "-AsReplica") => HvCmd::EnableAsReplica { vm: vm()? },
        "Enable-VMReplication" => {
            if bare(p, "-ReplicaServerPort") != Some("80")
                || bare(p, "-AuthenticationType") != Some("Kerberos")
            {
                return Err("Enable-VMReplication without port 80 and Kerberos".into());
            }
            let frequency_s = match bare(p, "-ReplicationFrequencySec") {
                None => None,
                Some(f) => Some(f.parse().map_err(|_| "a bad -ReplicationFrequencySec")?),
            };
            HvCmd::EnableReplication {
                vm: vm()?,
                replica: param(p, "-ReplicaServerName")
                    .ok_or("no -ReplicaServerName")?
                    .into(),
                frequency_s,
            }
        }
        "Start-VMInitialReplication" => HvCmd::StartInitialReplication { vm: vm()? },
        "Start-VMFailover" => HvCmd::StartFailover {
            vm: vm()?,
            prepare: switch(p, "-Prepare"),
        },
        "Complete-VMFailover" => HvCmd::CompleteFailover { vm: vm()? },
        "Set-VMReplication" if switch(p, "-Reverse") => HvCmd::Reverse {
            vm: vm()?,
            replica: param(p, "-ReplicaServerName")
                .ok_or("no -ReplicaServerName")?
                .into(),
        },
        "Set-VMReplication" if switch(p, "-AsReplica") => HvCmd::SetAsReplica { vm: vm()? },
        "Resume-VMReplication" => HvCmd::Resume {
            vm: vm()?,
            resynchronize: switch(p, "-Resynchronize"),
        },
        other => return Err(format!("unsupported use of {other}")),
    })
}

/// What PowerShell would print for a failed cmdlet.
fn error_text(e: &BackendError) -> String {
    match e {
        BackendError::Unreachable { target } => format!(
            "Connecting to remote server {target} failed with the following error message : \
             WinRM cannot complete the operation. Verify that the specified computer name is valid."
        ),
        BackendError::ConfigurationNotAccessible { vm } => format!(
            "Operation not allowed for virtual machine '{vm}' because the configuration was not \
             accessible. Try again later.\nHyper-V failed to remove replication for '{vm}': \
             Operation aborted (0x80004004)."
        ),
        BackendError::VmNotFound { vm, .. } => {
            format!("Hyper-V was unable to find a virtual machine with name \"{vm}\".")
        }
        other => other.to_string(),
    }
}

fn vm_json(v: &ecxsim::backend::VmInfo) -> serde_json::Value {
    serde_json::json!({"Name": v.name, "State": v.state.to_string(), "Status": v.status})
}

fn replication_json(r: &ecxsim::backend::VmReplication) -> serde_json::Value {
    serde_json::json!({
        "VMName": r.vm_name,
        "Mode": r.mode.to_string(),
        "State": r.state.to_string(),
        "Health": r.health.to_string(),
        "PrimaryServer": r.primary_server,
        "ReplicaServer": r.replica_server,
    })
}

/// One exclusive load-apply-save of the state (concurrent shells queue on a lock file).
fn with_state<T>(path: &Path, f: impl FnOnce(&mut State) -> T) -> Result<T, String> {
    let lock = PathBuf::from(format!("{}.lock", path.display()));
    let mut waited = 0;
    while std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock)
        .is_err()
    {
        std::thread::sleep(Duration::from_millis(5));
        waited += 1;
        if waited > 2000 {
            return Err("the stand-in's state stayed locked".into());
        }
    }
    let result = (|| {
        let text = std::fs::read_to_string(path).map_err(|e| format!("state: {e}"))?;
        let mut state: State = serde_json::from_str(&text).map_err(|e| format!("state: {e}"))?;
        let out = f(&mut state);
        let text = serde_json::to_string_pretty(&state).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("state: {e}"))?;
        Ok(out)
    })();
    let _ = std::fs::remove_file(&lock);
    result
}

/// One cmdlet on the served world: `Ok(Err(message))` is a failed cmdlet, `Err` a broken
/// stand-in setup.
fn served(
    link: &Path,
    words: &[String],
    remote: Option<String>,
    given: &Option<Cred>,
) -> Result<Result<String, String>, String> {
    let text = std::fs::read_to_string(link).map_err(|e| format!("world link: {e}"))?;
    let link: WorldLink = serde_json::from_str(&text).map_err(|e| format!("world link: {e}"))?;
    let host = remote.clone().unwrap_or_else(|| link.local.clone());
    if remote.is_some() {
        if let Err(denied) = access_check(&host, given, &link.credential) {
            return Ok(Err(denied));
        }
    }
    let cmd = match command(words, &link.paths) {
        Ok(cmd) => cmd,
        Err(e) => return Ok(Err(e)),
    };
    let result = forward(&link, &host, &cmd)?;
    Ok(rendered(result, &cmd, host))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let script = match args.as_slice() {
        [a, b, c, script] if a == "-NoProfile" && b == "-NonInteractive" && c == "-Command" => {
            script.clone()
        }
        _ => {
            eprintln!("stand-in: unexpected command line (expected -NoProfile -NonInteractive -Command <script>)");
            return ExitCode::from(64);
        }
    };
    let world = std::env::var_os("ECXSIM_STANDIN_WORLD");
    let state_path = std::env::var_os("ECXSIM_STANDIN_STATE");
    if world.is_none() && state_path.is_none() {
        eprintln!("stand-in: neither ECXSIM_STANDIN_STATE nor ECXSIM_STANDIN_WORLD is set");
        return ExitCode::from(64);
    }
    let words = tokens(&script);
    let wrapped = script.starts_with("$ErrorActionPreference = 'Stop';")
        && script.contains("catch { [Console]::Error.WriteLine($_.Exception.Message); exit 1 }");
    if !wrapped {
        eprintln!("stand-in: the script does not report errors on stderr");
        return ExitCode::from(64);
    }
    let remote = param(&words, "-ComputerName");
    let uses_credential = switch(&words, "-Credential");
    let mut given = None;
    if remote.is_some() && uses_credential {
        let stdin = std::io::stdin();
        let mut lines = stdin.lock().lines();
        let user = lines.next().and_then(Result::ok).unwrap_or_default();
        let password = lines.next().and_then(Result::ok).unwrap_or_default();
        given = Some(Cred { user, password });
    }
    let outcome = match (&world, &state_path) {
        (Some(link), _) => served(Path::new(link), &words, remote, &given),
        (None, Some(state_path)) => with_state(Path::new(state_path), |state| {
            state.scripts.push(script.clone());
            state.calls += 1;
            let host = remote.clone().unwrap_or_else(|| state.local.clone());
            if remote.is_some() {
                access_check(&host, &given, &state.credential)?;
            }
            let mut farm = state.farm();
            let cmd = command(&words, &farm.paths)?;
            let now = state.calls * 1_000_000;
            let mut rng = rand::rng();
            let (result, effect) = farm.apply(
                &state.local,
                &ecxsim::backend::Name::from(host.as_str()),
                &cmd,
                now,
                0.0,
                0,
                &mut rng,
            );
            if let Some(HvEffect::InitialReplicationStarted { vm, primary }) = effect {
                // The transfer completes before the next call.
                farm.finish_initial_replication(&primary, &vm);
            }
            state.store(&farm);
            rendered(result, &cmd, host)
        }),
        (None, None) => unreachable!("checked above"),
    };
    match outcome {
        Ok(Ok(out)) => {
            let mut stdout = std::io::stdout();
            let _ = writeln!(stdout, "{out}");
            ExitCode::SUCCESS
        }
        Ok(Err(message)) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
        Err(message) => {
            eprintln!("stand-in: {message}");
            ExitCode::from(64)
        }
    }
}
