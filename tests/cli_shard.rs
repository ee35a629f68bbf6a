//! Sharded runs: `run`, `compare` and `sweep --shard K/N` write partial results, and `merge`
//! turns all N of them, given in any order, into the very bytes one run writes. Shards that do
//! not belong together, missing or duplicated shards, bad `--shard` values and damaged
//! partial results are refused with exit 2, naming what is wrong.

mod common;

use std::path::Path;

use common::{ecxsim, root, snapshot, succeeds};

/// Runs ecxsim, which must refuse with exit 2 and no panic; its standard error.
fn refused(args: &[&str]) -> String {
    let out = ecxsim(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

/// An example scenario with a short horizon, so that a few thousand replications run in a
/// moment.
fn short(dir: &Path, example: &str, horizon: &str) -> String {
    let text = std::fs::read_to_string(root().join("scenarios").join(example)).unwrap();
    let text = text.replacen("horizon = \"10y\"", &format!("horizon = \"{horizon}\""), 1);
    assert!(text.contains(horizon));
    let file = dir.join(example);
    std::fs::write(&file, text).unwrap();
    file.to_string_lossy().into_owned()
}

/// Runs `args` as shards `order` of `n` into `dir/shard-K`; gives the folders in that order.
fn shards(dir: &Path, args: &[&str], n: u64, order: &[u64]) -> Vec<String> {
    order
        .iter()
        .map(|k| {
            let out = path(dir, &format!("shard-{k}"));
            let shard = format!("{k}/{n}");
            let said = succeeds(&[args, &["--shard", &shard, "--out", &out]].concat());
            assert!(said.contains(&format!("shard {shard}")), "{said}");
            out
        })
        .collect()
}

/// Runs `args` once and as `n` shards given to `merge` in `order`, and checks that the merge
/// wrote exactly the single run's files (`expected` among them), byte for byte.
fn assert_shards_merge_to_one_run(args: &[&str], n: u64, order: &[u64], expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let whole = path(dir.path(), "whole");
    succeeds(&[args, &["--out", &whole]].concat());
    let partials = shards(dir.path(), args, n, order);
    let partial = snapshot(Path::new(&partials[0]));
    assert!(partial.contains_key("partial.json") && partial.contains_key("accumulators.jsonl"));
    let merged = path(dir.path(), "merged");
    let merge: Vec<&str> = ["merge"]
        .into_iter()
        .chain(partials.iter().map(String::as_str))
        .chain(["--out", &merged])
        .collect();
    succeeds(&merge);
    let (whole, merged) = (snapshot(Path::new(&whole)), snapshot(Path::new(&merged)));
    for file in expected {
        assert!(whole.contains_key(*file), "the single run wrote no {file}");
    }
    assert_eq!(
        whole.keys().collect::<Vec<_>>(),
        merged.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &whole {
        assert!(
            merged[name] == *bytes,
            "{name} differs from the single run's"
        );
    }
}

#[test]
fn four_shards_of_a_run_merge_to_the_single_runs_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = short(dir.path(), "cluster_set.toml", "30d");
    // Four chunks, the last one short; the shards given out of order.
    assert_shards_merge_to_one_run(
        &["run", &scenario, "--replications", "3500", "--outages"],
        4,
        &[3, 1, 4, 2],
        &[
            "summary.json",
            "replications.csv",
            "outages.csv",
            "report.html",
            "availability-vm1.png",
            "data-loss-vm1.svg",
        ],
    );
}

#[test]
fn shards_of_a_compare_merge_to_the_single_runs_bytes() {
    assert_shards_merge_to_one_run(
        &[
            "compare",
            "scenarios/standalone_ecx.toml@simulation.horizon=30d",
            "scenarios/cluster_set.toml@simulation.horizon=30d",
            "--replications",
            "2100",
        ],
        3,
        &[2, 3, 1],
        &["compare.json", "report.html", "data-loss-vm1.png"],
    );
}

#[test]
fn shards_of_a_sweep_merge_to_the_single_runs_bytes() {
    // Each value two chunks, each shard one value.
    assert_shards_merge_to_one_run(
        &[
            "sweep",
            "scenarios/standalone_ecx.toml@simulation.horizon=1y",
            "--param",
            "cluster.cluster1.shared_disk.ttf.mean",
            "--values",
            "2000h..20000h:3",
            "--replications",
            "1500",
        ],
        3,
        &[3, 1, 2],
        &[
            "sweep.json",
            "sweep.csv",
            "report.html",
            "sweep-downtime-vm1.svg",
        ],
    );
}

#[test]
fn bad_shard_values_are_usage_errors() {
    let example = "scenarios/standalone_ecx.toml";
    for (shard, says) in [
        ("0/4", "from 1 to 4"),
        ("5/4", "from 1 to 4"),
        ("1/0", "at least 1"),
        ("a/b", "not a whole number"),
    ] {
        let err = refused(&["run", example, "--replications", "10", "--shard", shard]);
        assert!(
            err.contains("--shard") && err.contains(says),
            "{shard}: {err}"
        );
    }
    let err = refused(&["run", example, "--replications", "2000", "--shard", "1/4"]);
    assert!(
        err.contains("2000 replications make 2 chunks") && err.contains("at most 2 shards"),
        "{err}"
    );
    let err = refused(&[
        "sweep",
        example,
        "--param",
        "cluster.cluster1.heartbeat_timeout",
        "--values",
        "30s,60s",
        "--shard",
        "3/3",
    ]);
    assert!(
        err.contains("2 values") && err.contains("at most 2 shards"),
        "{err}"
    );
}

/// `run SCENARIO --replications R --shard K/N --out OUT`, which must succeed.
fn run_shard(scenario: &str, replications: &str, shard: &str, out: &str) {
    succeeds(&[
        "run",
        scenario,
        "--replications",
        replications,
        "--shard",
        shard,
        "--out",
        out,
    ]);
}

/// Two shards of a short standalone run (two chunks), with `extra` options for shard 2.
fn pair(dir: &Path, name: &str, extra: &[&str]) -> [String; 2] {
    let scenario = path(&root(), "scenarios/standalone_ecx.toml");
    let base = ["run", &scenario, "--replications", "1100"];
    let one = path(dir, &format!("{name}-1"));
    let two = path(dir, &format!("{name}-2"));
    run_shard(&scenario, "1100", "1/2", &one);
    succeeds(&[&base[..], extra, &["--shard", "2/2", "--out", &two]].concat());
    [one, two]
}

#[test]
fn shards_that_do_not_belong_together_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let [one, two] = pair(d, "same", &[]);
    let out = path(d, "out");

    let err = refused(&["merge", &one, "--out", &out]);
    assert!(err.contains("shard 2/2 is missing"), "{err}");
    let err = refused(&["merge", &one, &two, &two, "--out", &out]);
    assert!(
        err.contains(&format!("shard 2/2 given twice: {two} and {two}")),
        "{err}"
    );
    let err = refused(&["merge", &one, &two, "--out", &one]);
    assert!(err.contains("is the partial result"), "{err}");

    let [_, seeded] = pair(d, "seed", &["--seed", "7"]);
    let err = refused(&["merge", &one, &seeded, "--out", &out]);
    assert!(err.contains(&seeded) && err.contains("seed 7"), "{err}");

    let longer = path(d, "longer");
    let scenario = path(&root(), "scenarios/standalone_ecx.toml");
    run_shard(&scenario, "1200", "2/2", &longer);
    let err = refused(&["merge", &one, &longer, "--out", &out]);
    assert!(
        err.contains(&longer) && err.contains("1200 replications"),
        "{err}"
    );

    let other = short(d, "standalone_ecx.toml", "5y");
    let three = path(d, "three");
    run_shard(&other, "1100", "2/2", &three);
    let err = refused(&["merge", &one, &three, "--out", &out]);
    assert!(
        err.contains(&three) && err.contains("different scenario"),
        "{err}"
    );

    let of_three = path(d, "of-three");
    run_shard(&scenario, "3100", "2/3", &of_three);
    let err = refused(&["merge", &one, &of_three, "--out", &out]);
    assert!(err.contains("one of 3 shards"), "{err}");

    let compared = path(d, "compared");
    succeeds(&[
        "compare",
        &scenario,
        &scenario,
        "--replications",
        "1100",
        "--shard",
        "2/2",
        "--out",
        &compared,
    ]);
    let err = refused(&["merge", &one, &compared, "--out", &out]);
    assert!(err.contains("a shard of `compare`"), "{err}");

    // Another build of ecxsim (its model may differ).
    let partial_json = Path::new(&two).join("partial.json");
    let text = std::fs::read_to_string(&partial_json).unwrap();
    let build = text.find("\"build\": \"").unwrap() + 10;
    let mut other_build = text.clone();
    other_build.replace_range(build..build + 16, "0123456789abcdef");
    std::fs::write(&partial_json, other_build).unwrap();
    let err = refused(&["merge", &one, &two, "--out", &out]);
    assert!(
        err.contains(&two) && err.contains("build 0123456789abcdef"),
        "{err}"
    );
    std::fs::write(&partial_json, text).unwrap();
    succeeds(&["merge", &one, &two, "--out", &out]);
    // A shard run again into its folder replaces its partial result; the merge replaces its
    // output.
    let scenario = path(&root(), "scenarios/standalone_ecx.toml");
    run_shard(&scenario, "1100", "2/2", &two);
    succeeds(&["merge", &one, &two, "--out", &out]);
}

#[test]
fn folders_that_are_not_partials_or_are_damaged_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let [one, two] = pair(d, "shard", &[]);
    let out = path(d, "out");
    let whole = path(d, "whole");
    let scenario = path(&root(), "scenarios/standalone_ecx.toml");
    succeeds(&["run", &scenario, "--replications", "10", "--out", &whole]);
    let err = refused(&["merge", &one, &whole, "--out", &out]);
    assert!(
        err.contains(&format!("{whole} is not a partial result")),
        "{err}"
    );

    // One digit changed: still valid JSON, but not what the shard wrote.
    let damage = |file: &str, edit: &dyn Fn(&str) -> String| {
        let p = Path::new(&two).join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, edit(&text)).unwrap();
        text
    };
    let original = damage("accumulators.jsonl", &|t| {
        t.replacen("\"n\":76", "\"n\":77", 1)
    });
    let err = refused(&["merge", &one, &two, "--out", &out]);
    assert!(err.contains("accumulators.jsonl is damaged"), "{err}");
    damage("accumulators.jsonl", &|_| {
        original[..original.len() / 2].to_string()
    });
    let err = refused(&["merge", &one, &two, "--out", &out]);
    assert!(err.contains("accumulators.jsonl line 1"), "{err}");
    damage("accumulators.jsonl", &|_| original.clone());

    let rows = damage("replications.csv", &|t| t[..t.len() - 10].to_string());
    let err = refused(&["merge", &one, &two, "--out", &out]);
    assert!(err.contains("replications.csv is damaged"), "{err}");
    damage("replications.csv", &|_| rows.clone());

    let meta = damage("partial.json", &|t| t[..t.len() / 2].to_string());
    let err = refused(&["merge", &one, &two, "--out", &out]);
    assert!(
        err.contains("partial.json: not a readable partial result"),
        "{err}"
    );
    damage("partial.json", &|_| meta.clone());

    // Nothing was published by the refused merges; the repaired set merges.
    assert!(!Path::new(&out).exists());
    succeeds(&["merge", &two, &one, "--out", &out]);
    assert!(Path::new(&out).join("summary.json").exists());
}
