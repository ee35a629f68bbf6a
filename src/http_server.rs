//! The plumbing every HTTP service of ecxsim shares: a loopback bind unless told otherwise,
//! HTTP Basic authentication on every request, a small body limit, and an error answer (never
//! a crash, never a dropped connection) for whatever a client sends. A service supplies only
//! a `Handler` that routes authenticated, size-checked requests, and the shape of its error
//! bodies (the lease service answers `{"error": ...}`, an ECX emulator its `result` envelope).

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::production::credentials::{Credential, Secret};

/// The default bind address: loopback, so nothing is exposed unless the configuration says so.
pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A request that passed authentication and the body limit.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path without the query, still percent-encoded.
    pub path: String,
    pub query: Option<String>,
    pub body: Vec<u8>,
}

impl Request {
    /// The path's segments, percent-decoded; `None` if one does not decode to UTF-8.
    pub fn segments(&self) -> Option<Vec<String>> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect()
    }

    /// The body as JSON of type `T`, or a 400 answer saying what is wrong with it.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Reply> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Reply::error(400, format!("malformed JSON body: {e}")))
    }
}

/// Decodes `%XX` escapes; `None` for a bad escape or a result that is not UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What a handler answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Json(u16, Value),
    /// Rendered by the service's `error_body`.
    Error(u16, String),
    /// 405 with an `Allow` header.
    MethodNotAllowed(&'static [&'static str]),
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply::Json(200, body)
    }

    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply::Error(status, message.into())
    }

    pub fn not_found(path: &str) -> Reply {
        Reply::error(404, format!("no such resource: {path}"))
    }
}

/// A service's routes.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: &Request) -> Reply;
}

/// How a service is exposed.
#[derive(Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// Every request must carry these (HTTP Basic).
    pub credential: Credential,
    /// Named in `WWW-Authenticate`.
    pub realm: String,
    /// Larger bodies are refused with 413 before being read.
    pub max_body: usize,
    pub threads: usize,
    /// The JSON body of an error answer.
    pub error_body: fn(u16, &str) -> Value,
}

impl ServerConfig {
    pub fn new(port: u16, credential: Credential, realm: &str) -> ServerConfig {
        ServerConfig {
            bind: SocketAddr::new(LOOPBACK, port),
            credential,
            realm: realm.to_string(),
            max_body: 16 * 1024,
            threads: 4,
            error_body: plain_error_body,
        }
    }
}

/// `{"error": "<message>"}`.
pub fn plain_error_body(_status: u16, message: &str) -> Value {
    serde_json::json!({ "error": message })
}

/// `{"result": {"code": <status>, "message": "<message>"}}`: the ECX REST API's envelope, for
/// a service that answers like ECX.
pub fn envelope_error_body(status: u16, message: &str) -> Value {
    serde_json::json!({ "result": { "code": status, "message": message } })
}

/// A running server; stops (and joins its threads) on `stop` or drop.
pub struct HttpServer {
    server: Arc<tiny_http::Server>,
    stopping: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    addr: SocketAddr,
}

impl HttpServer {
    pub fn start(config: ServerConfig, handler: Arc<dyn Handler>) -> std::io::Result<HttpServer> {
        let server = tiny_http::Server::http(config.bind)
            .map_err(|e| std::io::Error::other(format!("cannot listen on {}: {e}", config.bind)))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("not an IP listener"))?;
        let server = Arc::new(server);
        let stopping = Arc::new(AtomicBool::new(false));
        let expected = Arc::new(config.credential.basic_authorization());
        let config = Arc::new(config);
        let workers = (0..config.threads.max(1))
            .map(|_| {
                let (server, stopping) = (server.clone(), stopping.clone());
                let (handler, config, expected) =
                    (handler.clone(), config.clone(), expected.clone());
                std::thread::spawn(move || {
                    while !stopping.load(Ordering::Relaxed) {
                        match server.recv_timeout(Duration::from_millis(200)) {
                            Ok(Some(request)) => serve(request, &*handler, &config, &expected),
                            Ok(None) => {}
                            Err(_) => std::thread::sleep(Duration::from_millis(50)),
                        }
                    }
                })
            })
            .collect();
        Ok(HttpServer {
            server,
            stopping,
            workers,
            addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        for _ in &self.workers {
            self.server.unblock();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Compares without an early exit, so the time taken does not tell how much matched.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn header(request: &tiny_http::Request, name: &str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_string())
}

fn serve(
    mut request: tiny_http::Request,
    handler: &dyn Handler,
    config: &ServerConfig,
    expected: &Secret,
) {
    let authorized = header(&request, "Authorization")
        .is_some_and(|given| same(given.trim().as_bytes(), expected.expose().as_bytes()));
    let reply = if !authorized {
        Reply::error(401, "authentication required")
    } else {
        read_request(&mut request, config.max_body)
            .map(|r| handler.handle(&r))
            .unwrap_or_else(|reply| reply)
    };
    respond(request, reply, config);
}

fn read_request(request: &mut tiny_http::Request, max_body: usize) -> Result<Request, Reply> {
    let too_large = || Reply::error(413, format!("request body over {max_body} bytes"));
    if request.body_length().is_some_and(|n| n > max_body) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    request
        .as_reader()
        .take(max_body as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|_| Reply::error(400, "unreadable request body"))?;
    if body.len() > max_body {
        return Err(too_large());
    }
    let url = request.url().to_string();
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (url, None),
    };
    Ok(Request {
        method: request.method().as_str().to_ascii_uppercase(),
        path,
        query,
        body,
    })
}

fn respond(request: tiny_http::Request, reply: Reply, config: &ServerConfig) {
    let json = |v: &Value| v.to_string();
    let (status, body, extra) = match reply {
        Reply::Json(status, v) => (status, json(&v), None),
        Reply::Error(401, message) => (
            401,
            json(&(config.error_body)(401, &message)),
            Some((
                "WWW-Authenticate",
                format!("Basic realm=\"{}\", charset=\"UTF-8\"", config.realm),
            )),
        ),
        Reply::Error(status, message) => {
            (status, json(&(config.error_body)(status, &message)), None)
        }
        Reply::MethodNotAllowed(allowed) => (
            405,
            json(&(config.error_body)(405, "method not allowed")),
            Some(("Allow", allowed.join(", "))),
        ),
    };
    let mut response = tiny_http::Response::from_string(body).with_status_code(status);
    if let Ok(h) = tiny_http::Header::from_bytes("Content-Type", "application/json") {
        response = response.with_header(h);
    }
    if let Some((name, value)) = extra {
        if let Ok(h) = tiny_http::Header::from_bytes(name, value.as_bytes()) {
            response = response.with_header(h);
        }
    }
    // A client that went away gets no answer; nothing to do about it.
    let _ = request.respond(response);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("%ff"), None);
    }
}
