//! `Ecx` over the ECX REST API: HTTP or HTTPS to port 29009, HTTP Basic auth, the
//! `result {code, message}` envelope checked on every answer.
//!
//! Each cluster has several addresses, the FIP first and then each server, tried in order as
//! ECX's own clients do: during a failover the FIP is briefly nowhere, but every server's API
//! answers for the whole cluster. Only a missing answer moves on to the next address; an
//! answer (even a refusal) is the cluster's answer.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::credentials::{Credential, Secret};
use super::offload::offload;
use super::tls::{certificate_problem, CertificateTrust};
use crate::backend::traits::BackendResult;
use crate::backend::{
    BackendError, ClusterInfo, Ecx, GroupInfo, GroupStatus, Name, ResourceInfo, ServerInfo,
    NO_SERVER,
};

/// The largest answer read (a cluster's whole status is a few kilobytes).
const MAX_ANSWER: u64 = 4 << 20;

/// How to reach the REST API of every cluster.
#[derive(Debug, Clone)]
pub struct EcxApiConfig {
    /// `https` instead of `http`.
    pub https: bool,
    /// Which server certificates `https` accepts.
    pub trust: CertificateTrust,
    pub port: u16,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
}

impl Default for EcxApiConfig {
    fn default() -> Self {
        EcxApiConfig {
            https: false,
            trust: CertificateTrust::default(),
            port: 29009,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(30),
        }
    }
}

struct Cluster {
    /// `http://<address>:<port>` for each address, in the order they are tried.
    bases: Vec<String>,
}

struct Inner {
    agent: ureq::Agent,
    clusters: BTreeMap<String, Cluster>,
    authorization: Option<Secret>,
}

/// The ECX REST API of several clusters, by cluster name.
#[derive(Clone)]
pub struct HttpEcx {
    inner: Arc<Inner>,
}

/// An address as written in the configuration: a host name, an IPv4 or IPv6 address, with or
/// without a port.
fn base_url(scheme: &str, address: &str, port: u16) -> String {
    let has_port = match address.rsplit_once(':') {
        Some((host, p)) => p.parse::<u16>().is_ok() && (!host.contains(':') || host.ends_with(']')),
        None => false,
    };
    if has_port {
        format!("{scheme}://{address}")
    } else if address.contains(':') && !address.starts_with('[') {
        format!("{scheme}://[{address}]:{port}")
    } else {
        format!("{scheme}://{address}:{port}")
    }
}

/// Percent-encodes a path segment (group and server names are plain, but need not be).
pub fn encode_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl HttpEcx {
    /// `clusters`: each cluster's name and its addresses (FIP first).
    pub fn new(
        config: &EcxApiConfig,
        clusters: &[(String, Vec<String>)],
        credential: Option<&Credential>,
    ) -> HttpEcx {
        let tls = config.trust.tls_config();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_send_request(Some(config.read_timeout))
            .timeout_recv_response(Some(config.read_timeout))
            .timeout_recv_body(Some(config.read_timeout))
            .tls_config(tls)
            .build()
            .into();
        let scheme = if config.https { "https" } else { "http" };
        let clusters = clusters
            .iter()
            .map(|(name, addresses)| {
                let bases = addresses
                    .iter()
                    .map(|a| base_url(scheme, a, config.port))
                    .collect();
                (name.to_ascii_lowercase(), Cluster { bases })
            })
            .collect();
        HttpEcx {
            inner: Arc::new(Inner {
                agent,
                clusters,
                authorization: credential.map(Credential::basic_authorization),
            }),
        }
    }

    /// One request to `cluster`, address after address until one answers; the checked
    /// envelope's JSON.
    async fn request(
        &self,
        cluster: &str,
        path: String,
        post: Option<Option<String>>,
    ) -> BackendResult<Value> {
        let inner = self.inner.clone();
        let cluster = cluster.to_string();
        offload(move || inner.request(&cluster, &path, post.as_ref())).await
    }

    async fn get(&self, cluster: &str, path: String) -> BackendResult<Value> {
        self.request(cluster, path, None).await
    }

    async fn post(&self, cluster: &str, path: String, target: Option<&str>) -> BackendResult<()> {
        let body = target.map(|t| serde_json::json!({ "target": t }).to_string());
        self.request(cluster, path, Some(body)).await.map(|_| ())
    }
}

