//! The lease service over HTTP: authentication, bad requests, TTL expiry, epoch fencing, the
//! role record, and a flood of random and malformed requests; and the client over HTTPS.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};

use ecxsim::backend::{BackendError, Lease};
use ecxsim::http_server::{Handler, HttpServer, Reply, Request, ServerConfig, LOOPBACK};
use ecxsim::production::credentials::Credential;
use ecxsim::production::lease_book::StoredBook;
use ecxsim::production::lease_client::LeaseClient;
use ecxsim::production::lease_service::LeaseService;
use ecxsim::production::tls::{CaFile, CertificateTrust};

mod common;

const AUTH: &str = "Basic bGVhc2U6czNjcmV0"; // lease:s3cret

fn credential() -> Credential {
    Credential::new("lease", "s3cret")
}

/// A service on a loopback port with a clock the test moves (milliseconds).
fn start() -> (HttpServer, Arc<AtomicU64>) {
    let now = Arc::new(AtomicU64::new(1_000_000));
    let clock = now.clone();
    let service = LeaseService::with_clock(
        StoredBook::open(None).unwrap(),
        Box::new(move || clock.load(Ordering::SeqCst)),
    );
    let config = ServerConfig::new(0, credential(), "ecxsim lease service");
    assert_eq!(config.bind.ip(), LOOPBACK);
    let server = HttpServer::start(config, Arc::new(service)).unwrap();
    (server, now)
}

