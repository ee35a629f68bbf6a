//! The PowerShell `HyperV` backend against the stand-in shell, which answers from the
//! simulated Hyper-V farm: the command lines, the credential hand-over and the parsing are
//! what is tested (real PowerShell is not available on the build machines).
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use ecxsim::backend::{BackendError, HyperV, PowerState, ReplicationMode, ReplicationState};
use ecxsim::control::coordinated::{self, CoordinationConfig};
use ecxsim::production::credentials::Credential;
use ecxsim::production::powershell::{PowerShell, PowerShellConfig};

const PASSWORD: &str = "Winrm-pa55";

/// c1s1 (local, cluster c1, disk) runs vm1 replicating to c2s1 (cluster c2, disk); c1s2
/// (cluster c1) has no disk; c2s2 is down.
fn farm() -> Value {
    let rel = |mode: &str| {
        json!({"mode": mode, "state": "Replicating", "health": "Normal",
               "primary": "c1s1", "replica": "c2s1"})
    };
    json!({
        "local": "c1s1",
        "credential": {"user": "CORP\\ecx", "password": PASSWORD},
        "hosts": {
            "c1s1": {"cluster": "c1", "up": true, "connected": true, "disk": true,
                     "vms": {"vm1": {"power": "Running", "replication": rel("Primary")}}},
            "c1s2": {"cluster": "c1", "up": true, "connected": true, "disk": false, "vms": {}},
            "c2s1": {"cluster": "c2", "up": true, "connected": true, "disk": true,
                     "vms": {"vm1": {"power": "Off", "replication": rel("Replica")}}},
            "c2s2": {"cluster": "c2", "up": false, "connected": true, "disk": false, "vms": {}}
        },
        "paths": {
            "T:\\VMs\\vm1.vmcx": ["c1", "vm1"],
            "T:\\Replica\\vm1.vmcx": ["c2", "vm1"]
        }
    })
}

struct Shell {
    _dir: tempfile::TempDir,
    state: PathBuf,
    exe: PathBuf,
}

impl Shell {
    /// A wrapper that points the stand-in at this test's farm (the backend under test passes
    /// nothing but its command line and stdin).
    fn new(farm: Value) -> Shell {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("farm.json");
        std::fs::write(&state, farm.to_string()).unwrap();
        let exe = dir.path().join("powershell");
        let standin = env!("CARGO_BIN_EXE_ecxsim-pwsh-standin");
        std::fs::write(
            &exe,
            format!(
                "#!/bin/sh\nECXSIM_STANDIN_STATE='{}' exec '{standin}' \"$@\"\n",
                state.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        Shell {
            _dir: dir,
            state,
            exe,
        }
    }

    fn backend(&self, password: &str) -> PowerShell {
        PowerShell::new(
            PowerShellConfig {
                executable: self.exe.clone(),
                local_host: "c1s1.corp.example".into(),
                timeout: Duration::from_secs(20),
            },
            Some(Credential::new("CORP\\ecx", password)),
        )
    }

    fn farm(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.state).unwrap()).unwrap()
    }

