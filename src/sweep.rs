//! `ecxsim sweep`: every scenario at every value of one parameter, on common random numbers.
//!
//! A parameter is addressed by a dotted path into the scenario file:
//! `simulation.horizon`, `cluster.<name>.<key>[.<sub-key>]`, `vm.<name>.<key>`,
//! `master.<key>`, `dns.ttl`, `witness.ttf.mean`, `backend.<key>`, `link.<name>.bandwidth`. The value is written into
//! the TOML document and the result parsed like any scenario file, so every value is
//! validated exactly as if the user had typed it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml_edit::{DocumentMut, Item, TableLike, Value};

use crate::analysis::sla::{BreachProbability, DowntimeQuantiles};
use crate::analysis::summary::Estimate;
use crate::compare::{compare, CompareReport};
use crate::metrics::{DataLossSummary, CAUSES};
use crate::rate::parse_rate;
use crate::run::{RunError, RunOptions};
use crate::scenario::{self, Scenario, ScenarioError};
use crate::time::parse_duration;

/// One value of the swept parameter, typed as it will appear in TOML.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepValue {
    /// A duration string such as `"5m"`.
    Duration(String),
    /// A rate string such as `"100Mbit/s"`.
    Rate(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl SweepValue {
    /// A value as `--values` gives it (or as `label` wrote it: the two agree).
    pub fn parse(text: &str) -> SweepValue {
        let t = text.trim();
        if let Ok(i) = t.parse::<i64>() {
            SweepValue::Integer(i)
        } else if let Ok(f) = t.parse::<f64>() {
            SweepValue::Float(f)
        } else if t == "true" || t == "false" {
            SweepValue::Bool(t == "true")
        } else if parse_duration(t).is_ok() {
            SweepValue::Duration(t.to_string())
        } else if parse_rate(t).is_ok() {
            SweepValue::Rate(t.to_string())
        } else {
            SweepValue::Text(t.to_string())
        }
    }

    /// The value as the x coordinate of a plot: durations in hours, rates in MB/s, numbers
    /// as they are.
    pub fn x(&self) -> f64 {
        match self {
            SweepValue::Duration(d) => parse_duration(d).map_or(f64::NAN, |us| {
                us as f64 / crate::time::MICROS_PER_HOUR as f64
            }),
            SweepValue::Rate(r) => parse_rate(r).map_or(f64::NAN, |bytes| bytes as f64 / 1e6),
            SweepValue::Integer(i) => *i as f64,
            SweepValue::Float(f) => *f,
            SweepValue::Bool(b) => f64::from(u8::from(*b)),
            SweepValue::Text(_) => f64::NAN,
        }
    }

    fn toml(&self) -> Value {
        match self {
            SweepValue::Duration(s) | SweepValue::Rate(s) | SweepValue::Text(s) => {
                Value::from(s.as_str())
            }
            SweepValue::Integer(i) => Value::from(*i),
            SweepValue::Float(f) => Value::from(*f),
            SweepValue::Bool(b) => Value::from(*b),
        }
    }

    pub fn label(&self) -> String {
        match self {
            SweepValue::Duration(s) | SweepValue::Rate(s) | SweepValue::Text(s) => s.clone(),
            SweepValue::Integer(i) => i.to_string(),
            SweepValue::Float(f) => f.to_string(),
            SweepValue::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("bad --values {0:?}: {1}")]
    Values(String, String),
    #[error("bad --param {0:?}: {1}")]
    Path(String, String),
    #[error("bad scenario variant {0:?}: {1}")]
    Variant(String, String),
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    #[error("{0}")]
    Run(#[from] RunError),
}

/// A scenario argument of `compare`, `sweep` and `timeline`: `FILE`, or `FILE@PATH=VALUE`
/// (several `@PATH=VALUE` may follow) for the file with those values changed, as `sweep`
/// changes them; the variant is named `<name> [VALUE, ...]`, unless one of the changes is
/// `simulation.name`.
pub struct Variant {
    pub file: PathBuf,
    /// The file's text with the changes made.
    pub text: String,
    changes: Vec<String>,
    labels: Vec<String>,
}

impl Variant {
    pub fn read(arg: &str) -> Result<Variant, SweepError> {
        let mut parts = arg.split('@');
        let file = PathBuf::from(parts.next().unwrap_or_default());
        let changes: Vec<String> = parts.map(str::to_string).collect();
        let mut text = std::fs::read_to_string(&file).map_err(|e| {
            SweepError::Variant(
                arg.to_string(),
                format!("cannot read {}: {e}", file.display()),
            )
        })?;
        let mut labels = Vec::new();
        for change in &changes {
            let bad = |why: &str| SweepError::Variant(change.to_string(), why.to_string());
            let (path, value) = change.split_once('=').ok_or_else(|| {
                bad("expected PATH=VALUE after @, e.g. simulation.control=coordinated")
            })?;
            let values = parse_values(value)?;
            let [value] = values.as_slice() else {
                return Err(bad("expected one value"));
            };
            text = set_value(&text, path, value)
                .map_err(|e| match e {
                    SweepError::Path(_, why) => bad(&why),
                    other => bad(&other.to_string()),
                })?
                .ok_or_else(|| bad("the scenario has no such section or element"))?;
            if path != "simulation.name" {
                labels.push(value.label());
            }
        }
        Ok(Variant {
            file,
            text,
            changes,
            labels,
        })
    }

    /// Validates `text` (this variant's, maybe changed further) as a scenario of this file.
    pub fn parse(&self, text: String) -> Result<Scenario, ScenarioError> {
        let mut s = scenario::parse(&self.file, text).map_err(|mut e| {
            if !self.changes.is_empty() {
                e.message = format!("{} (with {})", e.message, self.changes.join(", "));
            }
            e
        })?;
        if !self.labels.is_empty() {
            s.name = format!("{} [{}]", s.name, self.labels.join(", "));
        }
        Ok(s)
    }
}

/// Reads and validates a scenario argument (see `Variant`).
pub fn load_variant(arg: &str) -> Result<Scenario, SweepError> {
    if !arg.contains('@') {
        return Ok(scenario::load(Path::new(arg))?);
    }
    let variant = Variant::read(arg)?;
    Ok(variant.parse(variant.text.clone())?)
}

/// The most values one sweep runs: each is a whole comparison.
pub const MAX_VALUES: usize = 1_000;

/// `--values`: a comma-separated list (`30s,5m,15m`, `1,2,3`) or a range `A..B:N` of N evenly
/// spaced points from A to B inclusive (numbers, or durations with one unit: `1000h..10000h:4`).
pub fn parse_values(spec: &str) -> Result<Vec<SweepValue>, SweepError> {
    let bad = |why: &str| SweepError::Values(spec.to_string(), why.to_string());
    if let Some((range, count)) = spec.split_once(':') {
        let (a, b) = range
            .split_once("..")
            .ok_or_else(|| bad("a range is written A..B:N"))?;
        let n: usize = count
            .trim()
            .parse()
            .map_err(|_| bad("N in A..B:N must be a whole number"))?;
        if n < 2 {
            return Err(bad("a range needs at least 2 points"));
        }
        if n > MAX_VALUES {
            return Err(bad(&format!("at most {MAX_VALUES} points")));
        }
        let split = |t: &str| -> Result<(f64, String), SweepError> {
            let t = t.trim();
            let at = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
            let number: f64 = t[..at]
                .parse()
                .map_err(|_| bad("range ends must be numbers or durations"))?;
            Ok((number, t[at..].to_string()))
        };
        let ((a, unit_a), (b, unit_b)) = (split(a)?, split(b)?);
        if unit_a != unit_b {
            return Err(bad("both ends of a range need the same unit"));
        }
        let integral = unit_a.is_empty()
            && a.fract() == 0.0
            && b.fract() == 0.0
            && (b - a) % (n as f64 - 1.0) == 0.0;
        return (0..n)
            .map(|i| {
                let x = a + (b - a) * i as f64 / (n as f64 - 1.0);
                let text = if integral {
                    format!("{}", x as i64)
                } else if unit_a.is_empty() {
                    format!("{x}")
                } else {
                    format!("{}{unit_a}", trim_float(x))
                };
                Ok(SweepValue::parse(&text))
            })
            .collect();
    }
    let values: Vec<SweepValue> = spec
        .split(',')
        .filter(|v| !v.trim().is_empty())
        .map(SweepValue::parse)
        .collect();
    if values.is_empty() {
        return Err(bad("no values"));
    }
    if values.len() > MAX_VALUES {
        return Err(bad(&format!("at most {MAX_VALUES} values")));
    }
    Ok(values)
}

fn trim_float(x: f64) -> String {
    let t = format!("{x:.6}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The table addressed by the first segments of a path: a section, or the `[[array]]` element
/// whose `name` is the second segment.
fn find_table<'d>(
    doc: &'d mut DocumentMut,
    parts: &[&str],
) -> Option<(&'d mut dyn TableLike, usize)> {
    let (first, rest) = parts.split_first()?;
    let is_array = doc.get(first)?.is_array_of_tables();
    let item = doc.get_mut(first)?;
    if is_array {
        let name = rest.first()?;
        let table = item
            .as_array_of_tables_mut()?
            .iter_mut()
            .find(|t| t.get("name").and_then(Item::as_str) == Some(name))?;
        return Some((table as &mut dyn TableLike, 2));
    }
    Some((item.as_table_like_mut()?, 1))
}

/// Writes `value` at `path` in a scenario's text; `Ok(None)` if the path names an element
/// (a section, a named cluster or VM) this scenario does not have.
pub fn set_value(text: &str, path: &str, value: &SweepValue) -> Result<Option<String>, SweepError> {
    let bad = |why: &str| SweepError::Path(path.to_string(), why.to_string());
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|_| bad("the scenario is not valid TOML"))?;
    let parts: Vec<&str> = path.split('.').collect();
    if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad(
            "expected SECTION.KEY or ARRAY.NAME.KEY, e.g. cluster.cluster1.heartbeat_timeout",
        ));
    }
    let Some((mut table, used)) = find_table(&mut doc, &parts) else {
        return Ok(None);
    };
    let keys = &parts[used..];
    let Some((last, inner)) = keys.split_last() else {
        return Err(bad("the path names a section, not a value"));
    };
    for key in inner {
        table = table
            .get_mut(key)
            .and_then(Item::as_table_like_mut)
            .ok_or_else(|| bad(&format!("`{key}` is not a table here")))?;
    }
    match table.get_mut(last) {
        Some(item)
            if item.is_table_like()
                && !matches!(value, SweepValue::Duration(_) | SweepValue::Rate(_)) =>
        {
            return Err(bad(&format!(
                "`{last}` is a distribution; address one of its parameters, e.g. {path}.mean"
            )));
        }
        Some(item) => *item = Item::Value(value.toml()),
        None => {
            table.insert(last, Item::Value(value.toml()));
        }
    }
    Ok(Some(doc.to_string()))
}

/// One point of the sweep: a scenario's service at one value.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SweepPoint {
    pub scenario: String,
    pub service: String,
    pub value: String,
    /// The value as a number (durations in hours, rates in MB/s).
    pub x: f64,
    pub availability: Estimate,
    pub downtime_minutes_per_year: Estimate,
    pub mtbf_hours: Option<f64>,
    pub mttr_hours: Option<f64>,
    pub outages_per_year: f64,
    /// Cluster set: time the VM had no up-to-date replica.
    pub unprotected_minutes_per_year: f64,
    pub cross_cluster_failovers_per_year: f64,
    /// Cluster set: writes lost per cross-cluster failover; `null` when there was none.
    pub data_loss: Option<DataLossSummary>,
    pub downtime_by_cause_minutes_per_year: BTreeMap<String, f64>,
    /// Downtime in one year, in minutes; `null` without a whole year.
    pub downtime_per_year_quantiles: Option<DowntimeQuantiles>,
    /// P(a year breaches the scenario's `[sla]`); `null` without one.
    pub sla_breach_probability: Option<BreachProbability>,
    /// The scenario's expected yearly cost under its `[cost]` (the same on each of its
    /// services' points); `null` without one.
    pub cost_per_year: Option<Estimate>,
}

