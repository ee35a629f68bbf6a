//! HTTPS for the client tests: certificates made in the test (a self-signed one, or a CA and
//! a server certificate it signed, for 127.0.0.1) and a small HTTPS server that answers each
//! request from a function.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// What a server presents: its certificate chain and key.
pub struct ServerIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
}

fn server_params() -> rcgen::CertificateParams {
    // The clients connect to 127.0.0.1: the certificate is issued for that address.
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "ecx server");
    params
}

/// A certificate signed by its own key, as an ECX server set up without a CA presents.
pub fn self_signed() -> ServerIdentity {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = server_params().self_signed(&key).unwrap();
    ServerIdentity {
        chain: vec![cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
    }
}

/// A site's certificate authority.
pub struct Ca {
    pub pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A server certificate for 127.0.0.1 signed by this CA.
    pub fn issue(&self) -> ServerIdentity {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = server_params().signed_by(&key, &self.issuer).unwrap();
        ServerIdentity {
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        }
    }
}

/// An answer: status and JSON body, from the method, the path and the request body.
pub type Answer = dyn Fn(&str, &str, &[u8]) -> (u16, String) + Send + Sync;

/// Serves HTTPS with `identity` on a loopback port until the test ends; one connection a
/// request (`Connection: close`), so every request makes a new handshake.
pub fn https_stub(identity: ServerIdentity, answer: Arc<Answer>) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(identity.chain, PrivateKeyDer::Pkcs8(identity.key))
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.clone();
            let answer = answer.clone();
            std::thread::spawn(move || {
                // A client that refuses the certificate ends the handshake: nothing to answer.
                let _ = serve_one(stream, config, &*answer);
            });
        }
    });
    addr
}

fn serve_one(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    answer: &Answer,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = BufReader::new(rustls::StreamOwned::new(connection, stream));
    let mut request_line = String::new();
    tls.read_line(&mut request_line)?;
    let mut words = request_line.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let path = words.next().unwrap_or_default().to_string();
    let mut length = 0;
    loop {
        let mut line = String::new();
        tls.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    tls.read_exact(&mut body)?;
    let (status, text) = answer(&method, &path, &body);
    let mut tls = tls.into_inner();
    write!(
        tls,
        "HTTP/1.1 {status} Answer\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        text.len()
    )?;
    tls.flush()?;
    tls.conn.send_close_notify();
    tls.flush()
}

/// `error` must be `target`'s refusal of a certificate that no trusted CA signed, and say so.
pub fn assert_untrusted_issuer(error: &ecxsim::backend::BackendError, target: &str) {
    let ecxsim::backend::BackendError::Certificate {
        target: refused,
        problem,
    } = error
    else {
        panic!("expected a certificate error, got: {error}");
    };
    assert_eq!(refused, target);
    assert!(
        problem.contains("not signed by a trusted certificate authority"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("TLS certificate that is not trusted"),
        "{error}"
    );
}
