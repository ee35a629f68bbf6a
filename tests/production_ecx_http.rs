//! The HTTP `Ecx` client against a small in-test server answering ECX-shaped JSON, over
//! HTTP and over HTTPS with certificates made in the test.

use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ecxsim::backend::{BackendError, Ecx, GroupStatus};
use ecxsim::production::credentials::Credential;
use ecxsim::production::http_ecx::{EcxApiConfig, HttpEcx};
use ecxsim::production::tls::{CaFile, CertificateTrust};

mod common;

/// What the stub saw: method, URL, Authorization header, body.
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

/// Serves `answer(method, url) -> (status, body)` on a loopback port until the test ends.
fn stub(answer: fn(&str, &str) -> (u16, String)) -> (String, Seen) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let addr = server.server_addr().to_ip().unwrap().to_string();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let auth = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Authorization"))
                .map(|h| h.value.to_string())
                .unwrap_or_default();
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            let method = request.method().to_string();
            let url = request.url().to_string();
            log.lock()
                .unwrap()
                .push((method.clone(), url.clone(), auth, body));
            let (status, text) = answer(&method, &url);
            let _ =
                request.respond(tiny_http::Response::from_string(text).with_status_code(status));
        }
    });
    (addr, seen)
}

fn ecx_answers(method: &str, url: &str) -> (u16, String) {
    match (method, url) {
        ("GET", "/api/v1/groups/failover1") => (200, r#"{"result":{"code":0,"message":""},"groups":[{"name":"failover1","status":"Online","current":"server1","resources":[{"name":"fip1"},{"name":"sd1"}]}]}"#.into()),
        ("GET", "/api/v1/groups/missing") => (200, r#"{"result":{"code":5,"message":"group missing does not exist"}}"#.into()),
        ("GET", "/api/v1/resources") => (200, r#"{"result":{"code":0,"message":""},"resources":[{"name":"sd1","type":"sd","status":"Online","current":"server1","group":"failover1"},{"name":"fip1","type":"fip","status":"Offline","current":"None","group":"failover1"}]}"#.into()),
        ("GET", "/api/v1/servers") => (200, r#"{"result":{"code":0,"message":""},"servers":[{"name":"server1","status":"Online"},{"name":"server2","status":"Offline"}]}"#.into()),
        ("GET", "/api/v1/cluster") => (200, r#"{"result":{"code":0,"message":""},"cluster":{"name":"cluster1","status":"Normal"}}"#.into()),
        ("POST", "/api/v1/groups/failover1/move") => (200, r#"{"result":{"code":0,"message":""}}"#.into()),
        ("POST", "/api/v1/groups/failover1/start") => (200, r#"{"result":{"code":0,"message":"the group is already started"}}"#.into()),
        ("GET", "/api/v1/groups/garbled") => (200, "<html>hello</html>".into()),
        _ => (404, r#"{"result":{"code":404,"message":"not found"}}"#.into()),
    }
}

fn config() -> EcxApiConfig {
    EcxApiConfig {
        connect_timeout: Duration::from_millis(500),
        read_timeout: Duration::from_millis(500),
        ..EcxApiConfig::default()
    }
}

fn client(addresses: Vec<String>) -> HttpEcx {
    let cred = Credential::new("Administrator", "pw");
    HttpEcx::new(&config(), &[("cluster1".into(), addresses)], Some(&cred))
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// A loopback port nothing listens on.
fn closed_port() -> String {
    format!("127.0.0.1:{}", common::free_port())
}

#[test]
fn reads_groups_resources_servers_and_the_cluster() {
    let (addr, seen) = stub(ecx_answers);
    let ecx = client(vec![addr]);
    let g = block(ecx.group("CLUSTER1", "failover1")).unwrap();
    assert_eq!((g.status, &*g.current), (GroupStatus::Online, "server1"));
    assert_eq!(
        g.resources.iter().map(|r| &**r).collect::<Vec<_>>(),
        ["fip1", "sd1"]
    );
    let r = block(ecx.resources("cluster1")).unwrap();
    assert_eq!(r[0].kind, "sd");
    assert_eq!(r[1].current, "None");
    assert_eq!(block(ecx.servers("cluster1")).unwrap()[1].status, "Offline");
    assert_eq!(block(ecx.cluster("cluster1")).unwrap().name, "cluster1");
    // Basic auth on every request: base64("Administrator:pw").
    let seen = seen.lock().unwrap();
    assert!(seen
        .iter()
        .all(|(_, _, auth, _)| auth == "Basic QWRtaW5pc3RyYXRvcjpwdw=="));
}

#[test]
fn posts_carry_the_target_and_a_message_is_a_failure() {
    let (addr, seen) = stub(ecx_answers);
    let ecx = client(vec![addr]);
    block(ecx.move_group("cluster1", "failover1", Some("server2"))).unwrap();
    let (method, url, _, body) = seen.lock().unwrap()[0].clone();
    assert_eq!(
        (method.as_str(), url.as_str()),
        ("POST", "/api/v1/groups/failover1/move")
    );
    assert_eq!(body, r#"{"target":"server2"}"#);
    let e = block(ecx.start_group("cluster1", "failover1", None)).unwrap_err();
    assert_eq!(
        e,
        BackendError::Rest {
            code: 0,
            message: "the group is already started".into()
        }
    );
}

#[test]
fn error_envelopes_and_garbage_are_typed_errors() {
    let (addr, _) = stub(ecx_answers);
    let ecx = client(vec![addr]);
    let e = block(ecx.group("cluster1", "missing")).unwrap_err();
    assert_eq!(
        e,
        BackendError::Rest {
            code: 5,
            message: "group missing does not exist".into()
        }
    );
    assert!(matches!(
        block(ecx.group("cluster1", "garbled")),
        Err(BackendError::Undecodable { .. })
    ));
    assert!(matches!(
        block(ecx.group("nowhere", "failover1")),
        Err(BackendError::NoTarget)
    ));
}

#[test]
fn refused_credentials_are_an_authentication_error() {
    let (addr, _) = stub(|_, _| (401, String::new()));
    let e = block(client(vec![addr]).group("cluster1", "failover1")).unwrap_err();
    assert!(matches!(e, BackendError::Authentication { .. }), "{e}");
    assert!(!e.to_string().contains("pw"));
}

#[test]
fn an_unreachable_first_address_falls_back_to_the_next() {
    let (addr, _) = stub(ecx_answers);
    let ecx = client(vec![closed_port(), addr]);
    let g = block(ecx.group("cluster1", "failover1")).unwrap();
    assert_eq!(&*g.current, "server1");
    let none = client(vec![closed_port(), closed_port()]);
    let e = block(none.group("cluster1", "failover1")).unwrap_err();
    assert!(matches!(e, BackendError::Unreachable { .. }), "{e}");
}

#[test]
fn a_silent_server_times_out_and_the_next_address_answers() {
    // Accepts connections, never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming() {
            held.push(s);
        }
    });
    let started = Instant::now();
    let e = block(client(vec![silent_addr.clone()]).group("cluster1", "failover1")).unwrap_err();
    assert!(matches!(e, BackendError::Timeout { .. }), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let (addr, _) = stub(ecx_answers);
    let g = block(client(vec![silent_addr, addr]).group("cluster1", "failover1")).unwrap();
    assert_eq!(g.status, GroupStatus::Online);
}

/// The stub's ECX answers over HTTPS, with the server presenting `identity`.
fn https_ecx(identity: common::tls::ServerIdentity) -> String {
    let answer = Arc::new(|method: &str, path: &str, _: &[u8]| ecx_answers(method, path));
    common::tls::https_stub(identity, answer).to_string()
}

fn https_client(trust: CertificateTrust, addresses: Vec<String>) -> HttpEcx {
    let config = EcxApiConfig {
        https: true,
        trust,
        ..config()
    };
    let cred = Credential::new("Administrator", "pw");
    HttpEcx::new(&config, &[("cluster1".into(), addresses)], Some(&cred))
}

fn skip_check() -> CertificateTrust {
    CertificateTrust {
        skip_certificate_check: true,
        ca: None,
    }
}

fn trusting(ca: &common::tls::Ca) -> CertificateTrust {
    let ca = CaFile::from_pem(Path::new("site-ca.pem"), ca.pem.as_bytes()).unwrap();
    CertificateTrust {
        skip_certificate_check: false,
        ca: Some(ca),
    }
}

#[test]
fn https_with_the_check_skipped_reads_a_self_signed_server() {
    let addr = https_ecx(common::tls::self_signed());
    let ecx = https_client(skip_check(), vec![addr]);
    let g = block(ecx.group("cluster1", "failover1")).unwrap();
    assert_eq!((g.status, &*g.current), (GroupStatus::Online, "server1"));
    assert_eq!(
        g.resources.iter().map(|r| &**r).collect::<Vec<_>>(),
        ["fip1", "sd1"]
    );
    assert_eq!(block(ecx.cluster("cluster1")).unwrap().name, "cluster1");
}

#[test]
fn https_refuses_a_self_signed_server_with_a_certificate_error() {
    let addr = https_ecx(common::tls::self_signed());
    let ecx = https_client(CertificateTrust::default(), vec![addr.clone()]);
    let e = block(ecx.group("cluster1", "failover1")).unwrap_err();
    common::tls::assert_untrusted_issuer(&e, &format!("cluster1 at https://{addr}"));
    let message = e.to_string();
    assert!(!message.contains("pw") && !message.contains("QWRtaW5pc3RyYXRvcjpwdw"));
}

#[test]
fn https_trusts_the_sites_own_ca_from_ca_file() {
    let ca = common::tls::Ca::new("site CA");
    let addr = https_ecx(ca.issue());
    let ecx = https_client(trusting(&ca), vec![addr.clone()]);
    let r = block(ecx.resources("cluster1")).unwrap();
    assert_eq!(r[0].kind, "sd");
    // Without the CA, the same server is refused; and another CA does not vouch for it.
    let e =
        block(https_client(CertificateTrust::default(), vec![addr.clone()]).resources("cluster1"))
            .unwrap_err();
    assert!(matches!(e, BackendError::Certificate { .. }), "{e}");
    let other = common::tls::Ca::new("another CA");
    let e = block(https_client(trusting(&other), vec![addr]).resources("cluster1")).unwrap_err();
    assert!(matches!(e, BackendError::Certificate { .. }), "{e}");
}

#[test]
fn a_refused_certificate_moves_on_to_the_next_address() {
    let ca = common::tls::Ca::new("site CA");
    let untrusted = https_ecx(common::tls::self_signed());
    let trusted = https_ecx(ca.issue());
    let ecx = https_client(trusting(&ca), vec![untrusted, trusted]);
    assert_eq!(
        &*block(ecx.group("cluster1", "failover1")).unwrap().current,
        "server1"
    );
    // No address answers, one refused its certificate: the refusal is the error.
    let ecx = https_client(
        trusting(&ca),
        vec![closed_port(), https_ecx(common::tls::self_signed())],
    );
    let e = block(ecx.group("cluster1", "failover1")).unwrap_err();
    assert!(matches!(e, BackendError::Certificate { .. }), "{e}");
}
