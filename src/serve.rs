//! `ecxsim serve`: the simulated world in real time (or faster), with each cluster's ECX REST
//! API on a port of its own, answered from the same view the control logic's calls get, and
//! faults injected over HTTP in the vocabulary of `[[inject]]`.
//!
//! The world is single-threaded (the control logic's tasks live on its executor), so it stays
//! on the calling thread; the HTTP workers hand each request over a channel and wait for its
//! answer.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::backend::sim::{HvCmd, Op, OpOutput, OpResult};
use crate::backend::BackendError;
use crate::backend::Name;
use crate::http_server::{envelope_error_body, HttpServer, Reply, Request, ServerConfig};
use crate::model::cluster_set::World;
use crate::model::scripted::scripted_faults;
use crate::production::credentials::Credential;
use crate::scenario::Scenario;
use crate::time::Micros;

/// The default first port: ECX's own REST API port.
pub const DEFAULT_PORT_BASE: u16 = 29009;

pub struct ServeOptions {
    pub bind: IpAddr,
    /// Cluster `i` of the scenario answers at `port_base + i` (0: any free ports).
    pub port_base: u16,
    pub credential: Credential,
    /// Simulated seconds per wall-clock second.
    pub speed: f64,
}

/// One request for the world, and where its answer goes.
struct Query {
    cluster: usize,
    request: Request,
    reply: Sender<Reply>,
}

struct ClusterApi {
    cluster: usize,
    queries: Mutex<Sender<Query>>,
}

impl crate::http_server::Handler for ClusterApi {
    fn handle(&self, request: &Request) -> Reply {
        let (tx, rx) = channel();
        let query = Query {
            cluster: self.cluster,
            request: request.clone(),
            reply: tx,
        };
        let sent = self
            .queries
            .lock()
            .map(|q| q.send(query).is_ok())
            .unwrap_or(false);
        if !sent {
            return Reply::error(503, "the simulation has stopped");
        }
        rx.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| Reply::error(503, "the simulation did not answer in time"))
    }
}