/// What went wrong at one address.
enum Miss {
    Unreachable,
    Timeout,
    /// The TLS handshake refused the server's certificate: why.
    Certificate(&'static str),
}

impl Inner {
    fn request(
        &self,
        cluster: &str,
        path: &str,
        post: Option<&Option<String>>,
    ) -> BackendResult<Value> {
        let entry = self
            .clusters
            .get(&cluster.to_ascii_lowercase())
            .ok_or(BackendError::NoTarget)?;
        let mut timed_out = false;
        // Each server may present its own certificate, so a refused one moves on like a
        // missing answer; if no address answers, the refusal is what the operator must fix.
        let mut refused = None;
        for base in &entry.bases {
            let url = format!("{base}{path}");
            match self.once(&url, post) {
                Ok((status, body)) => return check(cluster, base, status, &body, post.is_some()),
                Err(Miss::Timeout) => timed_out = true,
                Err(Miss::Unreachable) => {}
                Err(Miss::Certificate(problem)) => {
                    refused.get_or_insert((base, problem));
                }
            }
        }
        if let Some((base, problem)) = refused {
            return Err(BackendError::Certificate {
                target: format!("{cluster} at {base}"),
                problem: problem.to_string(),
            });
        }
        let target = format!("{cluster} ({})", entry.bases.join(", "));
        Err(if timed_out {
            BackendError::Timeout { target }
        } else {
            BackendError::Unreachable { target }
        })
    }

    /// One HTTP exchange: the status and the body, or why there was none.
    fn once(&self, url: &str, post: Option<&Option<String>>) -> Result<(u16, Vec<u8>), Miss> {
        let result = match post {
            None => {
                let mut req = self.agent.get(url).header("Accept", "application/json");
                if let Some(auth) = &self.authorization {
                    req = req.header("Authorization", auth.expose());
                }
                req.call()
            }
            Some(body) => {
                let mut req = self
                    .agent
                    .post(url)
                    .header("Accept", "application/json")
                    .header("Content-Type", "application/json");
                if let Some(auth) = &self.authorization {
                    req = req.header("Authorization", auth.expose());
                }
                match body {
                    Some(text) => req.send(text.as_bytes()),
                    None => req.send_empty(),
                }
            }
        };
        let mut response = result.map_err(classify)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        response
            .body_mut()
            .as_reader()
            .take(MAX_ANSWER)
            .read_to_end(&mut body)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::TimedOut {
                    Miss::Timeout
                } else {
                    Miss::Unreachable
                }
            })?;
        Ok((status, body))
    }
}

fn classify(error: ureq::Error) -> Miss {
    if let Some(problem) = certificate_problem(&error) {
        return Miss::Certificate(problem);
    }
    match error {
        ureq::Error::Timeout(_) => Miss::Timeout,
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => Miss::Timeout,
        _ => Miss::Unreachable,
    }
}

#[derive(Deserialize)]
struct Outcome {
    code: Value,
    #[serde(default)]
    message: Option<String>,
}

/// The envelope rules: `result.code` non-zero is a failure, and on a POST so is a non-empty
/// `result.message` (NEC's client: "when operation command execution fails, message contains
/// a cause"); a refusal of the credentials is its own error.
fn check(cluster: &str, base: &str, status: u16, body: &[u8], post: bool) -> BackendResult<Value> {
    let target = format!("{cluster} at {base}");
    if status == 401 || status == 403 {
        return Err(BackendError::Authentication { target });
    }
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let outcome = parsed
        .as_ref()
        .and_then(|v| v.get("result"))
        .and_then(|r| Outcome::deserialize(r).ok());
    let Some(outcome) = outcome else {
        return Err(if (200..300).contains(&status) {
            BackendError::Undecodable {
                target,
                detail: "no `result` envelope".into(),
            }
        } else {
            BackendError::HttpStatus { target, status }
        });
    };
    // ECX answers the code as a number; some versions quote it.
    let code = match &outcome.code {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| BackendError::Undecodable {
        target: target.clone(),
        detail: "`result.code` is not a number".into(),
    })?;
    let message = outcome.message.unwrap_or_default();
    if code != 0 || (post && !message.trim().is_empty()) {
        return Err(BackendError::Rest { code, message });
    }
    if !(200..300).contains(&status) {
        return Err(BackendError::HttpStatus { target, status });
    }
    Ok(parsed.unwrap_or(Value::Null))
}

