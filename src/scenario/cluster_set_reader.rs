//! Reading the cluster-set sections: `[witness]`, `[master]`, `[dns]`, `[[vm]]`, and each
//! cluster's interconnect and network-partition resolution.

use std::path::Path;

use super::cluster_set::{
    Dns, FaultDomain, Interconnect, Link, Master, NpResolution, Operations, Vm, Witness,
};
use super::dist_spec::{read_dist, read_quantity_dist, Zero, RATE};
use super::reader::{Result, TableReader};
use super::{Cluster, Service};
use crate::dist::Dist;
use crate::time::{MICROS_PER_MINUTE, MICROS_PER_SECOND};

const DIST: &str = "a duration or a distribution";

/// Hyper-V Replica's allowed replication frequencies.
const REPLICATION_INTERVALS: [(u64, &str); 3] = [
    (30 * MICROS_PER_SECOND, "30s"),
    (5 * MICROS_PER_MINUTE, "5m"),
    (15 * MICROS_PER_MINUTE, "15m"),
];

fn failure_and_repair(t: &mut TableReader, base: &Path) -> Result<(Dist, Dist)> {
    let ttf = t.required("ttf", DIST, |t, k| read_dist(t, k, Zero::Forbidden, base))?;
    let ttr = t.required("ttr", DIST, |t, k| read_dist(t, k, Zero::Forbidden, base))?;
    Ok((ttf, ttr))
}

pub fn read_witness(top: &mut TableReader, base: &Path) -> Result<Option<Witness>> {
    let Some(mut t) = top.table("witness")? else {
        return Ok(None);
    };
    let (ttf, ttr) = failure_and_repair(&mut t, base)?;
    t.finish()?;
    Ok(Some(Witness { ttf, ttr }))
}

/// The per-cluster keys of partitions: `interconnect`, `np_resolution`, `server_reboot`.
pub fn read_partition_keys(
    t: &mut TableReader,
    base: &Path,
    has_witness: bool,
) -> Result<(Option<Interconnect>, NpResolution, Dist)> {
    let interconnect = match t.table("interconnect")? {
        None => None,
        Some(mut link) => {
            let (ttf, ttr) = failure_and_repair(&mut link, base)?;
            link.finish()?;
            Some(Interconnect { ttf, ttr })
        }
    };
    let np_resolution = match t.string("np_resolution")? {
        None if has_witness => NpResolution::Witness,
        None => NpResolution::None,
        Some((text, span)) => match text.as_str() {
            "witness" if has_witness => NpResolution::Witness,
            "witness" => {
                return Err(t.error(
                    span,
                    "np_resolution",
                    "np_resolution = \"witness\" needs a [witness] section",
                ))
            }
            "none" => NpResolution::None,
            other => {
                return Err(t.error(
                    span,
                    "np_resolution",
                    format!("expected \"witness\" or \"none\", found {other:?}"),
                ))
            }
        },
    };
    let server_reboot = read_dist(t, "server_reboot", Zero::Allowed, base)?
        .unwrap_or_else(|| Dist::fixed(5 * MICROS_PER_MINUTE));
    Ok((interconnect, np_resolution, server_reboot))
}

pub(super) fn cluster_index(
    t: &TableReader,
    key: &'static str,
    name: &str,
    span: Option<std::ops::Range<usize>>,
    clusters: &[Cluster],
) -> Result<usize> {
    clusters.iter().position(|c| c.name == name).ok_or_else(|| {
        let known: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
        t.error(
            span,
            key,
            format!(
                "unknown cluster {name:?}; the scenario defines: {}",
                known.join(", ")
            ),
        )
    })
}

pub fn read_master(
    top: &mut TableReader,
    base: &Path,
    clusters: &[Cluster],
) -> Result<Option<Master>> {
    let Some(mut t) = top.table("master")? else {
        return Ok(None);
    };
    let (name, span) = t.required("cluster", "the name of the master [[cluster]]", |t, k| {
        t.name(k)
    })?;
    let cluster = cluster_index(&t, "cluster", &name, span, clusters)?;
    let poll_interval = match t.duration("poll_interval")? {
        None => 10 * MICROS_PER_SECOND,
        Some((0, span)) => {
            return Err(t.error(
                span,
                "poll_interval",
                "expected a poll interval greater than zero",
            ))
        }
        Some((d, _)) => d,
    };
    let failure_threshold = t.integer("failure_threshold", 1, 1_000)?.unwrap_or(3) as u32;
    let failover = read_dist(&mut t, "failover", Zero::Allowed, base)?
        .unwrap_or_else(|| Dist::fixed(10 * MICROS_PER_SECOND));
    let vm_start = read_dist(&mut t, "vm_start", Zero::Allowed, base)?.unwrap_or(
        Dist::uniform(60 * MICROS_PER_SECOND, 180 * MICROS_PER_SECOND).expect("valid default"),
    );
    let reprotect = read_dist(&mut t, "reprotect", Zero::Allowed, base)?
        .unwrap_or_else(|| Dist::fixed(60 * MICROS_PER_MINUTE));
    t.finish()?;
    Ok(Some(Master {
        cluster,
        poll_interval,
        failure_threshold,
        failover,
        vm_start,
        reprotect,
    }))
}

pub fn read_dns(top: &mut TableReader) -> Result<Option<Dns>> {
    let Some(mut t) = top.table("dns")? else {
        return Ok(None);
    };
    let (ttl, _) = t.required("ttl", "a duration such as \"5m\"", |t, k| t.duration(k))?;
    t.finish()?;
    Ok(Some(Dns { ttl }))
}

