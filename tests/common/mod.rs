//! Helpers of the command-line tests: the binary run from the repository's root, its output,
//! and a folder's files.

// Each test file uses the helpers it needs; the others would be reported unused.
#![allow(dead_code)]

pub mod tls;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `ecxsim ARGS`, run from the repository's root (scenario paths relative to it).
pub fn ecxsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

/// Runs ecxsim, which must succeed; its standard output.
pub fn succeeds(args: &[&str]) -> String {
    let out = ecxsim(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file of a folder with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// A loopback port nothing listens on, for a server a test starts later (often in another
/// process). It is taken below the kernel's ephemeral range, so a socket bound to port 0 in
/// the meantime (a stub server, a client connection) can never be handed the same port; the
/// process id and a counter spread concurrent tests and test binaries over the range.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000; // up to 31,999: below 32,768, Linux's default ephemeral start
    let base = std::process::id().wrapping_mul(7919);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (FIRST + base.wrapping_add(n.wrapping_mul(97)) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A file only its owner may read (mode 600), as ecxsim requires of a credentials file.
#[cfg(unix)]
pub fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A shell script others may run (mode 755).
#[cfg(unix)]
pub fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The WinRM account of the production tests' credentials.
pub const WINRM_USER: &str = "CORP\\ecx";
/// The lease service's account of the production tests' credentials.
pub const LEASE_USER: &str = "ecxsim";

/// A production deployment's files in `dir`, as `ecxsim agent` and `ecxsim master` read them:
/// the credentials file, the PowerShell executable (the stand-in) and `ecxsim.toml`, whose
/// two worker clusters are cluster1 and cluster2, with vm1 at home on cluster1.
#[cfg(unix)]
pub struct Deployment<'a> {
    pub dir: &'a Path,
    /// The ECX REST API's user and password.
    pub ecx: (&'a str, &'a str),
    pub winrm_password: &'a str,
    pub lease_password: &'a str,
    /// The stand-in's environment variable and the file it names: `ECXSIM_STANDIN_STATE` (a
    /// farm in a file) or `ECXSIM_STANDIN_WORLD` (a link to a served world).
    pub standin: (&'a str, &'a Path),
    /// Where the agents find the lease service.
    pub lease_port: u16,
    /// Each worker cluster's failover group and REST address.
    pub groups: [&'a str; 2],
    pub addresses: [&'a str; 2],
    /// vm1's `.vmcx` on cluster1's disk, and on cluster2's.
    pub vmcx: [&'a str; 2],
    /// More of the configuration: tables, appended.
    pub sections: &'a str,
}

#[cfg(unix)]
impl Deployment<'_> {
    /// Writes the three files; the configuration's path.
    pub fn write(&self) -> PathBuf {
        let (ecx_user, ecx_password) = self.ecx;
        write_private(
            &self.dir.join("credentials.toml"),
            &format!(
                "[ecx]\nuser = \"{ecx_user}\"\npassword = \"{ecx_password}\"\n\
                 [winrm]\nuser = '{WINRM_USER}'\npassword = \"{}\"\n\
                 [lease]\nuser = \"{LEASE_USER}\"\npassword = \"{}\"\n",
                self.winrm_password, self.lease_password
            ),
        );
        let shell = self.dir.join("powershell");
        let (variable, file) = self.standin;
        write_executable(
            &shell,
            &format!(
                "#!/bin/sh\n{variable}='{}' exec '{}' \"$@\"\n",
                file.display(),
                env!("CARGO_BIN_EXE_ecxsim-pwsh-standin")
            ),
        );
        let config = self.dir.join("ecxsim.toml");
        std::fs::write(
            &config,
            format!(
                r#"control = "coordinated"
credentials = "credentials.toml"

[ecx]
connect_timeout = "1s"
read_timeout = "2s"

[powershell]
executable = "{shell}"
timeout = "20s"

[lease]
url = "http://127.0.0.1:{lease_port}"
timeout = "1s"

[[cluster]]
name = "cluster1"
group = "{g1}"
addresses = ["{a1}"]

[[cluster]]
name = "cluster2"
group = "{g2}"
addresses = ["{a2}"]

[[vm]]
name = "vm1"
home = "cluster1"
replica = "cluster2"
home_vmcx = '{v1}'
replica_vmcx = '{v2}'
{sections}"#,
                shell = shell.display(),
                lease_port = self.lease_port,
                g1 = self.groups[0],
                g2 = self.groups[1],
                a1 = self.addresses[0],
                a2 = self.addresses[1],
                v1 = self.vmcx[0],
                v2 = self.vmcx[1],
                sections = self.sections,
            ),
        )
        .unwrap();
        config
    }
}
