//! `ecxsim merge`: combines the partial results of a sharded run (see `partial`) into the
//! reports one run of the same command, scenarios and seed gives. Partials that do not belong
//! together (another command, scenario, seed, replication count, ecxsim build or shard count),
//! a missing or duplicated shard, and a damaged file are refused, naming the folder.
//!
//! Accumulators are folded in chunk order with the same `run::fold_chunk` a single run uses,
//! so the numbers have the same bits; a chunk at a time is read, so memory does not grow with
//! the number of replications.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::analysis::summary::Report;
use crate::compare::{CompareAccumulator, CompareReport};
use crate::partial::{
    next_line, ChunkLine, Digest, Digesting, Partial, ACCUMULATORS_FILE, FORMAT, PARTIAL_FILE,
};
use crate::report::atomic::AtomicFile;
use crate::run::{fold_chunk, RunOptions};
use crate::sweep::{parse_values, sweep_report, SweepReport};

/// The largest partial.json read (a sweep of 1000 values with its scenarios' labels takes a
/// few hundred KiB).
const MAX_PARTIAL_BYTES: u64 = 16 << 20;
/// The longest CSV header read (a whole run's is a few hundred bytes).
const MAX_HEADER_BYTES: usize = 64 << 10;

/// A partial result and the folder it was read from.
pub struct Input {
    pub dir: PathBuf,
    pub partial: Partial,
}

impl Input {
    fn shown(&self) -> String {
        self.dir.display().to_string()
    }

    /// Opens one of the partial's data files, which partial.json must list.
    fn open(&self, name: &str) -> Result<(Digesting<File>, &Digest), String> {
        let expected = self.partial.files.get(name).ok_or_else(|| {
            format!(
                "{}: partial.json lists no {name}; the partial result is incomplete",
                self.shown()
            )
        })?;
        let file = File::open(self.dir.join(name))
            .map_err(|e| format!("{}: cannot read {name}: {e}", self.shown()))?;
        Ok((Digesting::new(file), expected))
    }

    /// Refuses a file whose bytes are not those the shard wrote.
    fn check_digest(&self, name: &str, read: &Digest, expected: &Digest) -> Result<(), String> {
        if read == expected {
            return Ok(());
        }
        Err(format!(
            "{}: {name} is damaged ({} bytes read, partial.json says {}; or its content \
             differs): run this shard again",
            self.shown(),
            read.bytes,
            expected.bytes
        ))
    }
}

/// Reads the partial result in `dir`.
pub fn read(dir: &Path) -> Result<Input, String> {
    let shown = dir.display();
    if !dir.is_dir() {
        return Err(format!("{shown}: not a folder (expected a partial result)"));
    }
    let path = dir.join(PARTIAL_FILE);
    let not_partial = || {
        format!(
            "{shown} is not a partial result of ecxsim (no {PARTIAL_FILE}); \
             `ecxsim run|compare|sweep ... --shard K/N --out DIR` writes one"
        )
    };
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_partial()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut text = String::new();
    file.take(MAX_PARTIAL_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: cannot read it: {e}", path.display()))?;
    if text.len() as u64 > MAX_PARTIAL_BYTES {
        return Err(format!(
            "{}: larger than {MAX_PARTIAL_BYTES} bytes; not a partial result",
            path.display()
        ));
    }
    let partial: Partial = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a readable partial result ({e}); run this shard again",
            path.display()
        )
    })?;
    if partial.format != FORMAT {
        return Err(not_partial());
    }
    let input = Input {
        dir: dir.to_path_buf(),
        partial,
    };
    let invalid = |why: String| {
        format!(
            "{}: {PARTIAL_FILE} describes no valid shard: {why}",
            input.shown()
        )
    };
    input.partial.work().map_err(invalid)?;
    if input.partial.command == crate::partial::Command::Sweep {
        let values = input.partial.values.as_deref().unwrap_or_default();
        let count = parse_values(values)
            .map_err(|e| invalid(e.to_string()))?
            .len();
        if count != input.partial.points.len() || input.partial.param.is_none() {
            return Err(invalid(format!(
                "--values {values:?} do not match its points"
            )));
        }
    }
    Ok(input)
}