fn undecodable(cluster: &str, detail: impl Into<String>) -> BackendError {
    BackendError::Undecodable {
        target: cluster.to_string(),
        detail: detail.into(),
    }
}

fn text<'v>(cluster: &str, v: &'v Value, key: &str) -> BackendResult<&'v str> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| undecodable(cluster, format!("`{key}` missing or not a string")))
}

fn status_of(cluster: &str, v: &Value) -> BackendResult<GroupStatus> {
    let s = text(cluster, v, "status")?;
    GroupStatus::parse(s).ok_or_else(|| undecodable(cluster, format!("unknown status {s:?}")))
}

/// `current`: the server, or "None" (null and absent read the same).
fn current_of(v: &Value) -> String {
    match v.get("current").and_then(Value::as_str) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => NO_SERVER.to_string(),
    }
}

fn array<'v>(cluster: &str, v: &'v Value, key: &str) -> BackendResult<&'v Vec<Value>> {
    v.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| undecodable(cluster, format!("`{key}` missing or not an array")))
}

pub fn parse_group(cluster: &str, group: &str, v: &Value) -> BackendResult<GroupInfo> {
    // `groups` is an array even for `/groups/<name>`.
    let groups = array(cluster, v, "groups")?;
    let g = groups
        .iter()
        .find(|g| {
            g.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(group))
        })
        .ok_or_else(|| undecodable(cluster, format!("no group {group:?} in the answer")))?;
    let resources = match g.get("resources").and_then(Value::as_array) {
        None => Arc::from([]),
        Some(list) => list
            .iter()
            .filter_map(|r| match r {
                Value::String(s) => Some(Name::from(s.as_str())),
                other => other.get("name").and_then(Value::as_str).map(Name::from),
            })
            .collect(),
    };
    Ok(GroupInfo {
        name: text(cluster, g, "name")?.into(),
        status: status_of(cluster, g)?,
        current: current_of(g).into(),
        resources,
    })
}

pub fn parse_resources(cluster: &str, v: &Value) -> BackendResult<Vec<ResourceInfo>> {
    array(cluster, v, "resources")?
        .iter()
        .map(|r| {
            Ok(ResourceInfo {
                name: text(cluster, r, "name")?.to_string(),
                kind: text(cluster, r, "type")?.to_string(),
                status: status_of(cluster, r)?,
                current: current_of(r),
                group: r
                    .get("group")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            })
        })
        .collect()
}

pub fn parse_servers(cluster: &str, v: &Value) -> BackendResult<Vec<ServerInfo>> {
    array(cluster, v, "servers")?
        .iter()
        .map(|s| {
            Ok(ServerInfo {
                name: text(cluster, s, "name")?.to_string(),
                status: text(cluster, s, "status")?.to_string(),
            })
        })
        .collect()
}

pub fn parse_cluster(cluster: &str, v: &Value) -> BackendResult<ClusterInfo> {
    let c = v
        .get("cluster")
        .ok_or_else(|| undecodable(cluster, "`cluster` missing"))?;
    Ok(ClusterInfo {
        name: text(cluster, c, "name")?.to_string(),
        status: text(cluster, c, "status")?.to_string(),
    })
}

impl Ecx for HttpEcx {
    async fn cluster(&self, cluster: &str) -> BackendResult<ClusterInfo> {
        let v = self.get(cluster, "/api/v1/cluster".into()).await?;
        parse_cluster(cluster, &v)
    }

    async fn servers(&self, cluster: &str) -> BackendResult<Vec<ServerInfo>> {
        let v = self.get(cluster, "/api/v1/servers".into()).await?;
        parse_servers(cluster, &v)
    }

