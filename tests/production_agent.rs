//! The production entry points as ECX runs them: `ecxsim agent start|stop` with ECX's
//! environment, its exit codes and alert log lines; `ecxsim master` until SIGTERM; and the
//! configuration file's located errors, including the README's example.
#![cfg(unix)]

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use ecxsim::http_server::{HttpServer, ServerConfig};
use ecxsim::production::config;
use ecxsim::production::credentials::Credential;
use ecxsim::production::lease_book::StoredBook;
use ecxsim::production::lease_service::LeaseService;

mod common;
use common::{free_port, write_executable, Deployment, LEASE_USER};

const ECX_PASSWORD: &str = "Ecx-pa55";
const WINRM_PASSWORD: &str = "Winrm-pa55";
const LEASE_PASSWORD: &str = "Lease-pa55";

/// cluster1's c1s1 runs vm1, replicating to cluster2's c2s1.
fn farm() -> Value {
    let rel = |mode: &str| {
        json!({"mode": mode, "state": "Replicating", "health": "Normal",
               "primary": "c1s1", "replica": "c2s1"})
    };
    json!({
        "local": "c1s1",
        "credential": {"user": "CORP\\ecx", "password": WINRM_PASSWORD},
        "hosts": {
            "c1s1": {"cluster": "cluster1", "up": true, "connected": true, "disk": true,
                     "vms": {"vm1": {"power": "Running", "replication": rel("Primary")}}},
            "c2s1": {"cluster": "cluster2", "up": true, "connected": true, "disk": true,
                     "vms": {"vm1": {"power": "Off", "replication": rel("Replica")}}}
        },
        "paths": {"T:\\VMs\\vm1.vmcx": ["cluster1", "vm1"], "T:\\Replica\\vm1.vmcx": ["cluster2", "vm1"]}
    })
}

/// An ECX REST API whose group `group` is Online on `server`, with its disk there.
fn ecx_stub(group: &'static str, server: &'static str) -> SocketAddr {
    let http = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let addr = http.server_addr().to_ip().unwrap();
    std::thread::spawn(move || {
        for request in http.incoming_requests() {
            let body = match request.url() {
                u if u.starts_with("/api/v1/groups") => {
                    json!({"result": {"code": 0, "message": ""},
                    "groups": [{"name": group, "status": "Online", "current": server,
                                "resources": [{"name": "sd"}]}]})
                }
                "/api/v1/resources" => json!({"result": {"code": 0, "message": ""},
                    "resources": [{"name": "sd", "type": "sd", "status": "Online",
                                   "current": server, "group": group}]}),
                _ => json!({"result": {"code": 1, "message": "unknown"}}),
            };
            let _ = request.respond(tiny_http::Response::from_string(body.to_string()));
        }
    });
    addr
}

struct Site {
    dir: tempfile::TempDir,
    config: PathBuf,
    lease_port: u16,
}