/// Sends raw bytes; returns the whole answer (empty if the connection dropped).
fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn request(addr: SocketAddr, method: &str, path: &str, auth: Option<&str>, body: &str) -> String {
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(a) = auth {
        text.push_str(&format!("Authorization: {a}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    raw(addr, text.as_bytes())
}

fn status(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn client(addr: SocketAddr) -> LeaseClient {
    LeaseClient::http(
        &format!("http://{addr}"),
        Some(&credential()),
        Duration::from_secs(2),
        &CertificateTrust::default(),
    )
    .with_poll(Duration::from_millis(20))
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

#[test]
fn every_request_needs_the_credentials() {
    let (server, _) = start();
    let addr = server.local_addr();
    let none = request(addr, "GET", "/lease/v1/roles/vm1", None, "");
    assert_eq!(status(&none), 401);
    assert!(
        none.contains("WWW-Authenticate: Basic realm=\"ecxsim lease service\""),
        "{none}"
    );
    let wrong = request(
        addr,
        "GET",
        "/lease/v1/roles/vm1",
        Some("Basic bGVhc2U6d3Jvbmc="),
        "",
    );
    assert_eq!(status(&wrong), 401);
    let unknown_path = request(addr, "GET", "/nothing", None, "");
    assert_eq!(
        status(&unknown_path),
        401,
        "paths are not revealed without credentials"
    );
    let other = LeaseClient::http(
        &format!("http://{addr}"),
        Some(&Credential::new("lease", "guess")),
        Duration::from_secs(2),
        &CertificateTrust::default(),
    );
    assert!(matches!(
        block(other.role("vm1")),
        Err(BackendError::Authentication { .. })
    ));
}

#[test]
fn bad_requests_get_clear_error_answers() {
    let (server, _) = start();
    let addr = server.local_addr();
    let a = Some(AUTH);
    assert_eq!(
        status(&request(addr, "GET", "/lease/v1/nothing", a, "")),
        404
    );
    let wrong_method = request(addr, "GET", "/lease/v1/acquire", a, "");
    assert_eq!(status(&wrong_method), 405);
    assert!(wrong_method.contains("Allow: POST"), "{wrong_method}");
    let malformed = request(addr, "POST", "/lease/v1/acquire", a, "{\"name\": ");
    assert_eq!(status(&malformed), 400);
    assert!(malformed.contains("malformed JSON body"), "{malformed}");
    let missing = request(
        addr,
        "POST",
        "/lease/v1/acquire",
        a,
        r#"{"name":"x","holder":"h"}"#,
    );
    assert_eq!(status(&missing), 400);
    let zero_ttl = request(
        addr,
        "POST",
        "/lease/v1/acquire",
        a,
        r#"{"name":"x","holder":"h","ttl_ms":0}"#,
    );
    assert_eq!(status(&zero_ttl), 400);
    let big = "x".repeat(64 * 1024);
    assert_eq!(
        status(&request(addr, "POST", "/lease/v1/acquire", a, &big)),
        413
    );
    assert_eq!(
        status(&request(addr, "GET", "/lease/v1/roles/%ff", a, "")),
        400
    );
    // A chunked body gives no length up front: it is cut off at the limit all the same.
    let chunk = "y".repeat(8 * 1024);
    let mut chunked = format!(
        "POST /lease/v1/acquire HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Authorization: {AUTH}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    for _ in 0..4 {
        chunked.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    chunked.push_str("0\r\n\r\n");
    assert_eq!(status(&raw(addr, chunked.as_bytes())), 413);
}

#[test]
fn leases_expire_and_a_stale_holder_is_fenced() {
    let (server, now) = start();
    let c = client(server.local_addr());
    assert!(block(c.acquire("replication/vm1", "c1s1", 60_000_000, 0)).unwrap());
    // Taken: a second holder waits, then gives up.
    let other = client(server.local_addr());
    assert!(!block(other.acquire("replication/vm1", "c2s1", 60_000_000, 100_000)).unwrap());
    // The first holder's time to live runs out: the second gets it.
    now.fetch_add(61_000, Ordering::SeqCst);
    assert!(block(other.acquire("replication/vm1", "c2s1", 60_000_000, 0)).unwrap());
    // The first holder's release carries its old epoch: refused, and the lease stays taken.
    let e = block(c.release("replication/vm1", "c1s1")).unwrap_err();
    assert!(e.to_string().contains("ran out"), "{e}");
    assert!(!block(c.acquire("replication/vm1", "c1s1", 60_000_000, 0)).unwrap());
    block(other.release("replication/vm1", "c2s1")).unwrap();
    assert!(block(c.acquire("replication/vm1", "c1s1", 60_000_000, 0)).unwrap());
}

#[test]
fn role_records_are_fenced_by_their_epoch() {
    let (server, _) = start();
    let c = client(server.local_addr());
    assert_eq!(block(c.role("vm 1")).unwrap(), None);
    assert!(block(c.claim_role("vm 1", "cluster2", 1)).unwrap());
    assert!(!block(c.claim_role("vm 1", "cluster1", 1)).unwrap());
    let r = block(c.role("vm 1")).unwrap().unwrap();
    assert_eq!((r.primary.as_str(), r.epoch), ("cluster2", 1));
}

#[test]
fn an_unreachable_service_is_waited_for_then_reported() {
    let port = common::free_port();
    let c = LeaseClient::http(
        &format!("http://127.0.0.1:{port}"),
        Some(&credential()),
        Duration::from_millis(200),
        &CertificateTrust::default(),
    )
    .with_poll(Duration::from_millis(50));
    let started = std::time::Instant::now();
    let e = block(c.acquire("l", "h", 1_000_000, 300_000)).unwrap_err();
    assert!(matches!(e, BackendError::Unreachable { .. }), "{e}");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn a_thousand_random_requests_do_not_stop_the_service() {
    let (server, _) = start();
    let addr = server.local_addr();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(10);
    let methods = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "G\0T", "",
    ];
    let paths = [
        "/lease/v1/acquire",
        "/lease/v1/release",
        "/lease/v1/roles/vm1",
        "/lease/v1/roles/vm1/claim",
        "/",
        "/lease",
        "/lease/v1/roles/%",
        "/lease/v1/roles/%C3%28",
        "//..//",
        "*",
    ];
    let bodies = [
        "",
        "{",
        "null",
        "[]",
        "{\"name\":1}",
        "{\"name\":\"a\",\"holder\":\"b\",\"ttl_ms\":-1}",
        "{\"name\":\"a\",\"holder\":\"b\",\"ttl_ms\":99999999999999999999}",
        "{\"cluster\":\"c\",\"epoch\":\"x\"}",
        "\u{0}\u{1}\u{2}",
    ];
    let auths = [
        Some(AUTH),
        None,
        Some("Basic !!!"),
        Some("Bearer x"),
        Some("Basic bGVhc2U="),
    ];
    for i in 0..1000 {
        let answer = match i % 4 {
            // Random bytes, not HTTP at all.
            0 => {
                let n = rng.random_range(0..300);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                raw(addr, &bytes)
            }
            // HTTP-shaped, with random parts.
            _ => {
                let m = methods[rng.random_range(0..methods.len())];
                let p = paths[rng.random_range(0..paths.len())];
                let b = bodies[rng.random_range(0..bodies.len())];
                let a = auths[rng.random_range(0..auths.len())];
                let answer = request(addr, m, p, a, b);
                if a == Some(AUTH) && !m.contains('\0') && !m.is_empty() && answer.is_empty() {
                    panic!("request {i} got no answer: {m} {p}");
                }
                answer
            }
        };
        // Whatever the answer, it is never a server error.
        assert!(
            !(500..600).contains(&status(&answer)) || status(&answer) == 505,
            "request {i}: {answer}"
        );
        if i % 100 == 0 {
            let ok = request(addr, "GET", "/lease/v1/roles/vm1", Some(AUTH), "");
            assert_eq!(status(&ok), 200, "after {i} requests: {ok}");
        }
    }
    // And correct requests are still answered correctly.
    let c = client(addr);
    assert!(block(c.acquire("after", "me", 1_000_000, 0)).unwrap());
    block(c.release("after", "me")).unwrap();
    assert!(block(c.claim_role("vm1", "cluster1", 1)).unwrap());
}

/// The lease service's routes behind an HTTPS server presenting `identity` (as behind the TLS
/// proxy an `https://` lease URL implies).
fn https_service(identity: common::tls::ServerIdentity) -> String {
    let service = LeaseService::with_clock(StoredBook::open(None).unwrap(), Box::new(|| 1_000_000));
    let answer = move |method: &str, path: &str, body: &[u8]| {
        let request = Request {
            method: method.to_string(),
            path: path.to_string(),
            query: None,
            body: body.to_vec(),
        };
        match service.handle(&request) {
            Reply::Json(status, v) => (status, v.to_string()),
            Reply::Error(status, message) => {
                (status, serde_json::json!({ "error": message }).to_string())
            }
            Reply::MethodNotAllowed(_) => (405, String::new()),
        }
    };
    format!(
        "https://{}",
        common::tls::https_stub(identity, Arc::new(answer))
    )
}

fn https_client(url: &str, trust: CertificateTrust) -> LeaseClient {
    LeaseClient::http(url, Some(&credential()), Duration::from_secs(2), &trust)
        .with_poll(Duration::from_millis(20))
}

#[test]
fn https_checks_the_certificate_as_the_ecx_client_does() {
    let ca = common::tls::Ca::new("site CA");
    let url = https_service(ca.issue());
    let ca_file = CaFile::from_pem(Path::new("site-ca.pem"), ca.pem.as_bytes()).unwrap();
    let trusted = https_client(
        &url,
        CertificateTrust {
            skip_certificate_check: false,
            ca: Some(ca_file),
        },
    );
    assert!(block(trusted.acquire("replication/vm1", "c1s1", 60_000_000, 0)).unwrap());
    assert!(block(trusted.claim_role("vm1", "cluster2", 1)).unwrap());
    block(trusted.release("replication/vm1", "c1s1")).unwrap();

    // Not trusted: a certificate error at once, not waited for as a service that is down.
    let untrusted = https_client(&url, CertificateTrust::default());
    let started = std::time::Instant::now();
    let e = block(untrusted.acquire("replication/vm1", "c1s1", 60_000_000, 5_000_000)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "{e}");
    common::tls::assert_untrusted_issuer(&e, &format!("the lease service at {url}"));
    assert!(!e.to_string().contains("s3cret"), "{e}");

    // A self-signed server, with the check skipped.
    let url = https_service(common::tls::self_signed());
    let skipping = https_client(
        &url,
        CertificateTrust {
            skip_certificate_check: true,
            ca: None,
        },
    );
    assert_eq!(block(skipping.role("vm1")).unwrap(), None);
}