impl SweepPoint {
    /// The columns of `sweep.csv`, in order (see [`SweepPoint::csv_record`]).
    pub fn csv_header() -> Vec<String> {
        let mut h: Vec<String> = [
            "scenario",
            "service",
            "param",
            "value",
            "x",
            "availability_mean",
            "availability_ci_low",
            "availability_ci_high",
            "downtime_minutes_per_year_mean",
            "downtime_ci_low",
            "downtime_ci_high",
            "mtbf_hours",
            "mttr_hours",
            "outages_per_year",
            "unprotected_minutes_per_year",
            "cross_cluster_failovers_per_year",
            "data_loss_mean_seconds",
            "data_loss_p50_seconds",
            "data_loss_p95_seconds",
            "data_loss_max_seconds",
        ]
        .map(String::from)
        .to_vec();
        h.extend(
            CAUSES
                .iter()
                .map(|c| format!("downtime_{}_minutes_per_year", c.name())),
        );
        h.extend(
            [
                "downtime_per_year_p50_minutes",
                "downtime_per_year_p90_minutes",
                "downtime_per_year_p99_minutes",
                "sla_breach_probability",
                "sla_breach_ci_low",
                "sla_breach_ci_high",
                "cost_per_year_mean",
                "cost_ci_low",
                "cost_ci_high",
            ]
            .map(String::from),
        );
        h
    }