/// Serves `scenario` until `stop` is set; `ready` gets each cluster's name and address once
/// all listen.
pub fn serve(
    scenario: &Scenario,
    options: &ServeOptions,
    ready: impl FnOnce(&[(String, SocketAddr)]),
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let (tx, rx) = channel::<Query>();
    let mut servers = Vec::new();
    let mut addresses = Vec::new();
    for (i, cluster) in scenario.clusters.iter().enumerate() {
        let port = if options.port_base == 0 {
            0
        } else {
            u16::try_from(u32::from(options.port_base) + i as u32).map_err(|_| {
                std::io::Error::other(format!(
                    "port {} + {i} for cluster {} is past 65535",
                    options.port_base, cluster.name
                ))
            })?
        };
        let mut config = ServerConfig::new(port, options.credential.clone(), "ecxsim");
        config.bind = SocketAddr::new(options.bind, port);
        config.error_body = envelope_error_body;
        let handler = Arc::new(ClusterApi {
            cluster: i,
            queries: Mutex::new(tx.clone()),
        });
        let server = HttpServer::start(config, handler)?;
        addresses.push((cluster.name.clone(), server.local_addr()));
        servers.push(server);
    }
    drop(tx);
    ready(&addresses);

    let faults = scripted_faults(scenario);
    let mut world = World::new(scenario, scenario.simulation.seed, 0, false, &faults);
    let start = Instant::now();
    let speed = options.speed;
    let sim_now = || (start.elapsed().as_secs_f64() * speed * 1e6).min(u64::MAX as f64) as Micros;
    while !stop.load(Ordering::Relaxed) {
        world.advance_to(sim_now());
        // Sleep until the next event is due, a request arrives, or a stop is asked for.
        let wait = world.next_event().map_or(0.2, |t| {
            (t.saturating_sub(world.now()) as f64 / 1e6 / speed).clamp(0.0, 0.2)
        });
        match rx.recv_timeout(Duration::from_secs_f64(wait)) {
            Ok(query) => {
                world.advance_to(sim_now());
                let reply = answer(scenario, &mut world, query.cluster, &query.request);
                let _ = query.reply.send(reply);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    for server in servers {
        server.stop();
    }
    Ok(())
}

/// Routes one request of cluster `c`'s API.
fn answer(scenario: &Scenario, world: &mut World<'_>, c: usize, request: &Request) -> Reply {
    let Some(segments) = request.segments() else {
        return Reply::error(400, "the path is not valid UTF-8 once decoded");
    };
    let cluster = Name::from(scenario.clusters[c].name.as_str());
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let get = request.method == "GET";
    let post = request.method == "POST";
    let group = crate::model::cluster_set::group_name(&cluster);
    let op = match segments.as_slice() {
        ["api", "v1", "cluster"] if get => Op::RestCluster { cluster },
        ["api", "v1", "servers"] if get => Op::RestServers { cluster },
        ["api", "v1", "resources"] if get => Op::RestResources { cluster },
        ["api", "v1", "groups"] if get => Op::RestGroup {
            cluster,
            group: group.into(),
        },
        ["api", "v1", "groups", name] if get => Op::RestGroup {
            cluster,
            group: Name::from(*name),
        },
        ["api", "v1", "groups", name, action] if post => {
            let target = match target_of(request) {
                Ok(t) => t,
                Err(reply) => return reply,
            };
            if !name.eq_ignore_ascii_case(&group) {
                return Reply::error(404, format!("no group {name} in {cluster}"));
            }
            let group = Name::from(*name);
            let target = target.map(Name::from);
            match *action {
                "start" => Op::RestStartGroup {
                    cluster,
                    group,
                    target,
                },
                "stop" => Op::RestStopGroup { cluster, group },
                "move" => Op::RestMoveGroup {
                    cluster,
                    group,
                    target,
                },
                _ => return Reply::not_found(&request.path),
            }
        }
        ["ecxsim", "v1", "inject"] if post => return inject(scenario, world, request),
        ["ecxsim", "v1", "hyperv"] if post => return hyperv(world, request),
        ["ecxsim", "v1", "vms"] if get => return vm_states(world),
        ["api", "v1", "cluster" | "servers" | "resources" | "groups"]
        | ["api", "v1", "groups", _] => return Reply::MethodNotAllowed(&["GET"]),
        ["api", "v1", "groups", _, "start" | "stop" | "move"]
        | ["ecxsim", "v1", "inject" | "hyperv"] => return Reply::MethodNotAllowed(&["POST"]),
        ["ecxsim", "v1", "vms"] => return Reply::MethodNotAllowed(&["GET"]),
        _ => return Reply::not_found(&request.path),
    };
    render(world.external_rest(&op))
}

/// A POST's optional `{"target": "<server>"}`.
fn target_of(request: &Request) -> Result<Option<String>, Reply> {
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let body: Value = request.json()?;
    match body.get("target") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Reply::error(400, "`target` must be a server name")),
    }
}

/// ECX's answer to a call: its JSON with `result.code` 0, or the error in the envelope.
fn render(result: OpResult) -> Reply {
    let ok = json!({ "code": 0, "message": "" });
    match result {
        Ok(OpOutput::Group(g)) => Reply::ok(json!({
            "result": ok,
            "groups": [{
                "name": g.name,
                "status": g.status.as_str(),
                "current": g.current,
                "resources": g.resources.iter().map(|r| json!({ "name": r })).collect::<Vec<_>>(),
            }],
        })),
        Ok(OpOutput::Cluster(c)) => Reply::ok(json!({
            "result": ok,
            "cluster": { "name": c.name, "status": c.status },
        })),
        Ok(OpOutput::Servers(list)) => Reply::ok(json!({
            "result": ok,
            "servers": list.iter().map(|s| json!({ "name": s.name, "status": s.status })).collect::<Vec<_>>(),
        })),
        Ok(OpOutput::Resources(list)) => Reply::ok(json!({
            "result": ok,
            "resources": list.iter().map(|r| json!({
                "name": r.name,
                "type": r.kind,
                "status": r.status.as_str(),
                "current": r.current,
                "group": r.group,
            })).collect::<Vec<_>>(),
        })),
        Ok(_) => Reply::ok(json!({ "result": ok })),
        // The cluster's floating IP answers nowhere: a real client would time out.
        Err(e @ BackendError::Unreachable { .. }) => Reply::error(503, e.to_string()),
        Err(BackendError::Rest { code: 404, message }) => Reply::error(404, message),
        Err(BackendError::Rest { message, .. }) => Reply::error(409, message),
        Err(e) => Reply::error(500, e.to_string()),
    }
}

/// `POST /ecxsim/v1/inject` with `{"fault": ..., "target": ..., "to": ..., "duration": ...}`:
/// the keys and values of an `[[inject]]` section, applied now.
fn inject(scenario: &Scenario, world: &mut World<'_>, request: &Request) -> Reply {
    let body: Value = match request.json() {
        Ok(v) => v,
        Err(reply) => return reply,
    };
    let Some(fields) = body.as_object() else {
        return Reply::error(
            400,
            "expected a JSON object such as {\"fault\": \"server_crash\", \"target\": \"c1s1\"}",
        );
    };
    // Read as the scenario reader reads an [[inject]], with the same checks and messages.
    let mut text = String::from("[[inject]]\nat = \"0s\"\n");
    for (key, value) in fields {
        let Value::String(value) = value else {
            return Reply::error(400, format!("`{key}` must be a string"));
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Reply::error(400, format!("unknown key {key:?}"));
        }
        text.push_str(&format!("{key} = {}\n", toml_edit::value(value.as_str())));
    }
    let inject = match crate::scenario::parse_inject(&text, &scenario.clusters) {
        Ok(inject) => inject,
        Err(e) => return Reply::error(400, e),
    };
    let mut one = scenario.clone();
    one.injects = vec![inject];
    for (_, fault) in scripted_faults(&one) {
        world.inject_now(fault);
    }
    Reply::ok(json!({ "result": { "code": 0, "message": "" } }))
}

/// A cmdlet for the world's Hyper-V: run by PowerShell on `caller` against `host`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HyperVCall {
    caller: String,
    host: String,
    cmd: HvCmd,
}

