//! `--shard K/N`: the K-th of N parts of a run, computed on its own (one task of a job array)
//! and combined with the others by `ecxsim merge`. A part is made of whole units: chunks of
//! replications (see `run::CHUNK`) for `run` and `compare`, whole values for `sweep`, so that
//! the merged accumulators are reduced in exactly the order one run reduces them.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::compare::CompareAccumulator;
use crate::model::ReplicationResult;
use crate::partial::ChunkWriter;
use crate::run::{chunk_count, run_in_chunks, RunError, RunOptions, CHUNK};
use crate::scenario::Scenario;

/// Shard `index` of `count`, counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let expected = "expected K/N, two whole numbers with 1 <= K <= N, e.g. 1/4";
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?}: {expected}"))?;
        let number = |part: &str| -> Result<u64, String> {
            part.trim()
                .parse()
                .map_err(|_| format!("{text:?}: {part:?} is not a whole number; {expected}"))
        };
        let (index, count) = (number(k)?, number(n)?);
        if count == 0 {
            return Err(format!(
                "{text:?}: N, the number of shards, must be at least 1"
            ));
        }
        if index == 0 || index > count {
            return Err(format!(
                "{text:?}: K counts the shards from 1 to N, so it must be from 1 to {count}"
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a sharded command divides between its shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Units {
    /// The chunks of one run of replications (`run`, `compare`).
    Chunks,
    /// The values of a sweep, each a whole run.
    Points,
}

impl Shard {
    /// The shard's part of `units` consecutive units: the K-th of N ranges that differ in
    /// length by at most one.
    pub fn part(&self, units: u64) -> Range<u64> {
        let at = |k: u64| (u128::from(k) * u128::from(units) / u128::from(self.count)) as u64;
        at(self.index - 1)..at(self.index)
    }

    /// The work of this shard: each point it computes with the chunks it computes of it, in
    /// the order the merge reads them. `replications` holds each point's replications.
    /// Refuses more shards than units: a shard with nothing to compute is a mistake (a job
    /// array sized for another run), not a speed-up.
    pub fn work(
        &self,
        units: Units,
        replications: &[u64],
    ) -> Result<Vec<(usize, Range<u64>)>, String> {
        match units {
            Units::Chunks => {
                let total = replications.first().copied().unwrap_or(0);
                let chunks = chunk_count(total);
                if self.count > chunks {
                    return Err(format!(
                        "--shard {self}: {total} replications make {chunks} chunk{} of {CHUNK} \
                         (a shard computes whole chunks), so at most {chunks} shard{}; use \
                         fewer shards or more replications",
                        plural(chunks),
                        plural(chunks)
                    ));
                }
                Ok(vec![(0, self.part(chunks))])
            }
            Units::Points => {
                let points = replications.len() as u64;
                if self.count > points {
                    return Err(format!(
                        "--shard {self}: the sweep has {points} value{} (a shard computes whole \
                         values), so at most {points} shard{}; use fewer shards",
                        plural(points),
                        plural(points)
                    ));
                }
                Ok(self
                    .part(points)
                    .map(|p| (p as usize, 0..chunk_count(replications[p as usize])))
                    .collect())
            }
        }
    }
}

/// Runs a shard's `work` (see `Shard::work`) of `points` (each point's scenarios and options)
/// and writes each chunk's accumulators to `chunks` as it completes; `each` sees every
/// replication's results in index order (for `run`'s CSV rows).
pub fn run_shard(
    points: &[(Vec<&Scenario>, RunOptions)],
    work: &[(usize, Range<u64>)],
    chunks: &mut ChunkWriter,
    mut each: impl FnMut(&[ReplicationResult]) -> std::io::Result<()>,
) -> Result<(), RunError> {
    for (point, range) in work {
        let (scenarios, options) = &points[*point];
        let empty = CompareAccumulator::new(scenarios);
        run_in_chunks(
            scenarios,
            options,
            range.clone(),
            &empty,
            |acc, results| {
                acc.push(results);
                each(results)
            },
            |chunk, acc| chunks.write(*point, chunk, acc),
        )?;
    }
    Ok(())
}

/// The replications a shard's `work` simulates (for the work estimate).
pub fn replications_of(work: &[(usize, Range<u64>)], replications: &[u64]) -> u64 {
    work.iter()
        .map(|(point, chunks)| {
            let r = crate::run::chunk_replications(chunks, replications[*point]);
            r.end - r.start
        })
        .sum()
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n_and_refuses_the_rest() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        for (bad, says) in [
            ("0/4", "from 1 to 4"),
            ("5/4", "from 1 to 4"),
            ("1/0", "at least 1"),
            ("a/b", "not a whole number"),
            ("3", "expected K/N"),
            ("-1/4", "not a whole number"),
        ] {
            let err = bad.parse::<Shard>().unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn parts_cover_the_units_once_in_order() {
        for count in 1..=7 {
            let mut next = 0;
            for index in 1..=count {
                let part = Shard { index, count }.part(7);
                assert_eq!(part.start, next);
                assert!(part.end - part.start >= 1);
                next = part.end;
            }
            assert_eq!(next, 7);
        }
        let shard = Shard { index: 4, count: 4 };
        let work = shard.work(Units::Chunks, &[4 * CHUNK - 1]).unwrap();
        assert_eq!(work, vec![(0, 3..4)]);
        let err = shard.work(Units::Chunks, &[2000]).unwrap_err();
        assert!(err.contains("2000 replications make 2 chunks"), "{err}");
        let work = shard.work(Units::Points, &[10, 3000, 5, 1]).unwrap();
        assert_eq!(work, vec![(3, 0..1)]);
        assert!(shard.work(Units::Points, &[10, 10]).is_err());
    }
}
