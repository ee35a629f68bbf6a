//! The production configuration file (TOML), read with the scenario reader's helpers so
//! every problem is reported as `file:line:column: `key`: what was expected`.
//!
//! One file serves the agents of both worker clusters and the master: `[[cluster]]`, `[[vm]]`,
//! `[ecx]`, `[powershell]`, `[lease]` are shared; `[agent]` names the cluster a copy of the
//! file is installed on, `[master]` configures the master.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml_edit::{ImDocument, TableLike};

use super::http_ecx::EcxApiConfig;
use super::tls::{CaFile, CertificateTrust};
use crate::control::{ControlVariant, CoordinationConfig};
use crate::scenario::reader::{TableReader, WithSpan};
use crate::scenario::{control_variant, ScenarioError, Source, CONTROL_NAMES};

type Result<T> = std::result::Result<T, ScenarioError>;

/// The lease service's default port (next to ECX's own 29001-29010).
pub const DEFAULT_LEASE_PORT: u16 = 29100;

#[derive(Debug, Clone)]
pub struct ClusterEntry {
    pub name: String,
    pub group: String,
    /// The FIP first, then each server: tried in this order.
    pub addresses: Vec<String>,
    /// What the VMs' DNS records point at while they run on this cluster.
    pub dns_address: String,
}

#[derive(Debug, Clone)]
pub struct VmEntry {
    pub name: String,
    /// Indices into `clusters`.
    pub home: usize,
    pub replica: usize,
    /// The VM's `.vmcx` on the home cluster's shared disk, and on the replica's.
    pub home_vmcx: String,
    pub replica_vmcx: String,
    /// `-ReplicationFrequencySec` the coordinated logic re-enables replication with (30, 300
    /// or 900; Hyper-V's 300 by default).
    pub replication_frequency_s: u32,
}

#[derive(Debug, Clone)]
pub struct PowerShellSection {
    pub executable: PathBuf,
    pub timeout: Duration,
    /// Overrides `COMPUTERNAME`.
    pub local_host: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LeaseSection {
    /// `http://<master FIP>:<port>`.
    pub url: String,
    pub timeout: Duration,
    /// For an `https://` URL: which certificates are accepted.
    pub trust: CertificateTrust,
}

#[derive(Debug, Clone)]
pub struct AgentSection {
    /// The cluster this copy of the file is installed on (index into `clusters`).
    pub cluster: usize,
}

#[derive(Debug, Clone)]
pub struct MasterSection {
    pub poll_interval: Duration,
    pub failure_threshold: u32,
    /// Where the lease service listens (loopback unless configured).
    pub bind: SocketAddr,
    /// The lease service's state, on the master group's shared disk.
    pub state_file: Option<PathBuf>,
    pub dns_command: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub control: ControlVariant,
    pub credentials: PathBuf,
    pub ecx: EcxApiConfig,
    pub powershell: PowerShellSection,
    pub lease: LeaseSection,
    /// `clplogcmd`, or `None` to log to stderr only.
    pub alert_command: Option<PathBuf>,
    pub clusters: Vec<ClusterEntry>,
    pub vms: Vec<VmEntry>,
    pub agent: Option<AgentSection>,
    pub master: Option<MasterSection>,
}

/// A problem with a file as a whole (unreadable, not UTF-8).
pub fn file_error(file: &Path, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        file: file.to_path_buf(),
        position: None,
        key: String::new(),
        message: message.into(),
    }
}

