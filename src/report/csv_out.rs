//! Streaming CSV output of a run: a row per replication and service, and optionally a row
//! per outage. Rows arrive in replication order, so the files are reproducible byte for byte.

use std::io;
use std::path::Path;

use super::atomic::AtomicFile;
use crate::metrics::CAUSES;
use crate::model::ReplicationResult;
use crate::scenario::Scenario;
use crate::time::{hours, MICROS_PER_MINUTE};

pub struct RunCsv {
    replications: csv::Writer<AtomicFile>,
    outages: Option<csv::Writer<AtomicFile>>,
    services: Vec<String>,
}

fn csv_err(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

impl RunCsv {
    pub fn create(dir: &Path, scenario: &Scenario, with_outages: bool) -> io::Result<RunCsv> {
        let mut replications =
            csv::Writer::from_writer(AtomicFile::create(&dir.join("replications.csv"))?);
        let mut header = vec![
            "replication".to_string(),
            "service".to_string(),
            "availability".to_string(),
            "downtime_minutes".to_string(),
            "outages".to_string(),
            "up_hours".to_string(),
            "down_hours".to_string(),
        ];
        header.extend(CAUSES.iter().map(|c| format!("{}_minutes", c.name())));
        replications.write_record(&header).map_err(csv_err)?;
        let outages = if with_outages {
            let mut w = csv::Writer::from_writer(AtomicFile::create(&dir.join("outages.csv"))?);
            w.write_record([
                "replication",
                "service",
                "start_hours",
                "end_hours",
                "duration_hours",
                "cause",
                "censored",
            ])
            .map_err(csv_err)?;
            Some(w)
        } else {
            None
        };
        Ok(RunCsv {
            replications,
            outages,
            // The results' order: the scenario's services, then its VMs.
            services: crate::run::service_names(scenario),
        })
    }

    pub fn write(&mut self, result: &ReplicationResult) -> io::Result<()> {
        let minutes = |us: u64| us as f64 / MICROS_PER_MINUTE as f64;
        for (name, service) in self.services.iter().zip(&result.services) {
            let t = &service.totals;
            let mut row = vec![
                result.index.to_string(),
                name.clone(),
                t.availability().to_string(),
                minutes(t.down).to_string(),
                t.outages.to_string(),
                hours(t.up).to_string(),
                hours(t.down).to_string(),
            ];
            row.extend(t.down_by_cause.iter().map(|&d| minutes(d).to_string()));
            self.replications.write_record(&row).map_err(csv_err)?;
            if let Some(w) = self.outages.as_mut() {
                for o in &service.outages {
                    w.write_record([
                        result.index.to_string(),
                        name.clone(),
                        hours(o.start).to_string(),
                        hours(o.end).to_string(),
                        hours(o.end - o.start).to_string(),
                        o.cause.name().to_string(),
                        o.censored.to_string(),
                    ])
                    .map_err(csv_err)?;
                }
            }
        }
        Ok(())
    }

    /// Publishes the files under their final names.
    pub fn commit(self) -> io::Result<()> {
        let finish = |w: csv::Writer<AtomicFile>| -> io::Result<()> {
            w.into_inner()
                .map_err(|e| io::Error::other(e.to_string()))?
                .commit()
        };
        finish(self.replications)?;
        if let Some(w) = self.outages {
            finish(w)?;
        }
        Ok(())
    }
}
