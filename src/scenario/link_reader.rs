//! Reading `[[link]]`: the replication network between two clusters and its bandwidth.

use super::cluster_set::Link;
use super::cluster_set_reader::cluster_index;
use super::reader::{Result, TableReader};
use super::Cluster;
use crate::rate::parse_rate;

const BANDWIDTH_HINT: &str = "a rate with its unit, such as \"1Gbit/s\" or \"100MB/s\"";

pub fn read_links(top: &mut TableReader, clusters: &[Cluster]) -> Result<Vec<Link>> {
    let mut links: Vec<Link> = Vec::new();
    for mut t in top.array_of_tables("link")? {
        let (name, name_span) = t.required("name", "the link's name", |t, k| t.name(k))?;
        if links.iter().any(|l| l.name == name) {
            return Err(t.error(name_span, "name", format!("duplicate link name {name:?}")));
        }
        t.set_path(format!("link.{name}"));
        let span = t.item("clusters").and_then(|(_, span)| span);
        let ends = t.required(
            "clusters",
            "the names of the two [[cluster]] sections it joins",
            |t, k| t.name_list(k),
        )?;
        let [(a, a_span), (b, b_span)] = <[_; 2]>::try_from(ends).map_err(|ends: Vec<_>| {
            t.error(
                span.clone(),
                "clusters",
                format!(
                    "expected the names of two clusters, found {} name{}",
                    ends.len(),
                    if ends.len() == 1 { "" } else { "s" }
                ),
            )
        })?;
        let pair = [
            cluster_index(&t, "clusters", &a, a_span, clusters)?,
            cluster_index(&t, "clusters", &b, b_span, clusters)?,
        ];
        if let Some(other) = links.iter().find(|l| l.joins(pair[0], pair[1])) {
            return Err(t.error(
                span,
                "clusters",
                format!(
                    "link {:?} already joins {a:?} and {b:?}; one link carries both directions",
                    other.name
                ),
            ));
        }
        let bandwidth = read_bandwidth(&mut t)?;
        t.finish()?;
        links.push(Link {
            name,
            clusters: pair,
            bandwidth,
        });
    }
    Ok(links)
}

fn read_bandwidth(t: &mut TableReader) -> Result<u64> {
    let Some((item, span)) = t.item("bandwidth") else {
        return t.required("bandwidth", BANDWIDTH_HINT, |_, _| Ok(None));
    };
    let Some(text) = item.as_str() else {
        return Err(t.error(span, "bandwidth", format!("expected {BANDWIDTH_HINT}")));
    };
    match parse_rate(text) {
        Ok(0) => Err(t.error(
            span,
            "bandwidth",
            "expected a bandwidth greater than zero (a link that carries nothing never catches up)",
        )),
        Ok(rate) => Ok(rate),
        Err(e) => Err(t.error(span, "bandwidth", e.to_string())),
    }
}