/// `POST /ecxsim/v1/hyperv` with `{"caller", "host", "cmd": {"cmdlet": ..., ...}}`: the
/// cmdlet's typed outcome (`{"Ok": ...}` or `{"Err": ...}`), for a PowerShell stand-in that
/// answers from the served world. A caller that is not one of the world's servers is refused.
fn hyperv(world: &mut World<'_>, request: &Request) -> Reply {
    let call: HyperVCall = match serde_json::from_slice(&request.body) {
        Ok(call) => call,
        Err(e) => {
            return Reply::error(
                400,
                format!("expected {{\"caller\", \"host\", \"cmd\"}}: {e}"),
            )
        }
    };
    if !world.is_server(&call.caller) {
        return Reply::error(404, format!("no server {}", call.caller));
    }
    let outcome = world.external_hyperv(&call.caller, &call.host, &call.cmd);
    Reply::ok(json!({ "result": { "code": 0, "message": "" }, "outcome": outcome }))
}

/// `GET /ecxsim/v1/vms`: each VM's end state and the servers it serves from.
fn vm_states(world: &World<'_>) -> Reply {
    let vms: Vec<Value> = world
        .vm_states()
        .into_iter()
        .map(|(name, state, serving)| json!({ "name": name, "end_state": state.name(), "serving": serving }))
        .collect();
    Reply::ok(json!({ "result": { "code": 0, "message": "" }, "vms": vms }))
}
