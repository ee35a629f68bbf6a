//! Cost as the cluster set grows: a master and N worker clusters (2, 4, 16 and 64... here 4,
//! 16 and 64), each with 8 VMs replicated to the next cluster, the scripts and the master
//! running. The time per VM-year must not grow with N: the world wakes only the clusters and
//! VMs an event concerns.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ecxsim::run::{run, RunOptions};

/// A master cluster and `workers` worker clusters of two servers with a shared disk; VM j of
/// cluster i is replicated to cluster i+1.
pub fn cluster_set(workers: usize, vms_per_cluster: usize) -> String {
    let mut text = String::from(
        "[simulation]\nhorizon = \"10y\"\nreplications = 1\nseed = 1\ncontrol = \"coordinated\"\n\n",
    );
    let cluster = |name: &str, servers: [String; 2]| {
        format!(
            "[[cluster]]\nname = \"{name}\"\nservers = [\"{}\", \"{}\"]\nserver_ttf = {{ dist = \"exponential\", mean = \"8760h\" }}\nserver_ttr = {{ dist = \"lognormal\", median = \"60h\", sigma = 0.6 }}\nrepair_crews = 1\nheartbeat_timeout = \"30s\"\ngroup_start = {{ dist = \"uniform\", min = \"60s\", max = \"180s\" }}\nshared_disk = {{ ttf = {{ dist = \"exponential\", mean = \"8760h\" }}, ttr = \"72h\" }}\n\n",
            servers[0], servers[1]
        )
    };
    text.push_str(&cluster("master", ["m1".into(), "m2".into()]));
    for i in 0..workers {
        text.push_str(&cluster(
            &format!("w{i}"),
            [format!("w{i}a"), format!("w{i}b")],
        ));
    }
    text.push_str("[master]\ncluster = \"master\"\npoll_interval = \"30s\"\nfailure_threshold = 10\n\n[dns]\nttl = \"5m\"\n\n");
    for i in 0..workers {
        for j in 0..vms_per_cluster {
            text.push_str(&format!(
                "[[vm]]\nname = \"vm{i}-{j}\"\ncluster = \"w{i}\"\nreplica_cluster = \"w{}\"\nreplication_interval = \"5m\"\n\n",
                (i + 1) % workers
            ));
        }
    }
    text
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("cluster_set_scale");
    group.sample_size(10);
    for workers in [4, 16, 64] {
        let text = cluster_set(workers, 8);
        let scenario = ecxsim::scenario::parse(std::path::Path::new("scale.toml"), text)
            .expect("generated scenario");
        let replications = (256 / workers).max(2) as u64;
        let vm_years = replications * 10 * (workers * 8) as u64;
        group.throughput(Throughput::Elements(vm_years));
        let options = RunOptions {
            replications,
            seed: 1,
            threads: Some(1),
            keep_outages: false,
        };
        group.bench_function(format!("{workers}_clusters_x_8_vms"), |b| {
            b.iter(|| run(&scenario, &options, |_| Ok(())).expect("runs"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
