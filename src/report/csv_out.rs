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
    /// Each field is formatted here and copied out: no allocation per field or row.
    field: String,
}

fn csv_err(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

/// Writes `value` as the next field, formatted as `to_string` does, through `buffer`.
fn put(
    w: &mut csv::Writer<AtomicFile>,
    buffer: &mut String,
    value: impl std::fmt::Display,
) -> io::Result<()> {
    use std::fmt::Write;
    buffer.clear();
    write!(buffer, "{value}").expect("formatting into a String cannot fail");
    w.write_field(buffer.as_bytes()).map_err(csv_err)
}

fn end_record(w: &mut csv::Writer<AtomicFile>) -> io::Result<()> {
    w.write_record(None::<&[u8]>).map_err(csv_err)
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
            field: String::new(),
        })
    }

    pub fn write(&mut self, result: &ReplicationResult) -> io::Result<()> {
        let minutes = |us: u64| us as f64 / MICROS_PER_MINUTE as f64;
        for (name, service) in self.services.iter().zip(&result.services) {
            let t = &service.totals;
            let w = &mut self.replications;
            let field = &mut self.field;
            put(w, field, result.index)?;
            w.write_field(name).map_err(csv_err)?;
            put(w, field, t.availability())?;
            put(w, field, minutes(t.down))?;
            put(w, field, t.outages)?;
            put(w, field, hours(t.up))?;
            put(w, field, hours(t.down))?;
            for &d in &t.down_by_cause {
                put(w, field, minutes(d))?;
            }
            end_record(w)?;
            if let Some(w) = self.outages.as_mut() {
                for o in &service.outages {
                    put(w, field, result.index)?;
                    w.write_field(name).map_err(csv_err)?;
                    put(w, field, hours(o.start))?;
                    put(w, field, hours(o.end))?;
                    put(w, field, hours(o.end - o.start))?;
                    w.write_field(o.cause.name()).map_err(csv_err)?;
                    put(w, field, o.censored)?;
                    end_record(w)?;
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