    /// One row of `sweep.csv`; empty cells where there is no value (no interval with one
    /// replication, no outage, no cross-cluster failover).
    pub fn csv_record(&self, param: &str) -> Vec<String> {
        let num = |x: f64| x.to_string();
        let opt = |v: Option<f64>| v.map_or(String::new(), num);
        let lo_hi = |e: &Estimate| e.ci95.map_or([None, None], |[lo, hi]| [Some(lo), Some(hi)]);
        let [alo, ahi] = lo_hi(&self.availability);
        let [dlo, dhi] = lo_hi(&self.downtime_minutes_per_year);
        let loss = |f: fn(&DataLossSummary) -> f64| opt(self.data_loss.as_ref().map(f));
        let mut r = vec![
            self.scenario.clone(),
            self.service.clone(),
            param.to_string(),
            self.value.clone(),
            num(self.x),
            num(self.availability.mean),
            opt(alo),
            opt(ahi),
            num(self.downtime_minutes_per_year.mean),
            opt(dlo),
            opt(dhi),
            opt(self.mtbf_hours),
            opt(self.mttr_hours),
            num(self.outages_per_year),
            num(self.unprotected_minutes_per_year),
            num(self.cross_cluster_failovers_per_year),
            loss(|d| d.mean_seconds),
            loss(|d| d.p50_seconds),
            loss(|d| d.p95_seconds),
            loss(|d| d.max_seconds),
        ];
        r.extend(CAUSES.iter().map(|c| {
            opt(self
                .downtime_by_cause_minutes_per_year
                .get(c.name())
                .copied())
        }));
        let q = self.downtime_per_year_quantiles.as_ref();
        let breach = self.sla_breach_probability.as_ref();
        let cost = self.cost_per_year.as_ref();
        let [clo, chi] = cost.map_or([None, None], lo_hi);
        r.extend([
            opt(q.map(|q| q.p50)),
            opt(q.map(|q| q.p90)),
            opt(q.map(|q| q.p99)),
            opt(breach.map(|b| b.mean)),
            opt(breach.map(|b| b.ci95[0])),
            opt(breach.map(|b| b.ci95[1])),
            opt(cost.map(|c| c.mean)),
            opt(clo),
            opt(chi),
        ]);
        r
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SweepReport {
    pub param: String,
    pub values: Vec<String>,
    pub points: Vec<SweepPoint>,
}

/// Runs every scenario at every value; a scenario without the addressed element runs as it is.
/// `options` gives the run options from the first scenario at each value (replications,
/// seed, threads), the same for every scenario at that value.
pub fn sweep(
    args: &[&str],
    param: &str,
    values: &[SweepValue],
    options: impl Fn(&Scenario) -> RunOptions,
) -> Result<SweepReport, SweepError> {
    let runs = check(args, param, values)?;
    let reports = runs
        .iter()
        .map(|scenarios| compare(scenarios, &options(&scenarios[0])))
        .collect::<Result<Vec<CompareReport>, RunError>>()?;
    Ok(sweep_report(param, values, &reports))
}

/// The sweep's report from the comparison at each value, in the order of `values`.
pub fn sweep_report(param: &str, values: &[SweepValue], reports: &[CompareReport]) -> SweepReport {
    let mut points = Vec::new();
    for (value, report) in values.iter().zip(reports) {
        for r in &report.scenarios {
            for (service, s) in &r.services {
                points.push(SweepPoint {
                    scenario: r.scenario.clone(),
                    service: service.clone(),
                    value: value.label(),
                    x: value.x(),
                    availability: s.availability.clone(),
                    downtime_minutes_per_year: s.downtime_minutes_per_year.clone(),
                    mtbf_hours: s.mtbf_hours,
                    mttr_hours: s.mttr_hours,
                    outages_per_year: s.outages_per_year,
                    unprotected_minutes_per_year: s.unprotected_minutes_per_year,
                    cross_cluster_failovers_per_year: s.cross_cluster_failovers_per_year,
                    data_loss: s.data_loss.clone(),
                    downtime_by_cause_minutes_per_year: s
                        .downtime_by_cause_minutes_per_year
                        .clone(),
                    downtime_per_year_quantiles: s.downtime_per_year_quantiles,
                    sla_breach_probability: s.sla_breach_probability.clone(),
                    cost_per_year: r.cost.as_ref().map(|c| c.total_per_year.clone()),
                });
            }
        }
    }
    SweepReport {
        param: param.to_string(),
        values: values.iter().map(SweepValue::label).collect(),
        points,
    }
}

/// What `sweep` would refuse, found before anything is simulated: every file, the path (it
/// must name an element of some scenario) and every value in every scenario. Gives the
/// scenarios `sweep` will run, per value.
pub fn check(
    args: &[&str],
    param: &str,
    values: &[SweepValue],
) -> Result<Vec<Vec<Scenario>>, SweepError> {
    let mut variants = Vec::new();
    for arg in args {
        load_variant(arg)?;
        variants.push(Variant::read(arg)?);
    }
    let mut applies_somewhere = false;
    let mut runs = Vec::new();
    for value in values {
        let mut scenarios = Vec::new();
        for variant in &variants {
            let edited = set_value(&variant.text, param, value)?;
            applies_somewhere |= edited.is_some();
            let edited = edited.unwrap_or_else(|| variant.text.clone());
            scenarios.push(variant.parse(edited).map_err(|mut e| {
                e.message = format!("{} (with {param} = {})", e.message, value.label());
                e
            })?);
        }
        runs.push(scenarios);
    }
    if !applies_somewhere {
        return Err(SweepError::Path(
            param.to_string(),
            "no scenario has this element (check the section and the cluster or VM name)"
                .to_string(),
        ));
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[simulation]\nhorizon = \"1y\"\n\n[[cluster]]\nname = \"c1\"\nserver_ttf = { dist = \"exponential\", mean = \"100h\" }\nheartbeat_timeout = \"30s\"\n";

    #[test]
    fn values_lists_and_ranges() {
        assert_eq!(
            parse_values("30s,5m,15m").unwrap(),
            vec![
                SweepValue::Duration("30s".into()),
                SweepValue::Duration("5m".into()),
                SweepValue::Duration("15m".into())
            ]
        );
        assert_eq!(
            parse_values("1000h..4000h:4")
                .unwrap()
                .iter()
                .map(SweepValue::label)
                .collect::<Vec<_>>(),
            vec!["1000h", "2000h", "3000h", "4000h"]
        );
        assert_eq!(
            parse_values("1..3:3").unwrap(),
            vec![
                SweepValue::Integer(1),
                SweepValue::Integer(2),
                SweepValue::Integer(3)
            ]
        );
        assert_eq!(
            parse_values("0.5..1:3").unwrap()[1],
            SweepValue::Float(0.75)
        );
        let rates = parse_values("20Mbit/s..40Mbit/s:3").unwrap();
        assert_eq!(rates[1], SweepValue::Rate("30Mbit/s".into()));
        assert_eq!(
            rates.iter().map(SweepValue::x).collect::<Vec<_>>(),
            [2.5, 3.75, 5.0]
        );
        assert_eq!(parse_values("1GB/s").unwrap()[0].x(), 1000.0);
        assert!(parse_values("1h..2m:3").is_err());
        assert!(parse_values("1..2:1").is_err());
        assert!(parse_values("").is_err());
    }

    #[test]
    fn sets_values_by_path() {
        let v = SweepValue::Duration("90s".into());
        let out = set_value(TEXT, "cluster.c1.heartbeat_timeout", &v)
            .unwrap()
            .unwrap();
        assert!(out.contains("heartbeat_timeout = \"90s\""), "{out}");
        let out = set_value(
            TEXT,
            "cluster.c1.server_ttf.mean",
            &SweepValue::Duration("5h".into()),
        )
        .unwrap()
        .unwrap();
        assert!(out.contains("mean = \"5h\""), "{out}");
        let out = set_value(
            TEXT,
            "simulation.horizon",
            &SweepValue::Duration("2y".into()),
        )
        .unwrap()
        .unwrap();
        assert!(out.contains("horizon = \"2y\""), "{out}");
        // A cluster this scenario does not have: not applicable.
        assert!(set_value(TEXT, "cluster.c9.heartbeat_timeout", &v)
            .unwrap()
            .is_none());
        assert!(set_value(TEXT, "vm.vm1.replication_interval", &v)
            .unwrap()
            .is_none());
        // A link's bandwidth, and a rate in place of a churn distribution.
        let links = "[[link]]\nname = \"wan\"\nbandwidth = \"1Gbit/s\"\n\n[[vm]]\nname = \"vm1\"\nchurn = { dist = \"fixed\", value = \"1MB/s\" }\n";
        let rate = SweepValue::Rate("50Mbit/s".into());
        let out = set_value(links, "link.wan.bandwidth", &rate)
            .unwrap()
            .unwrap();
        assert!(out.contains("bandwidth = \"50Mbit/s\""), "{out}");
        let out = set_value(links, "vm.vm1.churn", &rate).unwrap().unwrap();
        assert!(out.contains("churn = \"50Mbit/s\""), "{out}");
        // Malformed paths and a number where a distribution table stands are errors.
        assert!(set_value(TEXT, "horizon", &v).is_err());
        assert!(set_value(TEXT, "cluster.c1.server_ttf", &SweepValue::Integer(3)).is_err());
        assert!(set_value(TEXT, "cluster.c1.heartbeat_timeout.mean", &v).is_err());
    }
}
