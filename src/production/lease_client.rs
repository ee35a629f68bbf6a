//! `Lease` for the coordinated scripts and the master: the lease service over HTTP (agents),
//! or the same service in the process (the master that serves it).
//!
//! Waiting: `acquire` asks again every `poll` until `wait` runs out. An unreachable service
//! (the master failing over, a minute or so) is waited for the same way, and its error is
//! returned only once `wait` has run out: a start script then neither starts the VM nor
//! re-points replication (see the README). The epoch of each grant is kept, and sent with
//! the release, so a holder that lost its lease cannot release its successor's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::credentials::{Credential, Secret};
use super::http_ecx::encode_segment;
use super::lease_service::LeaseService;
use super::offload::{offload, RealClock};
use super::tls::{certificate_problem, CertificateTrust};
use crate::backend::traits::BackendResult;
use crate::backend::{BackendError, Clock, Lease, RoleRecord};
use crate::http_server::{Handler, Reply, Request};
use crate::time::Micros;

enum Transport {
    Http {
        agent: ureq::Agent,
        base: String,
        authorization: Option<Secret>,
    },
    Local(Arc<LeaseService>),
}

struct Inner {
    transport: Transport,
    epochs: Mutex<HashMap<(String, String), u64>>,
    poll: Duration,
}

#[derive(Clone)]
pub struct LeaseClient {
    inner: Arc<Inner>,
}

const TARGET: &str = "the lease service";

