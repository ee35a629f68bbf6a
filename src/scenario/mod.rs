//! Scenario files: TOML in, a validated `Scenario` out, or a located `ScenarioError`.
//! The format is fixed; docs/scenario.md is the user reference.

mod cluster_set;
mod cluster_set_reader;
mod commitments;
mod dist_spec;
mod error;
mod file;
mod link_reader;
mod locate;
pub(crate) mod reader;
mod test_reader;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub use cluster_set::{
    Dns, FaultDomain, Interconnect, Link, Master, NpResolution, Operations, Vm, Witness,
};
pub use commitments::{Cost, Sla};
pub use dist_spec::DIST_NAMES;
use dist_spec::{read_dist, Zero};
pub use error::{ScenarioError, Source};
pub use file::MAX_FILE_BYTES;
pub use locate::error_at;
use reader::{Result, TableReader};
pub use test_reader::{control_variant, Backend, CONTROL_NAMES};
use toml_edit::{ImDocument, TableLike};

use crate::control::ControlVariant;
use crate::dist::Dist;
use crate::time::Micros;
use crate::world::{Expect, Inject};

/// The most servers one cluster may have (ECX supports far fewer; this bounds the exact model).
pub const MAX_SERVERS: usize = 32;

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub path: PathBuf,
    pub simulation: Simulation,
    pub clusters: Vec<Cluster>,
    pub services: Vec<Service>,
    /// `[witness]`: absent means no witness server.
    pub witness: Option<Witness>,
    /// `[master]`: absent means no cross-cluster failover (standalone clusters).
    pub master: Option<Master>,
    pub dns: Option<Dns>,
    /// `[[vm]]`: replicated VMs; each is also reported as a service of the same name.
    pub vms: Vec<Vm>,
    /// `[[link]]`: the replication links between clusters, at most one per pair.
    pub links: Vec<Link>,
    /// `[[fault_domain]]`: servers that fail together.
    pub fault_domains: Vec<FaultDomain>,
    /// `[operations]`: who repairs what the control logic leaves broken, and how fast.
    pub operations: Operations,
    /// `[simulation] control`: which replication re-pointing logic the script resources run.
    pub control: ControlVariant,
    pub backend: Backend,
    /// `[[inject]]`: scripted faults (regression tests).
    pub injects: Vec<Inject>,
    /// `[[expect]]`: assertions checked by `ecxsim test`.
    pub expects: Vec<Expect>,
    /// `[sla]`: the yearly downtime budget breaches are counted against.
    pub sla: Option<Sla>,
    /// `[cost]`: what downtime, lost writes and the infrastructure cost.
    pub cost: Option<Cost>,
}

impl Scenario {
    /// A regression test: it has expectations to check.
    pub fn is_test(&self) -> bool {
        !self.expects.is_empty()
    }

    /// The scenario with one more scripted fault.
    pub fn inject(mut self, at: Micros, fault: crate::world::Fault) -> Self {
        self.injects.push(Inject { at, fault });
        self
    }

    /// What the file means that a reader might not expect, each located at its element: not
    /// errors (the scenario runs), but said on stderr so that nothing changes silently.
    pub fn warnings(&self) -> Vec<ScenarioError> {
        let mut warnings = Vec::new();
        // A control-logic test drives its VMs without a master on purpose.
        if self.master.is_none() && !self.is_test() {
            for vm in &self.vms {
                warnings.push(error_at(
                    &self.path,
                    &format!("vm.{}.replica_cluster", vm.name),
                    format!(
                        "the scenario has no [master]: `run`, `compare` and `sweep` never fail \
                         the VM over to its replica cluster ({}), so it counts as a standalone \
                         cluster's group (add a [master] for cross-cluster failover)",
                        self.clusters[vm.replica_cluster].name
                    ),
                ));
            }
        }
        // A quick look at an example with a short horizon still runs; the yearly figures
        // have no sample.
        let observed = self
            .simulation
            .horizon
            .saturating_sub(self.simulation.warmup);
        if self.sla.is_some() && observed < crate::time::MICROS_PER_YEAR {
            warnings.push(error_at(
                &self.path,
                "sla",
                "an SLA is judged per whole year, and the horizon leaves less than a year after \
                 the warmup: the SLA figures are left empty (make the horizon at least \"1y\" \
                 longer than the warmup)"
                    .to_string(),
            ));
        }
        warnings
    }

