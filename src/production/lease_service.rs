//! The lease service the master serves (ECX has no lease API): the routes over the
//! `LeaseBook`, behind the shared HTTP plumbing (authentication, limits, error answers).
//!
//! - `POST /lease/v1/acquire` `{"name","holder","ttl_ms"}` → `{"granted":true,"epoch":E}` or
//!   `{"granted":false,"holder":H}`
//! - `POST /lease/v1/release` `{"name","holder","epoch"}` → `{"released":true}`, or 409 when
//!   the holder was fenced (its grant ran out and the lease went to another)
//! - `GET /lease/v1/roles/<vm>` → `{"role":null}` or `{"role":{"primary":C,"epoch":E}}`
//! - `POST /lease/v1/roles/<vm>/claim` `{"cluster","epoch"}` → `{"granted":bool}`

use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::json;

use super::lease_book::{now_ms, Acquired, StoredBook};
use crate::http_server::{Handler, Reply, Request};

/// The longest time to live a lease may be granted for.
pub const MAX_TTL_MS: u64 = 24 * 3600 * 1000;
/// Names, holders and clusters are short words; longer ones are refused.
const MAX_NAME: usize = 256;

pub struct LeaseService {
    book: Arc<Mutex<StoredBook>>,
    /// The time source (tests move it by hand).
    now: Box<dyn Fn() -> u64 + Send + Sync>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AcquireBody {
    name: String,
    holder: String,
    ttl_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseBody {
    name: String,
    holder: String,
    epoch: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimBody {
    cluster: String,
    epoch: u64,
}

fn check_name(what: &str, value: &str) -> Result<(), Reply> {
    if value.trim().is_empty() || value.len() > MAX_NAME || value.chars().any(char::is_control) {
        return Err(Reply::error(
            400,
            format!("`{what}` must be a non-empty name of at most {MAX_NAME} bytes"),
        ));
    }
    Ok(())
}

impl LeaseService {
    pub fn new(book: StoredBook) -> LeaseService {
        LeaseService::with_clock(book, Box::new(now_ms))
    }

    pub fn with_clock(book: StoredBook, now: Box<dyn Fn() -> u64 + Send + Sync>) -> LeaseService {
        LeaseService {
            book: Arc::new(Mutex::new(book)),
            now,
        }
    }

    /// Runs `change` on the book and saves it; a failed save is an error answer (a grant
    /// that would not survive a restart must not be handed out).
    fn change<T>(&self, change: impl FnOnce(&mut StoredBook, u64) -> T) -> Result<T, Reply> {
        let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        let now = (self.now)();
        book.book.expire(now);
        let before = book.book.clone();
        let out = change(&mut book, now);
        if book.book != before {
            if let Err(e) = book.save() {
                book.book = before;
                return Err(Reply::error(503, e));
            }
        }
        Ok(out)
    }

    fn acquire(&self, request: &Request) -> Result<Reply, Reply> {
        let body: AcquireBody = request.json()?;
        check_name("name", &body.name)?;
        check_name("holder", &body.holder)?;
        if body.ttl_ms == 0 || body.ttl_ms > MAX_TTL_MS {
            return Err(Reply::error(
                400,
                format!("`ttl_ms` must be from 1 to {MAX_TTL_MS}"),
            ));
        }
        let answer =
            self.change(|b, now| b.book.acquire(&body.name, &body.holder, body.ttl_ms, now))?;
        Ok(Reply::ok(match answer {
            Acquired::Granted { epoch, expires } => {
                json!({"granted": true, "epoch": epoch, "expires_ms": expires})
            }
            Acquired::Taken { holder, expires } => {
                json!({"granted": false, "holder": holder, "expires_ms": expires})
            }
        }))
    }

    fn release(&self, request: &Request) -> Result<Reply, Reply> {
        let body: ReleaseBody = request.json()?;
        check_name("name", &body.name)?;
        check_name("holder", &body.holder)?;
        self.change(|b, _| b.book.release(&body.name, &body.holder, body.epoch))?
            .map_err(|fenced| Reply::error(409, fenced.to_string()))?;
        Ok(Reply::ok(json!({"released": true})))
    }

    fn role(&self, vm: &str) -> Result<Reply, Reply> {
        check_name("vm", vm)?;
        let role = self.change(|b, _| b.book.role(vm))?;
        Ok(Reply::ok(json!({ "role": role })))
    }

    fn claim(&self, vm: &str, request: &Request) -> Result<Reply, Reply> {
        check_name("vm", vm)?;
        let body: ClaimBody = request.json()?;
        check_name("cluster", &body.cluster)?;
        let granted = self.change(|b, _| b.book.claim_role(vm, &body.cluster, body.epoch))?;
        Ok(Reply::ok(json!({ "granted": granted })))
    }
}

impl Handler for LeaseService {
    fn handle(&self, request: &Request) -> Reply {
        let Some(segments) = request.segments() else {
            return Reply::error(400, "the path is not valid percent-encoded UTF-8");
        };
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = request.method.as_str();
        let result = match segments.as_slice() {
            ["lease", "v1", "acquire"] => match method {
                "POST" => self.acquire(request),
                _ => Err(Reply::MethodNotAllowed(&["POST"])),
            },
            ["lease", "v1", "release"] => match method {
                "POST" => self.release(request),
                _ => Err(Reply::MethodNotAllowed(&["POST"])),
            },
            ["lease", "v1", "roles", vm] => match method {
                "GET" => self.role(vm),
                _ => Err(Reply::MethodNotAllowed(&["GET"])),
            },
            ["lease", "v1", "roles", vm, "claim"] => match method {
                "POST" => self.claim(vm, request),
                _ => Err(Reply::MethodNotAllowed(&["POST"])),
            },
            _ => Err(Reply::not_found(&request.path)),
        };
        result.unwrap_or_else(|reply| reply)
    }
}
