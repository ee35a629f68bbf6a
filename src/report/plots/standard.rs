//! The charts every `run` and `compare` writes, per service: availability, MTBF and MTTR,
//! downtime by cause, downtime in one year. Named `<kind>-<service>` so that several services share a folder.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use super::{availability_nines, downtime_by_cause, mtbf_mttr, yearly_downtime};
use crate::analysis::summary::Report;

/// A chart written to disk: `<stem>.png` and `<stem>.svg`.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub service: String,
    pub caption: String,
    pub stem: PathBuf,
}

/// A service name as part of a file name: letters, digits, `-` and `_` kept, anything else
/// (a path separator, a space) turned into `_`.
fn file_part(name: &str) -> String {
    let part: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if part.is_empty() {
        "_".to_string()
    } else {
        part
    }
}

/// Writes the standard charts of every service of `reports` into `dir`, in service order,
/// and returns them for the HTML report.
pub fn standard_charts(reports: &[(&str, &Report)], dir: &Path) -> io::Result<Vec<Figure>> {
    let services: BTreeSet<&String> = reports
        .iter()
        .flat_map(|(_, r)| r.services.keys())
        .collect();
    type Draw = fn(&[(&str, &Report)], &str, &Path) -> io::Result<()>;
    let kinds: [(&str, &str, Draw); 4] = [
        (
            "availability",
            "Availability on a nines scale, with 95% confidence intervals",
            availability_nines,
        ),
        ("mtbf-mttr", "MTBF and MTTR", mtbf_mttr),
        (
            "downtime-by-cause",
            "Downtime per year by cause",
            downtime_by_cause,
        ),
        (
            "yearly-downtime",
            "Downtime in one year (share of years with more), with the SLA",
            yearly_downtime,
        ),
    ];
    let mut figures = Vec::new();
    for service in services {
        for (kind, caption, draw) in kinds {
            let stem = dir.join(format!("{kind}-{}", file_part(service)));
            draw(reports, service, &stem)?;
            figures.push(Figure {
                service: service.clone(),
                caption: format!("{caption}, service {service}"),
                stem,
            });
        }
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_become_safe_file_names() {
        assert_eq!(file_part("vm1"), "vm1");
        assert_eq!(file_part("../etc/x y"), "___etc_x_y");
        assert_eq!(file_part(""), "_");
    }
}