    async fn group(&self, cluster: &str, group: &str) -> BackendResult<GroupInfo> {
        let path = format!("/api/v1/groups/{}", encode_segment(group));
        let v = self.get(cluster, path).await?;
        parse_group(cluster, group, &v)
    }

    async fn resources(&self, cluster: &str) -> BackendResult<Vec<ResourceInfo>> {
        let v = self.get(cluster, "/api/v1/resources".into()).await?;
        parse_resources(cluster, &v)
    }

    async fn start_group(
        &self,
        cluster: &str,
        group: &str,
        target: Option<&str>,
    ) -> BackendResult<()> {
        let path = format!("/api/v1/groups/{}/start", encode_segment(group));
        self.post(cluster, path, target).await
    }

    async fn stop_group(&self, cluster: &str, group: &str) -> BackendResult<()> {
        let path = format!("/api/v1/groups/{}/stop", encode_segment(group));
        self.post(cluster, path, None).await
    }

    async fn move_group(
        &self,
        cluster: &str,
        group: &str,
        target: Option<&str>,
    ) -> BackendResult<()> {
        let path = format!("/api/v1/groups/{}/move", encode_segment(group));
        self.post(cluster, path, target).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_base_urls() {
        assert_eq!(base_url("http", "10.0.0.1", 29009), "http://10.0.0.1:29009");
        assert_eq!(base_url("https", "srv:8443", 29009), "https://srv:8443");
        assert_eq!(base_url("http", "fe80::1", 29009), "http://[fe80::1]:29009");
        assert_eq!(base_url("http", "[fe80::1]:1", 29009), "http://[fe80::1]:1");
        assert_eq!(encode_segment("fail over/1"), "fail%20over%2F1");
    }

    #[test]
    fn envelope_rules() {
        let ok = br#"{"result":{"code":0,"message":""},"groups":[]}"#;
        assert!(check("c", "b", 200, ok, true).is_ok());
        let failed = br#"{"result":{"code":1,"message":"no such group"}}"#;
        assert_eq!(
            check("c", "b", 200, failed, false),
            Err(BackendError::Rest {
                code: 1,
                message: "no such group".into()
            })
        );
        let post_message = br#"{"result":{"code":0,"message":"group is busy"}}"#;
        assert!(check("c", "b", 200, post_message, false).is_ok());
        assert!(matches!(
            check("c", "b", 200, post_message, true),
            Err(BackendError::Rest { code: 0, .. })
        ));
        assert!(matches!(
            check("c", "b", 200, b"<html>", false),
            Err(BackendError::Undecodable { .. })
        ));
        assert!(matches!(
            check("c", "b", 502, b"<html>", false),
            Err(BackendError::HttpStatus { status: 502, .. })
        ));
        assert!(matches!(
            check("c", "b", 401, b"", false),
            Err(BackendError::Authentication { .. })
        ));
    }

    #[test]
    fn group_shapes() {
        let v: Value = serde_json::from_str(
            r#"{"result":{"code":0,"message":""},"groups":[{"name":"failover1","status":"Online Pending","current":"server1","resources":[{"name":"fip1"},{"name":"sd1"}]}]}"#,
        )
        .unwrap();
        let g = parse_group("c", "failover1", &v).unwrap();
        assert_eq!(g.status, GroupStatus::OnlinePending);
        assert_eq!(g.active_server(), Some("server1"));
        assert_eq!(*g.resources, [Name::from("fip1"), Name::from("sd1")]);
        let off: Value = serde_json::from_str(
            r#"{"groups":[{"name":"failover1","status":"Offline","current":null}]}"#,
        )
        .unwrap();
        assert_eq!(
            *parse_group("c", "failover1", &off).unwrap().current,
            *NO_SERVER
        );
        let odd: Value =
            serde_json::from_str(r#"{"groups":[{"name":"failover1","status":"Sleeping"}]}"#)
                .unwrap();
        assert!(matches!(
            parse_group("c", "failover1", &odd),
            Err(BackendError::Undecodable { .. })
        ));
    }
}
