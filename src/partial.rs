//! A partial result: what one shard of a run (`--shard K/N`) leaves in its output folder for
//! `ecxsim merge`. `partial.json` says what was run (command, each scenario's label and a hash
//! of its content after the overrides, seed, replications, the ecxsim version and build, the
//! shard) and holds a digest of every other file; `accumulators.jsonl` holds, a line per chunk
//! of replications in reduction order, the exact accumulator state (`CompareAccumulator`'s
//! derived JSON, whose floats read back to the bit); `replications.csv` and `outages.csv`
//! (`run` only) hold the shard's rows, after the same header a whole run writes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::compare::CompareAccumulator;
use crate::report::atomic::{self, AtomicFile};
use crate::run::{RunOptions, ScenarioLabel};
use crate::scenario::Scenario;
use crate::shard::{Shard, Units};

pub const PARTIAL_FILE: &str = "partial.json";
pub const ACCUMULATORS_FILE: &str = "accumulators.jsonl";
/// What `format` says in every partial.json.
pub const FORMAT: &str = "ecxsim partial result";
/// The package version and a hash of the sources it was built from (see build.rs).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const BUILD: &str = env!("ECXSIM_BUILD");

/// The command a partial result is a shard of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    Run,
    Compare,
    Sweep,
}

impl Command {
    pub fn name(self) -> &'static str {
        match self {
            Command::Run => "run",
            Command::Compare => "compare",
            Command::Sweep => "sweep",
        }
    }

    /// `run` and `compare` divide the chunks of their one run, `sweep` its values.
    pub fn units(self) -> Units {
        match self {
            Command::Run | Command::Compare => Units::Chunks,
            Command::Sweep => Units::Points,
        }
    }
}

/// A scenario as it ran: its label for the report and a hash of everything it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointScenario {
    #[serde(flatten)]
    pub label: ScenarioLabel,
    /// FNV-1a of the validated scenario (after `@PATH=VALUE` and sweep values, with the
    /// contents of the files it reads), not of its file's text.
    pub content: String,
}

impl PointScenario {
    pub fn of(scenario: &Scenario) -> PointScenario {
        // The path names the file on this machine; two machines may keep it elsewhere.
        let mut model = scenario.clone();
        model.path = Default::default();
        PointScenario {
            label: ScenarioLabel::of(scenario),
            content: hex(fnv1a(FNV_OFFSET, format!("{model:?}").as_bytes())),
        }
    }
}

/// One run of scenarios on common random numbers: the whole of `run` and `compare`, one value
/// of `sweep`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The swept value; absent for `run` and `compare`.
    pub value: Option<String>,
    pub seed: u64,
    pub replications: u64,
    pub scenarios: Vec<PointScenario>,
}

impl Point {
    pub fn new(value: Option<String>, scenarios: &[&Scenario], options: &RunOptions) -> Point {
        Point {
            value,
            seed: options.seed,
            replications: options.replications,
            scenarios: scenarios.iter().map(|s| PointScenario::of(s)).collect(),
        }
    }

    pub fn labels(&self) -> Vec<ScenarioLabel> {
        self.scenarios.iter().map(|s| s.label.clone()).collect()
    }
}

/// A file's size and FNV-1a hash, to tell a complete file from a damaged one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub bytes: u64,
    pub fnv1a: String,
}

/// `partial.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    pub format: String,
    pub ecxsim_version: String,
    pub build: String,
    pub command: Command,
    /// `run --outages`: the shard wrote outages.csv.
    pub outages: bool,
    /// `sweep --param`.
    pub param: Option<String>,
    /// `sweep --values`, as given: the merge reads the values from it as the sweep did.
    pub values: Option<String>,
    pub points: Vec<Point>,
    pub shard: Shard,
    /// Every other file of the partial result.
    pub files: BTreeMap<String, Digest>,
}

impl Partial {
    pub fn new(command: Command, points: Vec<Point>, shard: Shard) -> Partial {
        Partial {
            format: FORMAT.to_string(),
            ecxsim_version: VERSION.to_string(),
            build: BUILD.to_string(),
            command,
            outages: false,
            param: None,
            values: None,
            points,
            shard,
            files: BTreeMap::new(),
        }
    }

    /// The points and chunks this shard computed, in reduction order.
    pub fn work(&self) -> Result<Vec<(usize, std::ops::Range<u64>)>, String> {
        let replications: Vec<u64> = self.points.iter().map(|p| p.replications).collect();
        self.shard.work(self.command.units(), &replications)
    }

    /// Writes partial.json into `dir`, after the digests of the files already there.
    pub fn write(mut self, dir: &Path, files: &[&str]) -> io::Result<()> {
        for name in files {
            self.files
                .insert(name.to_string(), digest(&dir.join(name))?);
        }
        let text = serde_json::to_string_pretty(&self).expect("partials serialise") + "\n";
        atomic::write(&dir.join(PARTIAL_FILE), text.as_bytes())
    }
}

/// One line of accumulators.jsonl.
#[derive(Serialize, Deserialize)]
pub struct ChunkLine {
    pub point: usize,
    pub chunk: u64,
    pub state: CompareAccumulator,
}

/// Writes accumulators.jsonl, a chunk at a time as each completes.
pub struct ChunkWriter {
    file: AtomicFile,
}

impl ChunkWriter {
    pub fn create(dir: &Path) -> io::Result<ChunkWriter> {
        Ok(ChunkWriter {
            file: AtomicFile::create(&dir.join(ACCUMULATORS_FILE))?,
        })
    }

    pub fn write(&mut self, point: usize, chunk: u64, state: CompareAccumulator) -> io::Result<()> {
        let line = ChunkLine {
            point,
            chunk,
            state,
        };
        serde_json::to_writer(&mut self.file, &line).map_err(io::Error::other)?;
        self.file.write_all(b"\n")
    }

    pub fn commit(self) -> io::Result<()> {
        self.file.commit()
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, 64 bits, continued from `hash` (start from `FNV_OFFSET`).
pub fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn hex(hash: u64) -> String {
    format!("{hash:016x}")
}

/// A reader that keeps the digest of what has been read through it.
pub struct Digesting<R> {
    inner: R,
    bytes: u64,
    hash: u64,
}

impl<R: Read> Digesting<R> {
    pub fn new(inner: R) -> Digesting<R> {
        Digesting {
            inner,
            bytes: 0,
            hash: FNV_OFFSET,
        }
    }

    pub fn digest(&self) -> Digest {
        Digest {
            bytes: self.bytes,
            fnv1a: hex(self.hash),
        }
    }
}

impl<R: Read> Read for Digesting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        self.hash = fnv1a(self.hash, &buf[..n]);
        Ok(n)
    }
}

pub fn digest(path: &Path) -> io::Result<Digest> {
    let mut reader = Digesting::new(File::open(path)?);
    io::copy(&mut reader, &mut io::sink())?;
    Ok(reader.digest())
}

/// The longest line of accumulators.jsonl read: far more than a chunk's state needs, and a
/// bound on what a damaged file can make the merge allocate.
pub const MAX_LINE_BYTES: u64 = 64 << 20;

/// Reads lines of at most `MAX_LINE_BYTES` (without their newline); `None` at the end.
pub fn next_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<Option<()>> {
    line.clear();
    let n = reader
        .by_ref()
        .take(MAX_LINE_BYTES + 1)
        .read_until(b'\n', line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if n as u64 > MAX_LINE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a line longer than {MAX_LINE_BYTES} bytes"),
        ));
    }
    Ok(Some(()))
}