pub fn read_vms(
    top: &mut TableReader,
    base: &Path,
    clusters: &[Cluster],
    services: &[Service],
    master: Option<&Master>,
    links: &[Link],
) -> Result<Vec<Vm>> {
    let mut vms: Vec<Vm> = Vec::new();
    for mut t in top.array_of_tables("vm")? {
        let (name, name_span) = t.required("name", "the VM's name", |t, k| t.name(k))?;
        if vms.iter().any(|v| v.name == name) {
            return Err(t.error(name_span, "name", format!("duplicate VM name {name:?}")));
        }
        if services.iter().any(|s| s.name == name) {
            return Err(t.error(
                name_span,
                "name",
                format!("{name:?} is already a [[service]]; a VM is reported as a service of its own name"),
            ));
        }
        t.set_path(format!("vm.{name}"));
        let (home, span) = t.required(
            "cluster",
            "the name of the VM's home [[cluster]]",
            |t, k| t.name(k),
        )?;
        let cluster = cluster_index(&t, "cluster", &home, span.clone(), clusters)?;
        let (replica, rspan) = t.required(
            "replica_cluster",
            "the name of the [[cluster]] holding the replica",
            |t, k| t.name(k),
        )?;
        let replica_cluster =
            cluster_index(&t, "replica_cluster", &replica, rspan.clone(), clusters)?;
        if replica_cluster == cluster {
            return Err(t.error(
                rspan,
                "replica_cluster",
                "expected a cluster other than the VM's home cluster",
            ));
        }
        if let Some(m) = master {
            for (index, key, span) in [
                (cluster, "cluster", span),
                (replica_cluster, "replica_cluster", rspan),
            ] {
                if index == m.cluster {
                    return Err(t.error(
                        span,
                        key,
                        "the master cluster runs the controller, not VMs",
                    ));
                }
            }
        }
        let (replication_interval, ispan) = t.required(
            "replication_interval",
            "\"30s\", \"5m\" or \"15m\"",
            |t, k| t.duration(k),
        )?;
        if !REPLICATION_INTERVALS
            .iter()
            .any(|(d, _)| *d == replication_interval)
        {
            return Err(t.error(
                ispan,
                "replication_interval",
                "expected \"30s\", \"5m\" or \"15m\" (the replication frequencies Hyper-V Replica allows)",
            ));
        }
        // A re-protection by the master is an initial replication too: `[master] reprotect`
        // sets the default of the VMs it protects.
        let initial_replication =
            match read_dist(&mut t, "initial_replication", Zero::Allowed, base)? {
                Some(d) => d,
                None => match master {
                    Some(m) => m.reprotect.clone(),
                    None => Dist::uniform(2 * MICROS_PER_MINUTE, 10 * MICROS_PER_MINUTE)
                        .expect("valid default"),
                },
            };
        let checkpoint = read_dist(&mut t, "checkpoint", Zero::Allowed, base)?
            .unwrap_or_else(Vm::default_checkpoint);
        let cycle = read_dist(&mut t, "cycle", Zero::Allowed, base)?.unwrap_or(Dist::fixed(0));
        let churn = read_quantity_dist(&mut t, "churn", Zero::Allowed, base, &RATE)?;
        let link = links.iter().position(|l| l.joins(cluster, replica_cluster));
        t.finish()?;
        vms.push(Vm {
            name,
            cluster,
            replica_cluster,
            replication_interval,
            initial_replication,
            checkpoint,
            cycle,
            churn,
            link,
        });
    }
    Ok(vms)
}

/// `[[fault_domain]]` sections: each member a server of some cluster.
pub fn read_fault_domains(
    top: &mut TableReader,
    base: &Path,
    clusters: &[Cluster],
) -> Result<Vec<FaultDomain>> {
    let mut domains: Vec<FaultDomain> = Vec::new();
    for mut t in top.array_of_tables("fault_domain")? {
        let (name, span) = t.required("name", "the fault domain's name", |t, k| t.name(k))?;
        if domains.iter().any(|d| d.name == name) {
            return Err(t.error(span, "name", format!("duplicate fault domain {name:?}")));
        }
        t.set_path(format!("fault_domain.{name}"));
        let listed = t.required(
            "members",
            "a list of server names (of any clusters)",
            |t, k| t.name_list(k),
        )?;
        let mut members = Vec::new();
        for (server, span) in listed {
            let found = clusters.iter().enumerate().find_map(|(c, cluster)| {
                cluster
                    .servers
                    .iter()
                    .position(|s| *s == server)
                    .map(|s| (c, s))
            });
            let Some(member) = found else {
                return Err(t.error(
                    span,
                    "members",
                    format!("unknown server {server:?}; members are servers of the [[cluster]] sections"),
                ));
            };
            if members.contains(&member) {
                return Err(t.error(
                    span,
                    "members",
                    format!("server {server:?} is listed twice"),
                ));
            }
            members.push(member);
        }
        let (ttf, ttr) = failure_and_repair(&mut t, base)?;
        let spread = read_dist(&mut t, "spread", Zero::Allowed, base)?.unwrap_or(Dist::fixed(0));
        t.finish()?;
        domains.push(FaultDomain {
            name,
            members,
            ttf,
            ttr,
            spread,
        });
    }
    Ok(domains)
}

pub fn read_operations(top: &mut TableReader, base: &Path) -> Result<Operations> {
    let Some(mut t) = top.table("operations")? else {
        return Ok(Operations::default());
    };
    let response = read_dist(&mut t, "response", Zero::Allowed, base)?
        .unwrap_or_else(|| Operations::default().response);
    t.finish()?;
    Ok(Operations {
        response,
        staffed: true,
    })
}