/// What makes `other` a shard of another run than `first`, in words; `None` if they belong
/// together.
fn mismatch(first: &Input, other: &Input) -> Option<String> {
    let (a, b) = (&first.partial, &other.partial);
    let there = first.shown();
    if (&a.ecxsim_version, &a.build) != (&b.ecxsim_version, &b.build) {
        return Some(format!(
            "made by ecxsim {} (build {}), but {there} by ecxsim {} (build {}); run every \
             shard with the same ecxsim",
            b.ecxsim_version, b.build, a.ecxsim_version, a.build
        ));
    }
    if a.command != b.command {
        return Some(format!(
            "a shard of `{}`, but {there} of `{}`",
            b.command.name(),
            a.command.name()
        ));
    }
    if a.shard.count != b.shard.count {
        return Some(format!(
            "one of {} shards, but {there} one of {}",
            b.shard.count, a.shard.count
        ));
    }
    if a.outages != b.outages {
        let with = |o: bool| if o { "with" } else { "without" };
        return Some(format!(
            "run {} --outages, but {there} {} it",
            with(b.outages),
            with(a.outages)
        ));
    }
    if (&a.param, &a.values) != (&b.param, &b.values) {
        let sweep = |p: &Partial| match (&p.param, &p.values) {
            (Some(param), Some(values)) => format!("--param {param} --values {values}"),
            _ => "no sweep".to_string(),
        };
        return Some(format!("has {}, but {there} {}", sweep(b), sweep(a)));
    }
    let values = |p: &Partial| -> Vec<String> {
        p.points
            .iter()
            .map(|p| p.value.clone().unwrap_or_default())
            .collect()
    };
    if values(a) != values(b) {
        return Some(format!(
            "has the values {}, but {there} {}",
            values(b).join(","),
            values(a).join(",")
        ));
    }
    for (pa, pb) in a.points.iter().zip(&b.points) {
        let at = pa
            .value
            .as_ref()
            .map_or(String::new(), |v| format!(" at {v}"));
        if pa.seed != pb.seed {
            return Some(format!(
                "has seed {}{at}, but {there} seed {}",
                pb.seed, pa.seed
            ));
        }
        if pa.replications != pb.replications {
            return Some(format!(
                "has {} replications{at}, but {there} {}",
                pb.replications, pa.replications
            ));
        }
        let names = |p: &crate::partial::Point| -> Vec<String> {
            p.scenarios.iter().map(|s| s.label.name.clone()).collect()
        };
        if names(pa) != names(pb) {
            return Some(format!(
                "runs the scenarios {}{at}, but {there} {}",
                names(pb).join(", "),
                names(pa).join(", ")
            ));
        }
        for (sa, sb) in pa.scenarios.iter().zip(&pb.scenarios) {
            if sa != sb {
                return Some(format!(
                    "ran a different scenario {}{at} than {there} (its content, horizon or \
                     warmup differ: another file, or other @PATH=VALUE changes)",
                    sb.label.name
                ));
            }
        }
    }
    None
}

