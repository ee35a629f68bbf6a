//! `[sla]` and `[cost]`: what the architect signs and pays, read with located errors.

use super::reader::{Result, TableReader};
use crate::time::{Micros, MICROS_PER_YEAR};

/// `[sla]`: the downtime a year may have. Given as an availability or as a downtime; both
/// forms are kept so that reports can say it either way.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sla {
    pub availability: f64,
    /// Allowed downtime per 365-day year.
    pub downtime: Micros,
}

/// `[cost]`: amounts in one currency (plain numbers; the scenario's author picks the
/// currency). Absent keys cost nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cost {
    /// Per minute of a service's (or VM's) downtime, summed over services and VMs.
    pub downtime_per_minute: f64,
    /// Per minute of writes lost in an unplanned cross-cluster failover.
    pub lost_writes_per_minute: f64,
    /// Per server of every `[[cluster]]`, per year.
    pub server_per_year: f64,
    /// Per `[[cluster]]` (licences, the cluster's own costs), per year.
    pub cluster_per_year: f64,
    /// Per `[[link]]` (a WAN line between two sites), per year.
    pub link_per_year: f64,
}

pub fn read_sla(top: &mut TableReader) -> Result<Option<Sla>> {
    let Some(mut t) = top.table("sla")? else {
        return Ok(None);
    };
    let availability = t.number_where(
        "availability",
        |a| a > 0.0 && a < 1.0,
        "an availability between 0 and 1, such as 0.9995 (99.95%)",
    )?;
    let downtime = t.duration("downtime")?;
    let sla = match (availability, downtime) {
        (Some(_), Some((_, span))) => {
            return Err(t.error(
                span,
                "downtime",
                "expected either `availability` or `downtime`, not both (each sets the \
                 downtime a year may have)",
            ))
        }
        (None, None) => {
            return Err(t.error(
                t.span(),
                "availability",
                "missing required key `availability` (such as 0.9995) or `downtime` (a \
                 duration per year, such as \"4h\")",
            ))
        }
        (Some((a, _)), None) => Sla {
            availability: a,
            downtime: crate::analysis::sla::allowed_downtime(a),
        },
        (None, Some((d, span))) => {
            if d == 0 || d >= MICROS_PER_YEAR {
                return Err(t.error(
                    span,
                    "downtime",
                    "expected a downtime per year greater than zero and shorter than \"1y\"",
                ));
            }
            Sla {
                availability: 1.0 - d as f64 / MICROS_PER_YEAR as f64,
                downtime: d,
            }
        }
    };
    t.finish()?;
    Ok(Some(sla))
}

pub fn read_cost(top: &mut TableReader) -> Result<Option<Cost>> {
    let Some(mut t) = top.table("cost")? else {
        return Ok(None);
    };
    let mut amount = |key: &'static str| -> Result<Option<f64>> {
        Ok(
            t.number_where(key, |v| v >= 0.0, "an amount of zero or more")?
                .map(|(v, _)| v),
        )
    };
    let read = [
        amount("downtime_per_minute")?,
        amount("lost_writes_per_minute")?,
        amount("server_per_year")?,
        amount("cluster_per_year")?,
        amount("link_per_year")?,
    ];
    if read.iter().all(Option::is_none) {
        // Misspelt keys are reported as unknown first: `finish` names the allowed ones.
        let span = t.span();
        t.finish()?;
        return Err(top.error(
            span,
            "cost",
            "expected at least one of downtime_per_minute, lost_writes_per_minute, \
             server_per_year, cluster_per_year, link_per_year in [cost]",
        ));
    }
    t.finish()?;
    let [downtime_per_minute, lost_writes_per_minute, server_per_year, cluster_per_year, link_per_year] =
        read.map(|v| v.unwrap_or(0.0));
    Ok(Some(Cost {
        downtime_per_minute,
        lost_writes_per_minute,
        server_per_year,
        cluster_per_year,
        link_per_year,
    }))
}