impl LeaseClient {
    /// The service at `base` (`http://<master FIP>:<port>`, or `https://` through a TLS
    /// proxy in front of it, whose certificate `trust` checks as the ECX client does).
    pub fn http(
        base: &str,
        credential: Option<&Credential>,
        timeout: Duration,
        trust: &CertificateTrust,
    ) -> LeaseClient {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(trust.tls_config())
            .timeout_connect(Some(timeout))
            .timeout_send_request(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_recv_body(Some(timeout))
            .build()
            .into();
        LeaseClient::with(Transport::Http {
            agent,
            base: base.trim_end_matches('/').to_string(),
            authorization: credential.map(Credential::basic_authorization),
        })
    }

    /// The service in this process.
    pub fn local(service: Arc<LeaseService>) -> LeaseClient {
        LeaseClient::with(Transport::Local(service))
    }

    fn with(transport: Transport) -> LeaseClient {
        LeaseClient {
            inner: Arc::new(Inner {
                transport,
                epochs: Mutex::new(HashMap::new()),
                poll: Duration::from_secs(1),
            }),
        }
    }

    /// How often a waiting acquisition asks again (tests shorten it).
    pub fn with_poll(self, poll: Duration) -> LeaseClient {
        let inner = Arc::into_inner(self.inner).expect("set before use");
        LeaseClient {
            inner: Arc::new(Inner { poll, ..inner }),
        }
    }

    async fn exchange(
        &self,
        method: &'static str,
        path: String,
        body: Option<Value>,
    ) -> BackendResult<Value> {
        let inner = self.inner.clone();
        offload(move || inner.exchange(method, &path, body)).await
    }
}

impl Inner {
    fn exchange(&self, method: &str, path: &str, body: Option<Value>) -> BackendResult<Value> {
        let (status, text) = match &self.transport {
            Transport::Local(service) => {
                let request = Request {
                    method: method.to_string(),
                    path: path.to_string(),
                    query: None,
                    body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
                };
                match service.handle(&request) {
                    Reply::Json(status, v) => (status, v.to_string()),
                    Reply::Error(status, message) => {
                        (status, json!({ "error": message }).to_string())
                    }
                    Reply::MethodNotAllowed(_) => (405, String::new()),
                }
            }
            Transport::Http {
                agent,
                base,
                authorization,
            } => {
                let url = format!("{base}{path}");
                let result = if method == "GET" {
                    let mut req = agent.get(&url);
                    if let Some(a) = authorization {
                        req = req.header("Authorization", a.expose());
                    }
                    req.call()
                } else {
                    let mut req = agent.post(&url).header("Content-Type", "application/json");
                    if let Some(a) = authorization {
                        req = req.header("Authorization", a.expose());
                    }
                    req.send(body.map(|b| b.to_string()).unwrap_or_default().as_bytes())
                };
                let target = || format!("{TARGET} at {base}");
                let mut response = result.map_err(|e| {
                    if let Some(problem) = certificate_problem(&e) {
                        return BackendError::Certificate {
                            target: target(),
                            problem: problem.to_string(),
                        };
                    }
                    match e {
                        ureq::Error::Timeout(_) => BackendError::Timeout { target: target() },
                        _ => BackendError::Unreachable { target: target() },
                    }
                })?;
                let status = response.status().as_u16();
                let text = response
                    .body_mut()
                    .with_config()
                    .limit(1 << 20)
                    .read_to_string()
                    .map_err(|_| BackendError::Unreachable { target: target() })?;
                (status, text)
            }
        };
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        match status {
            200..=299 => parsed.ok_or_else(|| BackendError::Undecodable {
                target: TARGET.into(),
                detail: "the answer is not JSON".into(),
            }),
            401 | 403 => Err(BackendError::Authentication {
                target: TARGET.into(),
            }),
            _ => {
                let message = parsed
                    .as_ref()
                    .and_then(|v| v.get("error"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                match message {
                    Some(message) => Err(BackendError::Failed {
                        target: TARGET.into(),
                        message,
                    }),
                    None => Err(BackendError::HttpStatus {
                        target: TARGET.into(),
                        status,
                    }),
                }
            }
        }
    }
}

fn undecodable(detail: &str) -> BackendError {
    BackendError::Undecodable {
        target: TARGET.into(),
        detail: detail.into(),
    }
}

/// Whether waiting may help: a refusal of the credentials, of the request or of the server's
/// certificate will not change.
fn transient(e: &BackendError) -> bool {
    matches!(
        e,
        BackendError::Unreachable { .. }
            | BackendError::Timeout { .. }
            | BackendError::HttpStatus { .. }
    )
}

impl Lease for LeaseClient {
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Micros,
        wait: Micros,
    ) -> BackendResult<bool> {
        let started = Instant::now();
        let wait = Duration::from_micros(wait);
        let ttl_ms = (ttl / 1000).max(1);
        loop {
            let body = json!({"name": name, "holder": holder, "ttl_ms": ttl_ms});
            let answer = self
                .exchange("POST", "/lease/v1/acquire".into(), Some(body))
                .await;
            let out_of_time = started.elapsed() >= wait;
            match answer {
                Ok(v) => match v.get("granted").and_then(Value::as_bool) {
                    Some(true) => {
                        let epoch = v
                            .get("epoch")
                            .and_then(Value::as_u64)
                            .ok_or_else(|| undecodable("a grant without an epoch"))?;
                        self.inner
                            .epochs
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert((name.to_string(), holder.to_string()), epoch);
                        return Ok(true);
                    }
                    Some(false) if out_of_time => return Ok(false),
                    Some(false) => {}
                    None => return Err(undecodable("no `granted` in the answer")),
                },
                Err(e) if out_of_time || !transient(&e) => return Err(e),
                Err(_) => {}
            }
            let pause = self.inner.poll.min(wait.saturating_sub(started.elapsed()));
            RealClock.sleep(pause.as_micros() as Micros).await;
        }
    }

    async fn release(&self, name: &str, holder: &str) -> BackendResult<()> {
        let key = (name.to_string(), holder.to_string());
        let epoch = self
            .inner
            .epochs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        // Nothing granted to us under this name: nothing to release.
        let Some(epoch) = epoch else {
            return Ok(());
        };
        let body = json!({"name": name, "holder": holder, "epoch": epoch});
        self.exchange("POST", "/lease/v1/release".into(), Some(body))
            .await
            .map(|_| ())
    }

    async fn role(&self, vm: &str) -> BackendResult<Option<RoleRecord>> {
        let v = self
            .exchange(
                "GET",
                format!("/lease/v1/roles/{}", encode_segment(vm)),
                None,
            )
            .await?;
        match v.get("role") {
            None => Err(undecodable("no `role` in the answer")),
            Some(Value::Null) => Ok(None),
            Some(r) => serde_json::from_value(r.clone())
                .map(Some)
                .map_err(|_| undecodable("a malformed role record")),
        }
    }

    async fn claim_role(&self, vm: &str, cluster: &str, epoch: u64) -> BackendResult<bool> {
        let body = json!({"cluster": cluster, "epoch": epoch});
        let v = self
            .exchange(
                "POST",
                format!("/lease/v1/roles/{}/claim", encode_segment(vm)),
                Some(body),
            )
            .await?;
        v.get("granted")
            .and_then(Value::as_bool)
            .ok_or_else(|| undecodable("no `granted` in the answer"))
    }
}