    fn scripts(&self) -> Vec<String> {
        self.farm()["scripts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    }
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

#[test]
fn reads_vms_and_replication_locally_and_remotely() {
    let shell = Shell::new(farm());
    let ps = shell.backend(PASSWORD);
    let local = block(ps.get_vm("c1s1", "vm1")).unwrap().unwrap();
    assert_eq!(local.state, PowerState::Running);
    let remote = block(ps.get_vm("c2s1", "vm1")).unwrap().unwrap();
    assert_eq!(remote.state, PowerState::Off);
    assert_eq!(block(ps.get_vm("c1s2", "vm1")).unwrap(), None);
    let rel = block(ps.get_vm_replication("c2s1", "vm1"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (rel.mode, rel.state),
        (ReplicationMode::Replica, ReplicationState::Replicating)
    );
    // Hyper-V names the primary by its FQDN, the replica as replication was enabled with.
    assert_eq!(
        (&*rel.primary_server, &*rel.replica_server),
        ("c1s1.ecx.example", "c2s1")
    );
    assert_eq!(block(ps.list_vm_replication("c1s1")).unwrap().len(), 1);
    assert!(block(ps.list_vm_replication("c1s2")).unwrap().is_empty());
    assert!(matches!(
        block(ps.get_vm_replication("c1s2", "vm1")),
        Err(BackendError::VmNotFound { .. })
    ));
    // Local cmdlets run directly, remote ones through Invoke-Command with the credential,
    // and the password is on no command line.
    let scripts = shell.scripts();
    assert!(!scripts[0].contains("Invoke-Command"));
    assert!(scripts[1].contains("Invoke-Command -ComputerName 'c2s1' -Credential $c"));
    assert!(scripts.iter().all(|s| !s.contains(PASSWORD)));
}

#[test]
fn documented_failures_become_typed_errors() {
    let shell = Shell::new(farm());
    let ps = shell.backend(PASSWORD);
    let e = block(ps.get_vm("c2s2", "vm1")).unwrap_err();
    assert!(matches!(e, BackendError::Unreachable { .. }), "{e}");
    // c1s2 holds no disk: the configuration is not accessible there.
    let mut f = farm();
    f["hosts"]["c1s2"]["vms"]["vm1"] = json!({"power": "Off", "replication":
        {"mode": "Primary", "state": "Error", "health": "Critical", "primary": "c1s2", "replica": "c2s1"}});
    let shell = Shell::new(f);
    let ps = shell.backend(PASSWORD);
    assert_eq!(
        block(ps.remove_vm_replication("c1s2", "vm1")),
        Err(BackendError::ConfigurationNotAccessible { vm: "vm1".into() })
    );
    assert!(matches!(
        block(ps.enable_vm_replication_as_replica("c2s1", "vm1")),
        Err(BackendError::AlreadyReplicating { .. })
    ));
    assert!(matches!(
        block(ps.start_vm("c2s1", "vm1")),
        Err(BackendError::InvalidState { .. })
    ));
    assert!(matches!(
        block(ps.import_vm("c1s1", "vm1", "T:\\VMs\\vm1.vmcx")),
        Err(BackendError::VmAlreadyExists { .. })
    ));
    assert_eq!(block(ps.get_vm("", "vm1")), Err(BackendError::NoTarget));
}

#[test]
fn wrong_winrm_credentials_are_refused_without_showing_them() {
    let shell = Shell::new(farm());
    let e = block(shell.backend("wrong-password").get_vm("c2s1", "vm1")).unwrap_err();
    assert!(matches!(e, BackendError::Authentication { .. }), "{e}");
    assert!(!e.to_string().contains("wrong-password"));
}

/// The control logic's own re-pointing, run through PowerShell: the pair moves from
/// c1s1 → c2s1 to c1s1 → c2s2 (c2's group failed over to c2s2).
#[test]
fn the_coordinated_repointing_runs_through_powershell() {
    let mut f = farm();
    f["hosts"]["c2s1"]["disk"] = json!(false);
    f["hosts"]["c2s2"]["up"] = json!(true);
    f["hosts"]["c2s2"]["disk"] = json!(true);
    let shell = Shell::new(f);
    let b = TestBackend(shell.backend(PASSWORD));
    let cfg = CoordinationConfig {
        retry_pause: 1000,
        ..CoordinationConfig::default()
    };
    block(coordinated::repoint(
        &b,
        "vm1",
        ("c1s1", "T:\\VMs\\vm1.vmcx"),
        ("c2s2", "T:\\Replica\\vm1.vmcx"),
        30,
        &cfg,
    ))
    .unwrap();
    let p = block(b.0.get_vm_replication("c1s1", "vm1"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.state, &*p.replica_server),
        (ReplicationState::Replicating, "c2s2")
    );
    let r = block(b.0.get_vm_replication("c2s2", "vm1"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (r.mode, &*r.primary_server),
        (ReplicationMode::Replica, "c1s1.ecx.example")
    );
    assert!(shell.scripts().iter().any(|s| s.contains("Enable-VMReplication -VMName 'vm1' -ReplicaServerName 'c2s2' -ReplicaServerPort 80 -AuthenticationType Kerberos")));
}

#[test]
fn a_hanging_shell_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("hang");
    std::fs::write(&exe, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ps = PowerShell::new(
        PowerShellConfig {
            executable: exe,
            local_host: "c1s1".into(),
            timeout: Duration::from_millis(300),
        },
        None,
    );
    let e = block(ps.get_vm("c1s1", "vm1")).unwrap_err();
    assert!(matches!(e, BackendError::Timeout { .. }), "{e}");
    let missing = PowerShell::new(
        PowerShellConfig {
            executable: Path::new("/nonexistent/pwsh").into(),
            local_host: "c1s1".into(),
            timeout: Duration::from_secs(1),
        },
        None,
    );
    assert!(matches!(
        block(missing.get_vm("c1s1", "vm1")),
        Err(BackendError::Failed { .. })
    ));
}

/// HyperV through PowerShell, with a clock that does not wait and a silent alert log.
struct TestBackend(PowerShell);

impl ecxsim::backend::Clock for TestBackend {
    async fn sleep(&self, _duration: u64) {}

    /// Time stands still: no deadline ever passes.
    fn now(&self) -> u64 {
        0
    }
}

impl ecxsim::backend::AlertLog for TestBackend {
    fn log(&self, _level: ecxsim::backend::LogLevel, _message: &str) {}
}

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        impl HyperV for TestBackend {
            $(async fn $name(&self, $($arg: $ty),*) -> $out { self.0.$name($($arg),*).await })*
        }
    };
}

type R<T> = Result<T, BackendError>;
delegate! {
    get_vm(host: &str, vm: &str) -> R<Option<ecxsim::backend::VmInfo>>;
    start_vm(host: &str, vm: &str) -> R<()>;
    stop_vm(host: &str, vm: &str) -> R<()>;
    import_vm(host: &str, vm: &str, path: &str) -> R<()>;
    get_vm_replication(host: &str, vm: &str) -> R<Option<ecxsim::backend::VmReplication>>;
    list_vm_replication(host: &str) -> R<Vec<ecxsim::backend::VmReplication>>;
    remove_vm_replication(host: &str, vm: &str) -> R<()>;
    enable_vm_replication(host: &str, vm: &str, replica: &str, frequency_s: Option<u32>) -> R<()>;
    enable_vm_replication_as_replica(host: &str, vm: &str) -> R<()>;
    start_vm_initial_replication(host: &str, vm: &str) -> R<()>;
    start_vm_failover(host: &str, vm: &str, prepare: bool) -> R<()>;
    complete_vm_failover(host: &str, vm: &str) -> R<()>;
    reverse_vm_replication(host: &str, vm: &str, replica: &str) -> R<()>;
    set_vm_replication_as_replica(host: &str, vm: &str) -> R<()>;
    resume_vm_replication(host: &str, vm: &str, resynchronize: bool) -> R<()>;
}