impl Site {
    /// A deployment in a folder: configuration, credentials (mode 600), the stand-in shell,
    /// a recording clplogcmd. `extra` is appended to the configuration.
    fn new(lease_port: u16, extra: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("farm.json"), farm().to_string()).unwrap();
        let logcmd = p.join("clplogcmd");
        write_executable(
            &logcmd,
            &format!(
                "#!/bin/sh\necho \"$@\" >> '{}'\n",
                p.join("alerts.log").display()
            ),
        );
        let c1 = ecx_stub("failover1", "c1s1").to_string();
        let c2 = ecx_stub("failover2", "c2s1").to_string();
        let config = Deployment {
            dir: p,
            ecx: ("Administrator", ECX_PASSWORD),
            winrm_password: WINRM_PASSWORD,
            lease_password: LEASE_PASSWORD,
            standin: ("ECXSIM_STANDIN_STATE", &p.join("farm.json")),
            lease_port,
            groups: ["failover1", "failover2"],
            addresses: [&c1, &c2],
            vmcx: ["T:\\VMs\\vm1.vmcx", "T:\\Replica\\vm1.vmcx"],
            sections: &format!(
                "\n[coordination]\nlease_wait = \"1s\"\npeer_wait = \"1s\"\npeer_poll = \"1s\"\nattempts = 1\n\
                 \n[alert]\ncommand = \"{}\"\n{extra}",
                logcmd.display()
            ),
        }
        .write();
        Site {
            dir,
            config,
            lease_port,
        }
    }

    fn lease_service(&self) -> HttpServer {
        let mut cfg = ServerConfig::new(
            self.lease_port,
            Credential::new(LEASE_USER, LEASE_PASSWORD),
            "ecxsim lease service",
        );
        cfg.threads = 2;
        let service = LeaseService::new(StoredBook::open(None).unwrap());
        HttpServer::start(cfg, Arc::new(service)).unwrap()
    }

    fn agent(&self, action: &str, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecxsim"));
        cmd.args(["agent", action, "--config"]).arg(&self.config);
        cmd.env_remove("CLP_EVENT")
            .env_remove("CLP_FACTOR")
            .env("COMPUTERNAME", "c1s1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn alerts(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("alerts.log")).unwrap_or_default()
    }

    fn farm(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.path().join("farm.json")).unwrap())
            .unwrap()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn no_secrets(s: &str) {
    for secret in [ECX_PASSWORD, WINRM_PASSWORD, LEASE_PASSWORD] {
        assert!(!s.contains(secret), "a password leaked: {s}");
    }
}

