//! Whole-scenario throughput: 10,000 replications x 10 simulated years of
//! scenarios/standalone_ecx.toml, and 1,000 of scenarios/cluster_set.toml (three clusters, a
//! witness, the master's control logic, one VM), in replication-years per second.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ecxsim::run::{run, RunOptions};

fn bench(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/standalone_ecx.toml");
    let scenario = ecxsim::scenario::load(&path).expect("example scenario");
    let years = scenario.simulation.horizon as f64 / ecxsim::time::MICROS_PER_YEAR as f64;
    let replications = 10_000;
    let mut group = c.benchmark_group("standalone_ecx");
    group.throughput(Throughput::Elements((replications as f64 * years) as u64));
    group.sample_size(10);
    for threads in [1, 2] {
        let options = RunOptions {
            replications,
            seed: 42,
            threads: Some(threads),
            keep_outages: false,
        };
        group.bench_function(format!("10k_replications_x_10y_{threads}_threads"), |b| {
            b.iter(|| run(&scenario, &options, |_| Ok(())).expect("runs"))
        });
    }
    group.finish();

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/cluster_set.toml");
    let scenario = ecxsim::scenario::load(&path).expect("example scenario");
    let replications = 1_000;
    let mut group = c.benchmark_group("cluster_set");
    group.throughput(Throughput::Elements((replications as f64 * years) as u64));
    group.sample_size(10);
    let options = RunOptions {
        replications,
        seed: 42,
        threads: Some(2),
        keep_outages: false,
    };
    group.bench_function("1k_replications_x_10y_2_threads", |b| {
        b.iter(|| run(&scenario, &options, |_| Ok(())).expect("runs"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