    /// The scenario with one more expectation.
    pub fn expect(mut self, expect: Expect) -> Self {
        self.expects.push(expect);
        self
    }
}

#[derive(Debug, Clone)]
pub struct Simulation {
    pub horizon: Micros,
    pub replications: u64,
    pub seed: u64,
    pub warmup: Micros,
}

/// One ECX failover cluster with one failover group.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    /// Failover priority order, highest first.
    pub servers: Vec<String>,
    /// `None` (only allowed in test scenarios with `[[expect]]`): servers fail only when a
    /// fault is injected.
    pub server_ttf: Option<Dist>,
    pub server_ttr: Option<Dist>,
    /// `None`: every failed server is repaired at once.
    pub repair_crews: Option<usize>,
    pub heartbeat_timeout: Dist,
    pub group_start: Dist,
    pub group_stop: Dist,
    pub server_sync_wait: Dist,
    pub failback: bool,
    pub shared_disk: Option<SharedDisk>,
    /// The heartbeat LAN between the servers; absent: it never fails.
    pub interconnect: Option<Interconnect>,
    pub np_resolution: NpResolution,
    /// Time for a server to boot again after an emergency shutdown (NP resolution).
    pub server_reboot: Dist,
}

#[derive(Debug, Clone)]
pub struct SharedDisk {
    pub ttf: Dist,
    pub ttr: Dist,
}

/// What clients use; availability is measured per service.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    /// Index into `Scenario::clusters`.
    pub cluster: usize,
}