/// Reads the partial results in `dirs` and checks that they are the shards of one run, each
/// once: gives them in shard order.
pub fn gather(dirs: &[PathBuf]) -> Result<Vec<Input>, String> {
    let mut inputs = dirs
        .iter()
        .map(|d| read(d))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = inputs.first() else {
        return Err("no partial result given".to_string());
    };
    for other in &inputs[1..] {
        if let Some(why) = mismatch(first, other) {
            return Err(format!(
                "{}: cannot be merged with the others: {why}",
                other.shown()
            ));
        }
    }
    let count = first.partial.shard.count;
    let mut by_index: BTreeMap<u64, &Input> = BTreeMap::new();
    for input in &inputs {
        let shard = input.partial.shard;
        if let Some(earlier) = by_index.insert(shard.index, input) {
            return Err(format!(
                "shard {shard} given twice: {} and {}",
                earlier.shown(),
                input.shown()
            ));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|k| !by_index.contains_key(k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    match missing.len() {
        0 => {}
        1 => return Err(format!("shard {} is missing", missing[0])),
        _ => return Err(format!("shards {} are missing", missing.join(", "))),
    }
    inputs.sort_by_key(|i| i.partial.shard.index);
    Ok(inputs)
}

/// Folds the shards' accumulators, chunk by chunk in reduction order: one total per point.
pub fn fold(inputs: &[Input]) -> Result<Vec<CompareAccumulator>, String> {
    let points = inputs.first().map_or(0, |i| i.partial.points.len());
    let mut totals: Vec<Option<CompareAccumulator>> = vec![None; points];
    for input in inputs {
        let name = ACCUMULATORS_FILE;
        let (file, expected) = input.open(name)?;
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let mut number = 0;
        let damaged = |number: usize, why: String| {
            format!(
                "{}: {name} line {number}: {why}; run this shard again",
                input.shown()
            )
        };
        let work = input.partial.work()?;
        for (point, chunks) in work {
            for chunk in chunks {
                number += 1;
                let read = next_line(&mut reader, &mut line)
                    .map_err(|e| damaged(number, e.to_string()))?;
                if read.is_none() {
                    return Err(damaged(number, format!("missing (chunk {chunk} expected)")));
                }
                let state: ChunkLine = serde_json::from_slice(&line)
                    .map_err(|e| damaged(number, format!("not an accumulator state ({e})")))?;
                if (state.point, state.chunk) != (point, chunk) {
                    return Err(damaged(
                        number,
                        format!(
                            "holds point {} chunk {}, expected point {point} chunk {chunk}",
                            state.point, state.chunk
                        ),
                    ));
                }
                let total = &mut totals[point];
                if total.as_ref().is_some_and(|t| !t.same_shape(&state.state)) {
                    return Err(damaged(
                        number,
                        "its scenarios' services differ from the other chunks'".to_string(),
                    ));
                }
                fold_chunk(total, state.state);
            }
        }
        if next_line(&mut reader, &mut line)
            .map_err(|e| damaged(number + 1, e.to_string()))?
            .is_some()
        {
            return Err(damaged(
                number + 1,
                "more chunks than the shard computes".to_string(),
            ));
        }
        input.check_digest(name, &reader.into_inner().digest(), expected)?;
    }
    totals
        .into_iter()
        .enumerate()
        .map(|(p, t)| t.ok_or_else(|| format!("no shard holds point {p}")))
        .collect()
}

/// Writes `name` (replications.csv, outages.csv) into `out` as one run writes it: the
/// header once, then every shard's rows in shard order.
pub fn concatenate(inputs: &[Input], name: &str, out: &Path) -> Result<(), String> {
    let target = out.join(name);
    let mut file = AtomicFile::create(&target)
        .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    let mut first_header: Option<Vec<u8>> = None;
    for input in inputs {
        let (mut reader, expected) = input.open(name)?;
        let mut header = Vec::new();
        let mut in_header = true;
        let mut buffer = vec![0; 64 * 1024];
        let failed = |e: io::Error| format!("{}: cannot copy {name}: {e}", input.shown());
        loop {
            let n = reader.read(&mut buffer).map_err(failed)?;
            if n == 0 {
                break;
            }
            let mut rows = &buffer[..n];
            if in_header {
                match rows.iter().position(|&b| b == b'\n') {
                    Some(end) => {
                        header.extend_from_slice(&rows[..=end]);
                        rows = &rows[end + 1..];
                        in_header = false;
                    }
                    None => {
                        header.extend_from_slice(rows);
                        rows = &[];
                    }
                }
                if header.len() > MAX_HEADER_BYTES {
                    return Err(format!(
                        "{}: {name} has no header line; the partial result is damaged",
                        input.shown()
                    ));
                }
                if !in_header {
                    match &first_header {
                        None => {
                            file.write_all(&header).map_err(failed)?;
                            first_header = Some(header.clone());
                        }
                        Some(first) if *first != header => {
                            return Err(format!(
                                "{}: {name} has other columns than the other shards'",
                                input.shown()
                            ));
                        }
                        Some(_) => {}
                    }
                }
            }
            file.write_all(rows).map_err(failed)?;
        }
        input.check_digest(name, &reader.digest(), expected)?;
        if in_header {
            return Err(format!(
                "{}: {name} has no header line; the partial result is damaged",
                input.shown()
            ));
        }
    }
    file.commit()
        .map_err(|e| format!("cannot write {}: {e}", target.display()))
}

/// The merged reports, as the command of the partials gives them.
pub enum Merged {
    Run(Box<Report>),
    Compare(Box<CompareReport>),
    Sweep(Box<SweepReport>),
}

/// The reports of the folded totals (one per point of `first`, the partial that describes
/// them all).
pub fn reports(first: &Partial, totals: &[CompareAccumulator]) -> Merged {
    let compared: Vec<CompareReport> = first
        .points
        .iter()
        .zip(totals)
        .map(|(point, total)| {
            let options = RunOptions {
                replications: point.replications,
                seed: point.seed,
                threads: None,
                keep_outages: false,
            };
            total.report(&point.labels(), &options)
        })
        .collect();
    match first.command {
        crate::partial::Command::Run => Merged::Run(Box::new(
            compared
                .into_iter()
                .next()
                .and_then(|c| c.scenarios.into_iter().next())
                .unwrap_or_default(),
        )),
        crate::partial::Command::Compare => Merged::Compare(Box::new(
            compared.into_iter().next().unwrap_or(CompareReport {
                scenarios: Vec::new(),
                differences: Vec::new(),
            }),
        )),
        crate::partial::Command::Sweep => {
            // The values as the sweep read them (checked readable when the partial was read).
            let values = first
                .values
                .as_deref()
                .map_or(Ok(Vec::new()), parse_values)
                .unwrap_or_default();
            Merged::Sweep(Box::new(sweep_report(
                first.param.as_deref().unwrap_or_default(),
                &values,
                &compared,
            )))
        }
    }
}
