//! `ecxsim serve`: each cluster's ECX REST API over HTTP from the simulated world, with Basic
//! authentication, errors for whatever a client sends, and faults injected over HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const USER: &str = "admin";
const PASSWORD: &str = "s3cret-pass";

struct Served {
    child: Child,
    /// (cluster, "127.0.0.1:port")
    clusters: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn auth_file(dir: &std::path::Path, mode: u32) -> std::path::PathBuf {
    let path = dir.join("auth");
    std::fs::write(&path, format!("{USER}:{PASSWORD}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    path
}

fn serve(speed: &str) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let auth = auth_file(dir.path(), 0o600);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .args(["serve", "scenarios/cluster_set.toml", "--port-base", "0"])
        .arg("--auth-file")
        .arg(&auth)
        .args(["--speed", speed])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut clusters = Vec::new();
    for _ in 0..3 {
        let line = lines.next().unwrap().unwrap();
        // serving <cluster> at http://<addr>
        let rest = line.strip_prefix("serving ").expect(&line);
        let (cluster, url) = rest.split_once(" at http://").expect(&line);
        clusters.push((cluster.to_string(), url.to_string()));
    }
    Served {
        child,
        clusters,
        _dir: dir,
    }
}

/// One raw HTTP/1.1 exchange: (status, body).
fn http(addr: &str, method: &str, path: &str, auth: bool, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    if auth {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        request.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn groups(addr: &str) -> Value {
    let (status, body) = http(addr, "GET", "/api/v1/groups", true, "");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

const STATUSES: [&str; 5] = [
    "Online",
    "Offline",
    "Online Pending",
    "Offline Pending",
    "Online Failure",
];

#[test]
fn each_cluster_answers_its_groups_in_the_ecx_envelope_and_refuses_strangers() {
    let s = serve("1");
    assert_eq!(
        s.clusters.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        ["master", "cluster1", "cluster2"]
    );
    for (cluster, addr) in &s.clusters {
        let v = groups(addr);
        assert_eq!(v["result"]["code"], 0, "{v}");
        let g = &v["groups"].as_array().unwrap()[0];
        assert_eq!(g["name"], format!("failover-{cluster}"));
        assert!(STATUSES.contains(&g["status"].as_str().unwrap()), "{v}");
    }
    let addr = &s.clusters[1].1;
    let (status, body) = http(addr, "GET", "/api/v1/groups", false, "");
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains(PASSWORD));
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /api/v1/groups HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.contains("WWW-Authenticate"), "{answer}");
}

#[test]
fn a_thousand_bad_requests_leave_it_answering_correctly() {
    let s = serve("1");
    let addr = &s.clusters[1].1;
    let paths = [
        "/",
        "/api",
        "/api/v1/groups/nope",
        "/api/v1/groups/failover-cluster1/explode",
        "/api/v1/%ff%fe",
        "/ecxsim/v1/inject",
        "/api/v1/groups/failover-cluster1/move",
        "/api/v1/cluster/../../etc/passwd",
    ];
    let methods = ["GET", "POST", "PUT", "DELETE", "PATCH"];
    let bodies = [
        "",
        "{",
        "[]",
        "{\"fault\": 3}",
        "{\"fault\": \"server_crash\", \"target\": \"nowhere\"}",
        "{\"fault\": \"meteor\", \"target\": \"c1s1\"}",
        "{\"target\": 7}",
        "{\"x\\n= 1\": \"y\"}",
    ];
    let mut x: u64 = 12345;
    let mut next = |n: usize| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as usize % n
    };
    for i in 0..1000 {
        let (m, p, b) = (methods[next(5)], paths[next(8)], bodies[next(8)]);
        let (status, body) = http(addr, m, p, i % 7 != 0, b);
        assert!(
            (400..600).contains(&status) || status == 200,
            "{m} {p} {b}: {status} {body}"
        );
        if status != 200 {
            assert!(!body.is_empty(), "{m} {p}: {status} with an empty body");
        }
    }
    // Raw garbage on the socket.
    for junk in [
        "\x00\x01\x02\r\n\r\n",
        "GET\r\n\r\n",
        "HELLO / HTTP/9.9\r\n\r\n",
    ] {
        let mut stream = TcpStream::connect(addr).unwrap();
        let _ = stream.write_all(junk.as_bytes());
    }
    let v = groups(addr);
    assert_eq!(v["result"]["code"], 0, "{v}");
    assert_eq!(v["groups"][0]["name"], "failover-cluster1");
}

#[test]
fn an_injected_crash_moves_the_group_to_the_standby() {
    // 100 simulated seconds a second: detection and the group start take about a minute.
    let s = serve("100");
    let addr = &s.clusters[1].1;
    assert_eq!(groups(addr)["groups"][0]["current"], "c1s1");
    let body = r#"{"fault": "server_crash", "target": "c1s1"}"#;
    let (status, answer) = http(addr, "POST", "/ecxsim/v1/inject", true, body);
    assert_eq!(status, 200, "{answer}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = http(addr, "GET", "/api/v1/groups", true, "");
        if status == 200 {
            let v: Value = serde_json::from_str(&body).unwrap();
            if v["groups"][0]["current"] == "c1s2" && v["groups"][0]["status"] == "Online" {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the group never came up on c1s2: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let bad = r#"{"fault": "server_crash", "target": "c9s9"}"#;
    let (status, answer) = http(addr, "POST", "/ecxsim/v1/inject", true, bad);
    assert_eq!(status, 400);
    assert!(answer.contains("unknown server"), "{answer}");
}

#[test]
fn an_auth_file_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let auth = auth_file(dir.path(), 0o644);
    let out = Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .args(["serve", "scenarios/cluster_set.toml", "--port-base", "0"])
        .arg("--auth-file")
        .arg(&auth)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    if cfg!(unix) {
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(text.contains("other users"), "{text}");
        assert!(!text.contains(PASSWORD), "{text}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ecxsim"))
        .args(["serve", "scenarios/cluster_set.toml", "--speed", "nan"])
        .arg("--auth-file")
        .arg(&auth)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