#[test]
fn a_start_on_a_healthy_pair_succeeds_and_logs_to_the_alert_log() {
    let site = Site::new(free_port(), "\n[agent]\ncluster = \"cluster1\"\n");
    let _lease = site.lease_service();
    let out = site.agent("start", &[("CLP_EVENT", "START"), ("CLP_SERVER", "HOME")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let alerts = site.alerts();
    assert!(
        alerts.contains("-m ecxsim agent vm1: start script: CLP_EVENT=START -l INFO"),
        "{alerts}"
    );
    assert!(
        alerts.contains("replication already points at the active nodes"),
        "{alerts}"
    );
    no_secrets(&text(&out));
    no_secrets(&alerts);
    let scripts = site.farm()["scripts"].to_string();
    no_secrets(&scripts);
}

#[test]
fn a_start_without_the_lease_service_fails_with_exit_code_1() {
    let site = Site::new(free_port(), "\n[agent]\ncluster = \"cluster1\"\n");
    let out = site.agent("start", &[("CLP_EVENT", "FAILOVER")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the start script failed for vm1 (exit bits 64)"),
        "{}",
        text(&out)
    );
    assert!(site.alerts().contains("-l ERR"));
}

#[test]
fn a_stop_on_group_move_turns_the_vm_off() {
    let site = Site::new(free_port(), "\n[agent]\ncluster = \"cluster1\"\n");
    let out = site.agent(
        "stop",
        &[("CLP_EVENT", "START"), ("CLP_FACTOR", "GROUPMOVE")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(site.farm()["hosts"]["c1s1"]["vms"]["vm1"]["power"], "Off");
    // A plain group stop leaves it running.
    let site = Site::new(free_port(), "\n[agent]\ncluster = \"cluster1\"\n");
    let out = site.agent(
        "stop",
        &[("CLP_EVENT", "START"), ("CLP_FACTOR", "GROUPSTOP")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        site.farm()["hosts"]["c1s1"]["vms"]["vm1"]["power"],
        "Running"
    );
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let site = Site::new(free_port(), "\n[agent]\ncluster = \"cluster1\"\n");
    let out = site.agent("start", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("CLP_EVENT is not set"),
        "{}",
        text(&out)
    );
    let out = site.agent("start", &[("CLP_EVENT", "BOGUS")]);
    assert_eq!(out.status.code(), Some(2));
    // No [agent] section.
    let site = Site::new(free_port(), "");
    let out = site.agent("start", &[("CLP_EVENT", "START")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("[agent]"), "{}", text(&out));
    // A credentials file others can read is refused, without showing its content.
    let site = Site::new(free_port(), "\n[agent]\ncluster = \"cluster1\"\n");
    let creds = site.dir.path().join("credentials.toml");
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = site.agent("start", &[("CLP_EVENT", "START")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("accessible to other users"),
        "{}",
        text(&out)
    );
    no_secrets(&text(&out));
    // A configuration error is located.
    let site = Site::new(free_port(), "\n[agent]\ncluster = \"cluster9\"\n");
    let out = site.agent("start", &[("CLP_EVENT", "START")]);
    assert_eq!(out.status.code(), Some(2));
    let message = text(&out);
    assert!(
        message.contains("ecxsim.toml:")
            && message.contains("`agent.cluster`: unknown cluster \"cluster9\""),
        "{message}"
    );
}

#[test]
fn the_master_serves_leases_until_sigterm() {
    let port = free_port();
    let site = Site::new(
        port,
        &format!("\n[master]\npoll_interval = \"1s\"\nlease_bind = \"127.0.0.1:{port}\"\nstate_file = \"lease-state.json\"\n"),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .args(["master", "--config"])
        .arg(&site.config)
        .env("COMPUTERNAME", "m1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = ecxsim::production::lease_client::LeaseClient::http(
        &format!("http://127.0.0.1:{port}"),
        Some(&Credential::new(LEASE_USER, LEASE_PASSWORD)),
        Duration::from_secs(1),
        &Default::default(),
    );
    use ecxsim::backend::Lease;
    let started = Instant::now();
    let claimed = loop {
        match futures_executor::block_on(client.claim_role("vm9", "cluster2", 7)) {
            Ok(granted) => break granted,
            Err(_) if started.elapsed() < Duration::from_secs(20) => {
                std::thread::sleep(Duration::from_millis(100))
            }
            Err(e) => panic!("the master's lease service never answered: {e}"),
        }
    };
    assert!(claimed);
    std::thread::sleep(Duration::from_millis(1500));
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the master did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let state = std::fs::read_to_string(site.dir.path().join("lease-state.json")).unwrap();
    assert!(state.contains("cluster2"), "{state}");
    assert!(
        site.alerts().contains("ecxsim master: stopped"),
        "{}",
        site.alerts()
    );
}

#[test]
fn the_help_describes_the_production_entry_points() {
    for (cmd, needle) in [("agent", "script resource"), ("master", "failover group")] {
        let out = Command::new(env!("CARGO_BIN_EXE_ecxsim"))
            .args([cmd, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains(needle));
    }
}

#[test]
fn configuration_errors_are_located() {
    let parse = |text: &str| config::parse(Path::new("ecxsim.toml"), text.to_string());
    let base = "credentials = \"c.toml\"\n[lease]\nurl = \"http://m:29100\"\n\
                [[cluster]]\nname = \"a\"\ngroup = \"g1\"\naddresses = [\"10.0.0.1\"]\n\
                [[cluster]]\nname = \"b\"\ngroup = \"g2\"\naddresses = [\"10.0.1.1\", \"10.0.1.11\"]\n\
                [[vm]]\nname = \"vm1\"\nhome = \"a\"\nreplica = \"b\"\nhome_vmcx = \"x\"\nreplica_vmcx = \"y\"\n";
    let ok = parse(base).unwrap();
    assert_eq!(ok.clusters[1].addresses.len(), 2);
    assert_eq!(ok.clusters[1].dns_address, "10.0.1.1");
    assert_eq!(ok.vms[0].replication_frequency_s, 300);
    let every = |f: &str| format!("{base}replication_frequency = \"{f}\"\n");
    assert_eq!(
        parse(&every("30s")).unwrap().vms[0].replication_frequency_s,
        30
    );
    let cases = [
        (
            every("1m"),
            "`vm.vm1.replication_frequency`: Hyper-V replicates every",
        ),
        (
            format!("{base}[ecx]\nscheme = \"ftp\"\n"),
            "`ecx.scheme`: expected \"http\" or \"https\"",
        ),
        (
            format!("{base}[ecx]\nport = 70000\n"),
            "`ecx.port`: expected a whole number from 1 to 65535",
        ),
        (
            format!("{base}[ecx]\nca_file = \"site-ca.pem\"\n"),
            "`ecx.ca_file`: only used with scheme = \"https\"",
        ),
        (
            format!("{base}[ecx]\nscheme = \"https\"\nca_file = \"no-such-ca.pem\"\n"),
            "`ecx.ca_file`: expected a PEM file of CA certificates: cannot read",
        ),
        (
            format!(
                "{base}[ecx]\nscheme = \"https\"\nskip_certificate_check = true\nca_file = \"ca.pem\"\n"
            ),
            "`ecx.ca_file`: expected either ca_file or skip_certificate_check = true, not both",
        ),
        (
            base.replace(
                "url = \"http://m:29100\"",
                "url = \"http://m:29100\"\nskip_certificate_check = true",
            ),
            "`lease.skip_certificate_check`: only used with an https:// url",
        ),
        (
            format!("{base}[master]\nlease_bind = \"everywhere\"\n"),
            "`master.lease_bind`",
        ),
        (
            format!("{base}[powershell]\nexecutable = \"pwsh\"\ntimout = \"1s\"\n"),
            "unknown key `timout`",
        ),
        (
            base.replace("home = \"a\"", "home = \"z\""),
            "`vm.vm1.home`: unknown cluster \"z\"",
        ),
        (
            base.replace("url = \"http://m:29100\"", "url = \"m:29100\""),
            "`lease.url`",
        ),
        (
            base.replace("control", "x")
                .replace("credentials = \"c.toml\"\n", ""),
            "missing required key `credentials`",
        ),
        (
            format!("{base}[coordination]\ndeadline = \"10s\"\n"),
            "`coordination.deadline`: expected at least 1m, and less than the script resource's start timeout",
        ),
        (
            format!("control = \"careful\"\n{base}"),
            "unknown control \"careful\"",
        ),
    ];
    for (text, expected) in cases {
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.starts_with("ecxsim.toml:"), "{e}");
        assert!(e.contains(expected), "expected {expected:?} in {e}");
    }
}

#[test]
fn a_ca_file_is_read_relative_to_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let ca = common::tls::Ca::new("site CA");
    std::fs::write(dir.path().join("site-ca.pem"), &ca.pem).unwrap();
    std::fs::write(
        dir.path().join("key-only.pem"),
        "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let text = |ecx: &str, lease: &str| {
        format!(
            "credentials = \"c.toml\"\n[ecx]\nscheme = \"https\"\n{ecx}\n\
             [lease]\nurl = \"https://m:29100\"\n{lease}\n\
             [[cluster]]\nname = \"a\"\ngroup = \"g1\"\naddresses = [\"10.0.0.1\"]\n\
             [[cluster]]\nname = \"b\"\ngroup = \"g2\"\naddresses = [\"10.0.1.1\"]\n\
             [[vm]]\nname = \"vm1\"\nhome = \"a\"\nreplica = \"b\"\nhome_vmcx = \"x\"\nreplica_vmcx = \"y\"\n"
        )
    };
    let file = dir.path().join("ecxsim.toml");
    let ok = config::parse(
        &file,
        text("ca_file = \"site-ca.pem\"", "ca_file = \"site-ca.pem\""),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ecx_ca = ok.ecx.trust.ca.expect("the ECX client trusts the CA");
    assert_eq!(ecx_ca.path, dir.path().join("site-ca.pem"));
    assert!(ok.lease.trust.ca.is_some() && !ok.ecx.trust.skip_certificate_check);
    let e = config::parse(&file, text("ca_file = \"key-only.pem\"", ""))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("{}:4:11: `ecx.ca_file`", file.display()))
            && e.contains("holds no PEM certificate"),
        "{e}"
    );
}

#[test]
fn the_readme_example_validates() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## Running it in production")
        .nth(1)
        .expect("the README has a production section");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("the production section has a TOML example");
    let config = config::parse(Path::new("ecxsim.toml"), example.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(config.agent.is_some() && config.master.is_some());
    assert!(ecxsim::production::master::master_config(&config).is_some());
}