pub fn load(path: &Path) -> Result<Config> {
    let bytes = std::fs::read(path)
        .map_err(|e| file_error(path, format!("cannot read the configuration file: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| file_error(path, "the configuration file is not UTF-8 text"))?;
    parse(path, text)
}

fn duration(t: &mut TableReader, key: &'static str, default: Duration) -> Result<Duration> {
    Ok(t.duration(key)?
        .map(|(d, _)| Duration::from_micros(d))
        .unwrap_or(default))
}

/// Relative paths are relative to the configuration file's folder.
fn resolve(base: &Path, text: &str) -> PathBuf {
    let p = PathBuf::from(text);
    if p.is_absolute() || text.contains(":\\") || text.starts_with("\\\\") {
        p
    } else {
        base.join(p)
    }
}

fn cluster_index(
    t: &TableReader,
    clusters: &[ClusterEntry],
    key: &str,
    (name, span): &WithSpan<String>,
) -> Result<usize> {
    clusters
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let known: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
            t.error(
                span.clone(),
                key,
                format!(
                    "unknown cluster {name:?}; expected one of the [[cluster]] names: {}",
                    known.join(", ")
                ),
            )
        })
}

pub fn parse(path: &Path, text: String) -> Result<Config> {
    let src = Source::new(path, text);
    let doc = ImDocument::parse(src.text.as_str()).map_err(|e| {
        let message = e.message().trim().replace('\n', "; ");
        src.error(e.span(), "", format!("invalid TOML: {message}"))
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut top = TableReader::new(&src, "", doc.as_table() as &dyn TableLike, Some(0..0));

    let control = match top.string("control")? {
        None => ControlVariant::Coordinated(CoordinationConfig::default()),
        Some((name, span)) => control_variant(&name).ok_or_else(|| {
            top.error(
                span,
                "control",
                format!("unknown control {name:?}; expected one of {CONTROL_NAMES}"),
            )
        })?,
    };
    let (credentials, _) = top.required(
        "credentials",
        "the credentials file's path",
        TableReader::name,
    )?;
    let credentials = resolve(&base, &credentials);

    let control = match (control, top.table("coordination")?) {
        (ControlVariant::Coordinated(mut c), Some(mut t)) => {
            read_coordination(&mut t, &mut c)?;
            t.finish()?;
            ControlVariant::Coordinated(c)
        }
        (other, _) => other,
    };

    let mut ecx = EcxApiConfig::default();
    if let Some(mut t) = top.table("ecx")? {
        if let Some((scheme, span)) = t.string("scheme")? {
            ecx.https = match scheme.as_str() {
                "http" => false,
                "https" => true,
                _ => return Err(t.error(span, "scheme", "expected \"http\" or \"https\"")),
            };
        }
        ecx.trust = certificate_trust(&mut t, &base, ecx.https, "scheme = \"https\"")?;
        if let Some(port) = t.integer("port", 1, 65535)? {
            ecx.port = port as u16;
        }
        ecx.connect_timeout = duration(&mut t, "connect_timeout", ecx.connect_timeout)?;
        ecx.read_timeout = duration(&mut t, "read_timeout", ecx.read_timeout)?;
        t.finish()?;
    }

    let mut powershell = PowerShellSection {
        executable: PathBuf::from("powershell.exe"),
        timeout: Duration::from_secs(600),
        local_host: None,
    };
    if let Some(mut t) = top.table("powershell")? {
        if let Some((exe, _)) = t.name("executable")? {
            powershell.executable = PathBuf::from(exe);
        }
        powershell.timeout = duration(&mut t, "timeout", powershell.timeout)?;
        powershell.local_host = t.name("local_host")?.map(|(n, _)| n);
        t.finish()?;
    }

    let mut lease_table = top.table("lease")?.ok_or_else(|| {
        src.error(
            Some(0..0),
            "lease",
            "missing the [lease] section (url of the master's lease service)",
        )
    })?;
    let (url, span) = lease_table.required("url", "the lease service's URL", TableReader::name)?;
    if !url.starts_with("http://") && !url.starts_with("https://") {
        return Err(lease_table.error(span, "url", "expected an http:// or https:// URL"));
    }
    let https = url.starts_with("https://");
    let trust = certificate_trust(&mut lease_table, &base, https, "an https:// url")?;
    let lease = LeaseSection {
        url,
        timeout: duration(&mut lease_table, "timeout", Duration::from_secs(10))?,
        trust,
    };
    lease_table.finish()?;

    let mut alert_command = Some(PathBuf::from("clplogcmd"));
    if let Some(mut t) = top.table("alert")? {
        if let Some(enabled) = t.boolean("enabled")? {
            if !enabled {
                alert_command = None;
            }
        }
        if let Some((cmd, _)) = t.name("command")? {
            alert_command = alert_command.map(|_| PathBuf::from(cmd));
        }
        t.finish()?;
    }

    let mut clusters: Vec<ClusterEntry> = Vec::new();
    for mut t in top.array_of_tables("cluster")? {
        let (name, span) = t.required("name", "the cluster's name", TableReader::name)?;
        if clusters.iter().any(|c| c.name.eq_ignore_ascii_case(&name)) {
            return Err(t.error(span, "name", format!("duplicate cluster name {name:?}")));
        }
        t.set_path(format!("cluster.{name}"));
        let (group, _) = t.required("group", "the failover group's name", TableReader::name)?;
        let addresses: Vec<String> = t
            .required(
                "addresses",
                "the FIP, then each server's address",
                TableReader::name_list,
            )?
            .into_iter()
            .map(|(a, _)| a)
            .collect();
        let dns_address = t
            .name("dns_address")?
            .map(|(a, _)| a)
            .unwrap_or_else(|| addresses[0].clone());
        t.finish()?;
        clusters.push(ClusterEntry {
            name,
            group,
            addresses,
            dns_address,
        });
    }
    if clusters.len() < 2 {
        return Err(src.error(
            Some(0..0),
            "cluster",
            format!(
                "expected at least two [[cluster]] sections, found {}",
                clusters.len()
            ),
        ));
    }

    let mut vms: Vec<VmEntry> = Vec::new();
    for mut t in top.array_of_tables("vm")? {
        let (name, span) = t.required("name", "the VM's name", TableReader::name)?;
        if vms.iter().any(|v| v.name.eq_ignore_ascii_case(&name)) {
            return Err(t.error(span, "name", format!("duplicate VM name {name:?}")));
        }
        t.set_path(format!("vm.{name}"));
        let home_name = t.required("home", "the cluster holding the primary", TableReader::name)?;
        let home = cluster_index(&t, &clusters, "home", &home_name)?;
        let replica_name = t.required(
            "replica",
            "the cluster holding the replica",
            TableReader::name,
        )?;
        let replica = cluster_index(&t, &clusters, "replica", &replica_name)?;
        if home == replica {
            return Err(t.error(
                replica_name.1,
                "replica",
                "the replica cluster must differ from the home cluster",
            ));
        }
        let (home_vmcx, _) = t.required(
            "home_vmcx",
            "the .vmcx path on the home cluster's disk",
            TableReader::name,
        )?;
        let (replica_vmcx, _) = t.required(
            "replica_vmcx",
            "the .vmcx path on the replica cluster's disk",
            TableReader::name,
        )?;
        let replication_frequency_s = match t.duration("replication_frequency")? {
            None => 300,
            Some((d, span)) => match d / crate::time::MICROS_PER_SECOND {
                f @ (30 | 300 | 900) if d % crate::time::MICROS_PER_SECOND == 0 => f as u32,
                _ => {
                    return Err(t.error(
                        span,
                        "replication_frequency",
                        "Hyper-V replicates every \"30s\", \"5m\" or \"15m\"",
                    ))
                }
            },
        };
        t.finish()?;
        vms.push(VmEntry {
            name,
            home,
            replica,
            home_vmcx,
            replica_vmcx,
            replication_frequency_s,
        });
    }
    if vms.is_empty() {
        return Err(src.error(Some(0..0), "vm", "expected at least one [[vm]] section"));
    }

    let agent = match top.table("agent")? {
        None => None,
        Some(mut t) => {
            let name = t.required(
                "cluster",
                "the cluster this file is installed on",
                TableReader::name,
            )?;
            let cluster = cluster_index(&t, &clusters, "cluster", &name)?;
            t.finish()?;
            Some(AgentSection { cluster })
        }
    };

    let master = match top.table("master")? {
        None => None,
        Some(mut t) => {
            let poll_interval = duration(&mut t, "poll_interval", Duration::from_secs(10))?;
            if poll_interval < Duration::from_secs(1) {
                return Err(t.error(t.span(), "poll_interval", "expected at least 1s"));
            }
            let failure_threshold = t.integer("failure_threshold", 1, 1000)?.unwrap_or(3) as u32;
            let bind = match t.string("lease_bind")? {
                None => SocketAddr::new(crate::http_server::LOOPBACK, DEFAULT_LEASE_PORT),
                Some((text, span)) => text.parse().map_err(|_| {
                    t.error(span, "lease_bind", format!("expected an address and port such as \"0.0.0.0:{DEFAULT_LEASE_PORT}\", found {text:?}"))
                })?,
            };
            let state_file = t.name("state_file")?.map(|(p, _)| resolve(&base, &p));
            let dns_command = argv(&mut t, "dns_command")?;
            t.finish()?;
            Some(MasterSection {
                poll_interval,
                failure_threshold,
                bind,
                state_file,
                dns_command,
            })
        }
    };
    top.finish()?;
    Ok(Config {
        file: path.to_path_buf(),
        control,
        credentials,
        ecx,
        powershell,
        lease,
        alert_command,
        clusters,
        vms,
        agent,
        master,
    })
}

/// `skip_certificate_check` and `ca_file` of a section whose client may speak HTTPS (`https`:
/// it does, as `needs` says). Either setting without HTTPS is refused rather than ignored:
/// whoever wrote it expects the traffic to be encrypted.
fn certificate_trust(
    t: &mut TableReader,
    base: &Path,
    https: bool,
    needs: &str,
) -> Result<CertificateTrust> {
    let skip = t.item("skip_certificate_check").map(|(_, span)| span);
    let skip_certificate_check = t.boolean("skip_certificate_check")?.unwrap_or(false);
    let ca = match t.name("ca_file")? {
        None => None,
        Some((text, span)) => {
            if skip_certificate_check {
                return Err(t.error(
                    span,
                    "ca_file",
                    "expected either ca_file or skip_certificate_check = true, not both",
                ));
            }
            if !https {
                return Err(t.error(span, "ca_file", format!("only used with {needs}")));
            }
            let ca = CaFile::load(&resolve(base, &text)).map_err(|e| {
                t.error(
                    span,
                    "ca_file",
                    format!("expected a PEM file of CA certificates: {e}"),
                )
            })?;
            Some(ca)
        }
    };
    if skip_certificate_check && !https {
        return Err(t.error(
            skip.flatten(),
            "skip_certificate_check",
            format!("only used with {needs}"),
        ));
    }
    Ok(CertificateTrust {
        skip_certificate_check,
        ca,
    })
}

/// A program and its arguments: a non-empty array of strings (repeats allowed).
fn argv(t: &mut TableReader, key: &'static str) -> Result<Option<Vec<String>>> {
    let Some((item, span)) = t.item(key) else {
        return Ok(None);
    };
    let expected = "an array of strings: the program, then its arguments";
    let array = item
        .as_array()
        .ok_or_else(|| t.error(span.clone(), key, format!("expected {expected}")))?;
    let words: Option<Vec<String>> = array
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect();
    match words {
        Some(words) if !words.is_empty() && !words[0].trim().is_empty() => Ok(Some(words)),
        _ => Err(t.error(span, key, format!("expected {expected}"))),
    }
}

fn read_coordination(t: &mut TableReader, c: &mut CoordinationConfig) -> Result<()> {
    let micros = |d: Duration| d.as_micros() as u64;
    let get = |t: &mut TableReader, key: &'static str, value: &mut u64| -> Result<()> {
        if let Some((d, _)) = t.duration(key)? {
            *value = d;
        }
        Ok(())
    };
    get(t, "lease_ttl", &mut c.lease_ttl)?;
    get(t, "lease_wait", &mut c.lease_wait)?;
    get(t, "peer_poll", &mut c.peer_poll)?;
    get(t, "peer_wait", &mut c.peer_wait)?;
    get(t, "retry_pause", &mut c.retry_pause)?;
    get(t, "deadline", &mut c.deadline)?;
    if let Some(n) = t.integer("attempts", 1, 100)? {
        c.attempts = n as u32;
    }
    if let Some(n) = t.integer("remove_retries", 0, 100)? {
        c.remove_retries = n as u32;
    }
    if c.peer_poll < micros(Duration::from_secs(1)) {
        return Err(t.error(t.span(), "peer_poll", "expected at least 1s"));
    }
    if c.deadline < micros(Duration::from_secs(60)) {
        let expected = "expected at least 1m, and less than the script resource's start timeout";
        return Err(t.error(t.span(), "deadline", expected));
    }
    Ok(())
}
