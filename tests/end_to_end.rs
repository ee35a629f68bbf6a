//! End to end: `ecxsim serve` runs the simulated clusters; the master runs in production mode
//! against them, as on a real master cluster (the HTTP ECX client, the PowerShell Hyper-V
//! backend through the stand-in, which runs each cmdlet on the served world's Hyper-V, and its
//! own lease service). cluster1 is lost through the inject endpoint; the VM must end up
//! running on cluster2, in the end state the in-process simulation gives for the same loss.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
use common::{free_port, write_private, Deployment, WINRM_USER};

const USER: &str = "admin";
const PASSWORD: &str = "Serve-pa55";
const WINRM_PASSWORD: &str = "Winrm-pa55";
const LEASE_PASSWORD: &str = "Lease-pa55";

/// A master cluster and two worker clusters; vm1 lives on cluster1 and replicates to
/// cluster2. Nothing fails by itself (within the test's hour). `master` is empty for the served world (the production
/// master plays that part) and a `[master]` section for the in-process reference.
fn scenario(master: &str, injects: &str) -> String {
    let cluster = |name: &str, a: &str, b: &str| {
        format!(
            "[[cluster]]\nname = \"{name}\"\nservers = [\"{a}\", \"{b}\"]\nserver_ttf = \"100000y\"\nserver_ttr = \"1h\"\nheartbeat_timeout = \"5s\"\ngroup_start = \"5s\"\n\n"
        )
    };
    format!(
        "[simulation]\nname = \"end-to-end\"\nhorizon = \"1h\"\nreplications = 1\nseed = 1\ncontrol = \"coordinated\"\n\n{}{}{}\
         [[vm]]\nname = \"vm1\"\ncluster = \"cluster1\"\nreplica_cluster = \"cluster2\"\nreplication_interval = \"30s\"\n\n{master}{injects}",
        cluster("master", "m1", "m2"),
        cluster("cluster1", "c1s1", "c1s2"),
        cluster("cluster2", "c2s1", "c2s2"),
    )
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn basic() -> String {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    format!("Basic {token}")
}

fn post(url: &str, body: Value) -> Value {
    let mut r = agent()
        .post(url)
        .header("Authorization", &basic())
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
        .unwrap();
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

fn get(url: &str) -> Value {
    let mut r = agent()
        .get(url)
        .header("Authorization", &basic())
        .call()
        .unwrap();
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

/// vm1's (end state, servers it serves from) in the served world.
fn served_vm(base: &str) -> (String, Vec<String>) {
    let vms = get(&format!("{base}/ecxsim/v1/vms"));
    let vm = &vms["vms"][0];
    let serving = vm["serving"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    (vm["end_state"].as_str().unwrap().to_string(), serving)
}

#[test]
fn the_production_master_fails_a_lost_cluster_over_in_the_served_world() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // The served world.
    std::fs::write(p.join("world.toml"), scenario("", "")).unwrap();
    write_private(&p.join("auth"), &format!("{USER}:{PASSWORD}\n"));
    let mut serve = Command::new(env!("CARGO_BIN_EXE_ecxsim"));
    serve
        .args([
            "serve",
            "world.toml",
            "--port-base",
            "0",
            "--auth-file",
            "auth",
        ])
        .args(["--speed", "10"])
        .current_dir(p)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = serve.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let serve = Killed(child);
    let mut address = std::collections::BTreeMap::new();
    for _ in 0..3 {
        let line = lines.next().unwrap().unwrap();
        let rest = line.strip_prefix("serving ").expect(&line);
        let (cluster, url) = rest.split_once(" at http://").expect(&line);
        address.insert(cluster.to_string(), url.to_string());
    }
    let base = format!("http://{}", address["cluster1"]);
    assert_eq!(
        served_vm(&base),
        ("healthy".to_string(), vec!["c1s1".to_string()])
    );
    // The Hyper-V endpoint answers a cmdlet with its typed outcome, and refuses nonsense.
    let hyperv = format!("{base}/ecxsim/v1/hyperv");
    let listing = post(
        &hyperv,
        json!({"caller": "c2s1", "host": "c2s1", "cmd": {"cmdlet": "list_replication"}}),
    );
    assert_eq!(
        listing["outcome"]["Ok"]["replications"][0]["mode"], "Replica",
        "{listing}"
    );
    for (body, code) in [
        (json!({"caller": "c2s1"}), 400),
        (
            json!({"caller": "nobody", "host": "c2s1", "cmd": {"cmdlet": "list_replication"}}),
            404,
        ),
        (
            json!({"caller": "c2s1", "host": "c2s1", "cmd": {"cmdlet": "format_disk"}}),
            400,
        ),
    ] {
        let answer = post(&hyperv, body.clone());
        assert_eq!(answer["result"]["code"], code, "{body}: {answer}");
    }

    // The master's site: the stand-in shell on m1, answering from the served world.
    write_private(
        &p.join("world-link.json"),
        &json!({
            "url": format!("{base}/ecxsim/v1/hyperv"),
            "user": USER, "password": PASSWORD, "local": "m1",
            "credential": {"user": WINRM_USER, "password": WINRM_PASSWORD},
        })
        .to_string(),
    );
    let lease_port = free_port();
    let group = |c: &str| ecxsim::model::cluster_set::group_name(c);
    let vmcx = |c: &str, side| ecxsim::backend::sim::hyperv::vmcx_path(c, "vm1", side);
    use ecxsim::control::Side;
    Deployment {
        dir: p,
        ecx: (USER, PASSWORD),
        winrm_password: WINRM_PASSWORD,
        lease_password: LEASE_PASSWORD,
        standin: ("ECXSIM_STANDIN_WORLD", &p.join("world-link.json")),
        lease_port,
        groups: [&group("cluster1"), &group("cluster2")],
        addresses: [&address["cluster1"], &address["cluster2"]],
        vmcx: [
            &vmcx("cluster1", Side::Primary),
            &vmcx("cluster2", Side::Replica),
        ],
        sections: &format!(
            "\n[master]\npoll_interval = \"1s\"\nfailure_threshold = 3\n\
             lease_bind = \"127.0.0.1:{lease_port}\"\nstate_file = \"lease-state.json\"\n"
        ),
    }
    .write();
    let master = Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .args(["master", "--config", "ecxsim.toml"])
        .current_dir(p)
        .env("COMPUTERNAME", "m1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(p.join("master.log")).unwrap())
        .spawn()
        .unwrap();
    let _master = Killed(master);

    // cluster1 is lost: both its servers crash.
    for server in ["c1s1", "c1s2"] {
        let answer = post(
            &format!("{base}/ecxsim/v1/inject"),
            json!({"fault": "server_crash", "target": server}),
        );
        assert_eq!(answer["result"]["code"], 0, "{answer}");
    }
    let started = Instant::now();
    let served = loop {
        let state = served_vm(&base);
        if state.1 == ["c2s1"] || started.elapsed() > Duration::from_secs(90) {
            break state;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let log = std::fs::read_to_string(p.join("master.log")).unwrap_or_default();
    assert_eq!(
        served.1,
        ["c2s1"],
        "the VM does not run on cluster2; the master said:\n{log}"
    );
    assert!(
        !log.contains(PASSWORD) && !log.contains(WINRM_PASSWORD),
        "{log}"
    );

    // The same loss in-process, with the simulator's own master.
    let reference = scenario(
        "[master]\ncluster = \"master\"\npoll_interval = \"1s\"\nfailure_threshold = 3\n\n",
        "[[inject]]\nat = \"1m\"\nfault = \"server_crash\"\ntarget = \"c1s1\"\n\n\
         [[inject]]\nat = \"1m\"\nfault = \"server_crash\"\ntarget = \"c1s2\"\n",
    );
    let sc = ecxsim::scenario::parse(Path::new("reference.toml"), reference).unwrap();
    let faults = ecxsim::model::scripted::scripted_faults(&sc);
    let mut world = ecxsim::model::cluster_set::World::new(&sc, 1, 0, false, &faults);
    world.advance_to(30 * ecxsim::time::MICROS_PER_MINUTE);
    let (_, expected_state, expected_serving) = world.vm_states().remove(0);
    assert_eq!(expected_serving, ["c2s1"]);
    assert_eq!(served.0, expected_state.name(), "the master said:\n{log}");
    drop(serve);
}