/// ECX's default server sync wait time, used when a cluster does not set one.
pub const DEFAULT_SERVER_SYNC_WAIT: &str = "5m";

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> std::result::Result<Scenario, ScenarioError> {
    let bytes = file::read_bounded(path)
        .map_err(|e| error::file_error(path, format!("cannot read the scenario file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let src = Source::new(path, String::from_utf8_lossy(e.as_bytes()).into_owned());
        src.error(
            Some(offset..offset),
            "",
            "the file is not UTF-8 text (expected a TOML scenario)",
        )
    })?;
    parse(path, text)
}

/// Validates scenario text; `path` names it in errors and anchors relative file references.
/// One `[[inject]]` section given as text (`ecxsim serve`'s inject endpoint), checked against
/// the scenario's clusters as the reader checks a file's; the message says what is wrong.
pub fn parse_inject(text: &str, clusters: &[Cluster]) -> std::result::Result<Inject, String> {
    let src = Source::new(Path::new("inject"), text.to_string());
    let doc = ImDocument::parse(src.text.as_str()).map_err(|e| e.message().trim().to_string())?;
    let mut top = TableReader::new(&src, "", doc.as_table() as &dyn TableLike, Some(0..0));
    let say = |e: ScenarioError| match e.key.strip_prefix("inject[0].") {
        Some(key) => format!("`{key}`: {}", e.message),
        None => e.message,
    };
    let mut injects = test_reader::read_injects(&mut top, clusters).map_err(say)?;
    top.finish().map_err(say)?;
    injects.pop().ok_or_else(|| "no fault given".to_string())
}

pub fn parse(path: &Path, text: String) -> std::result::Result<Scenario, ScenarioError> {
    let src = Source::new(path, text);
    let doc = ImDocument::parse(src.text.as_str()).map_err(|e| {
        let message = e.message().trim().replace('\n', "; ");
        src.error(e.span(), "", format!("invalid TOML: {message}"))
    })?;
    let root = doc.as_table();
    let mut top = TableReader::new(&src, "", root as &dyn TableLike, Some(0..0));
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let default_name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".to_string());

    let mut sim_table = top.table("simulation")?.ok_or_else(|| {
        src.error(
            Some(0..0),
            "simulation",
            "missing the [simulation] section (horizon, replications, seed)",
        )
    })?;
    let (name, simulation) = read_simulation(&mut sim_table, default_name)?;
    let control = read_control(&mut sim_table)?;
    sim_table.finish()?;

    // A regression test drives its servers with [[inject]]: failure models are optional there.
    let is_test = root.contains_key("expect");
    let witness = cluster_set_reader::read_witness(&mut top, &base)?;
    let mut clusters = Vec::new();
    let mut all_servers: HashSet<String> = HashSet::new();
    for mut table in top.array_of_tables("cluster")? {
        let cluster = read_cluster(
            &mut table,
            &base,
            &clusters,
            &mut all_servers,
            is_test,
            witness.is_some(),
        )?;
        table.finish()?;
        clusters.push(cluster);
    }
    if clusters.is_empty() {
        return Err(src.error(
            Some(0..0),
            "cluster",
            "expected at least one [[cluster]] section",
        ));
    }

    let mut services: Vec<Service> = Vec::new();
    for mut table in top.array_of_tables("service")? {
        let service = read_service(&mut table, &clusters, &services)?;
        table.finish()?;
        services.push(service);
    }
    let master = cluster_set_reader::read_master(&mut top, &base, &clusters)?;
    let dns = cluster_set_reader::read_dns(&mut top)?;
    let links = link_reader::read_links(&mut top, &clusters)?;
    let vms = cluster_set_reader::read_vms(
        &mut top,
        &base,
        &clusters,
        &services,
        master.as_ref(),
        &links,
    )?;
    if services.is_empty() && vms.is_empty() {
        return Err(src.error(
            Some(0..0),
            "service",
            "expected at least one [[service]] or [[vm]] section (what availability is measured for)",
        ));
    }
    let backend = test_reader::read_backend(&mut top, &base)?;
    let fault_domains = cluster_set_reader::read_fault_domains(&mut top, &base, &clusters)?;
    let operations = cluster_set_reader::read_operations(&mut top, &base)?;
    let injects = test_reader::read_injects(&mut top, &clusters)?;
    let mut names: Vec<String> = vms.iter().map(|v| v.name.clone()).collect();
    names.extend(services.iter().map(|s| s.name.clone()));
    let expects = test_reader::read_expects(&mut top, &clusters, &names)?;
    let sla = commitments::read_sla(&mut top)?;
    let cost = commitments::read_cost(&mut top)?;
    top.finish()?;

    Ok(Scenario {
        name,
        path: path.to_path_buf(),
        simulation,
        clusters,
        services,
        witness,
        master,
        dns,
        vms,
        links,
        fault_domains,
        operations,
        control,
        backend,
        injects,
        expects,
        sla,
        cost,
    })
}

fn read_control(t: &mut TableReader) -> Result<ControlVariant> {
    match t.string("control")? {
        None => Ok(ControlVariant::AsShipped),
        Some((name, span)) => control_variant(&name).ok_or_else(|| {
            t.error(
                span,
                "control",
                format!("unknown control {name:?}; expected one of: {CONTROL_NAMES}"),
            )
        }),
    }
}

/// Whether `name` is one folder name (no separators, no `.` or `..`, nothing unprintable).
fn is_folder_name(name: &str) -> bool {
    name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

fn read_simulation(t: &mut TableReader, default_name: String) -> Result<(String, Simulation)> {
    let name = match t.name("name")? {
        // The name is also the default output folder, results/<name>: it must stay there.
        Some((name, span)) if !is_folder_name(&name) => {
            return Err(t.error(
                span,
                "name",
                format!(
                    "{name:?} cannot name the output folder results/<name>: expected a name \
                     without / or \\, other than . and .., and without control characters"
                ),
            ))
        }
        Some((name, _)) => name,
        None => default_name,
    };
    let (horizon, horizon_span) = t.required("horizon", "a duration such as \"10y\"", |t, k| {
        t.duration(k)
    })?;
    if horizon == 0 {
        return Err(t.error(
            horizon_span,
            "horizon",
            "expected a horizon greater than zero",
        ));
    }
    let replications = t.required("replications", "a whole number of replications", |t, k| {
        t.integer(k, 1, 100_000_000)
    })? as u64;
    let seed = t.required("seed", "a whole number", |t, k| t.integer(k, 0, i64::MAX))? as u64;
    let warmup = match t.duration("warmup")? {
        None => 0,
        Some((w, span)) if w >= horizon => {
            return Err(t.error(span, "warmup", "expected a warmup shorter than the horizon"))
        }
        Some((w, _)) => w,
    };
    Ok((
        name,
        Simulation {
            horizon,
            replications,
            seed,
            warmup,
        },
    ))
}

fn read_cluster(
    t: &mut TableReader,
    base: &Path,
    earlier: &[Cluster],
    all_servers: &mut HashSet<String>,
    is_test: bool,
    has_witness: bool,
) -> Result<Cluster> {
    let (name, name_span) = t.required("name", "the cluster's name", |t, k| t.name(k))?;
    if earlier.iter().any(|c| c.name == name) {
        return Err(t.error(
            name_span,
            "name",
            format!("duplicate cluster name {name:?}"),
        ));
    }
    t.set_path(format!("cluster.{name}"));
    let servers = t.required(
        "servers",
        "a list of server names, highest priority first",
        |t, k| t.name_list(k),
    )?;
    if servers.len() > MAX_SERVERS {
        // Located at the first server too many.
        return Err(t.error(
            servers[MAX_SERVERS].1.clone(),
            "servers",
            format!(
                "at most {MAX_SERVERS} servers per cluster, found {}",
                servers.len()
            ),
        ));
    }
    for (server, span) in &servers {
        if !all_servers.insert(server.clone()) {
            return Err(t.error(span.clone(), "servers", format!("server {server:?} is already used (server names must be unique across the scenario)")));
        }
    }
    let dist = "a duration or a distribution";
    let (server_ttf, server_ttr) = if is_test {
        let ttf = read_dist(t, "server_ttf", Zero::Forbidden, base)?;
        let ttr = read_dist(t, "server_ttr", Zero::Forbidden, base)?;
        if ttf.is_some() && ttr.is_none() {
            return Err(t.error(
                t.span(),
                "server_ttr",
                "missing required key `server_ttr` (servers that fail need a repair time)",
            ));
        }
        (ttf, ttr)
    } else {
        let ttf = t.required("server_ttf", dist, |t, k| {
            read_dist(t, k, Zero::Forbidden, base)
        })?;
        let ttr = t.required("server_ttr", dist, |t, k| {
            read_dist(t, k, Zero::Forbidden, base)
        })?;
        (Some(ttf), Some(ttr))
    };
    let repair_crews = t.integer("repair_crews", 1, 1_000)?.map(|c| c as usize);
    let heartbeat_timeout = t.required("heartbeat_timeout", dist, |t, k| {
        read_dist(t, k, Zero::Allowed, base)
    })?;
    let group_start = t.required("group_start", dist, |t, k| {
        read_dist(t, k, Zero::Allowed, base)
    })?;
    let failback = t.boolean("failback")?.unwrap_or(false);
    let group_stop = match read_dist(t, "group_stop", Zero::Allowed, base)? {
        Some(d) => d,
        None if failback => {
            return Err(t.error(t.span(), "group_stop", "missing required key `group_stop` (failback = true stops the group before moving it back)"))
        }
        None => Dist::fixed(0),
    };
    let server_sync_wait =
        read_dist(t, "server_sync_wait", Zero::Allowed, base)?.unwrap_or_else(|| {
            Dist::fixed(
                crate::time::parse_duration(DEFAULT_SERVER_SYNC_WAIT).expect("valid default"),
            )
        });
    let (interconnect, np_resolution, server_reboot) =
        cluster_set_reader::read_partition_keys(t, base, has_witness)?;
    let shared_disk = match t.table("shared_disk")? {
        None => None,
        Some(mut disk) => {
            let ttf = disk.required("ttf", dist, |t, k| read_dist(t, k, Zero::Forbidden, base))?;
            let ttr = disk.required("ttr", dist, |t, k| read_dist(t, k, Zero::Forbidden, base))?;
            disk.finish()?;
            Some(SharedDisk { ttf, ttr })
        }
    };
    Ok(Cluster {
        name,
        servers: servers.into_iter().map(|(n, _)| n).collect(),
        server_ttf,
        server_ttr,
        repair_crews,
        heartbeat_timeout,
        group_start,
        group_stop,
        server_sync_wait,
        failback,
        shared_disk,
        interconnect,
        np_resolution,
        server_reboot,
    })
}

fn read_service(t: &mut TableReader, clusters: &[Cluster], earlier: &[Service]) -> Result<Service> {
    let (name, name_span) = t.required("name", "the service's name", |t, k| t.name(k))?;
    if earlier.iter().any(|s| s.name == name) {
        return Err(t.error(
            name_span,
            "name",
            format!("duplicate service name {name:?}"),
        ));
    }
    t.set_path(format!("service.{name}"));
    let (cluster, span) = t.required("cluster", "the name of a [[cluster]]", |t, k| t.name(k))?;
    let index = clusters
        .iter()
        .position(|c| c.name == cluster)
        .ok_or_else(|| {
            let known: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
            t.error(
                span,
                "cluster",
                format!(
                    "unknown cluster {cluster:?}; the scenario defines: {}",
                    known.join(", ")
                ),
            )
        })?;
    Ok(Service {
        name,
        cluster: index,
    })
}
