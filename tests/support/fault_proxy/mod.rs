//! A fault-injecting HTTP proxy in front of the real lab Moodle, for what the real site cannot
//! be made to do on demand without disturbing the other tests that share it: drop a
//! connection before or after Moodle ran the call, answer 503, answer bytes that are not
//! UTF-8 or too large, answer slowly, be in maintenance, lack a function in the token's
//! service, or quote the request (the token, the passwords) back in its errors as a site with
//! developer debugging does. Everything else is forwarded to the lab unchanged, so the
//! answers are Moodle's own; the proxy also logs every call it forwards.
//!
//! ```ignore
//! let proxy = FaultProxy::start(&lab::url());
//! proxy.drop_next("core_user_create_users", When::AfterMoodle, 1);
//! // point moosync at proxy.url() with a lab token ...
//! ```

#![allow(dead_code)] // each includer uses a different part

mod form;
mod http;

use http::{Reply, Request, Server};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// When a dropped call's connection is cut: before Moodle sees the call (nothing changes), or
/// after Moodle ran it (the change is made, the client never hears of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    BeforeMoodle,
    AfterMoodle,
}

/// An answer no healthy Moodle gives, in place of Moodle's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Odd {
    /// An HTML error page in ISO-8859-1 (a PHP fatal error behind a French locale).
    NotUtf8,
    /// A JSON answer of this many bytes.
    Oversized(usize),
}

/// One call as the proxy forwarded (or refused) it.
#[derive(Debug, Clone)]
pub struct Call {
    pub function: String,
    pub token: String,
    /// The decoded form fields, minus wstoken, wsfunction and moodlewsrestformat.
    pub params: Vec<(String, String)>,
}

#[derive(Default)]
struct Faults {
    /// Per function, the faults to come, each with how many calls it still takes.
    drops: HashMap<String, Vec<(When, usize)>>,
    fail_5xx: HashMap<String, usize>,
    odd: HashMap<String, Vec<(Odd, usize)>>,
    delay: Duration,
    maintenance: bool,
    removed: HashSet<String>,
    quote_token: bool,
    echo_request: bool,
    calls: Vec<Call>,
}

pub struct FaultProxy {
    faults: Arc<Mutex<Faults>>,
    server: Server,
}

/// What Moodle's REST server answers for the upload endpoint's calls in the log.
pub const UPLOAD: &str = "webservice_upload";

impl FaultProxy {
    /// A proxy on an ephemeral loopback port forwarding to `upstream` (the lab's base URL).
    pub fn start(upstream: &str) -> FaultProxy {
        let faults = Arc::new(Mutex::new(Faults::default()));
        let upstream = upstream.trim_end_matches('/').to_string();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(600)))
            .build()
            .into();
        let shared = faults.clone();
        let server = Server::start(
            Server::bind(),
            Arc::new(move |req: &Request| handle(&shared, &agent, &upstream, req)),
        );
        FaultProxy { faults, server }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    fn with<T>(&self, f: impl FnOnce(&mut Faults) -> T) -> T {
        f(&mut self.faults.lock().unwrap())
    }

    /// The next `times` calls of `function` lose their connection, at `when`.
    pub fn drop_next(&self, function: &str, when: When, times: usize) {
        self.with(|f| {
            f.drops
                .entry(function.into())
                .or_default()
                .push((when, times))
        });
    }

    /// The next `times` calls of `function` get a 503, as from an overloaded PHP pool or a
    /// proxy: Moodle never sees them.
    pub fn fail_next_5xx(&self, function: &str, times: usize) {
        self.with(|f| *f.fail_5xx.entry(function.into()).or_default() += times);
    }

    /// The next `times` calls of `function` get `odd` instead of Moodle's answer (Moodle
    /// never sees them).
    pub fn answer_next(&self, function: &str, odd: Odd, times: usize) {
        self.with(|f| f.odd.entry(function.into()).or_default().push((odd, times)));
    }

    /// Every answer waits this long first.
    pub fn set_delay(&self, d: Duration) {
        self.with(|f| f.delay = d);
    }

    /// Every call gets Moodle's maintenance answer (the lab is shared, so the real switch,
    /// `admin/cli/maintenance.php`, would stop every other test too).
    pub fn set_maintenance(&self, on: bool) {
        self.with(|f| f.maintenance = on);
    }

    /// The token's service lacks `function`: site info no longer lists it, and calling it
    /// gets Moodle's access exception, as when an admin takes it out of the service.
    pub fn remove_function(&self, name: &str) {
        self.with(|f| f.removed.insert(name.into()));
    }

    /// Errors quote the token back, as a careless proxy or plugin might.
    pub fn quote_token_in_errors(&self, on: bool) {
        self.with(|f| f.quote_token = on);
    }

    /// Errors carry the request's parameters in `debuginfo` and the message, as Moodle's
    /// "The bad value is: ..." does on a site with developer debugging.
    pub fn echo_request_in_errors(&self, on: bool) {
        self.with(|f| f.echo_request = on);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.with(|f| f.calls.clone())
    }

    /// How many calls of `function` went through the proxy.
    pub fn calls_to(&self, function: &str) -> usize {
        self.with(|f| f.calls.iter().filter(|c| c.function == function).count())
    }

    pub fn clear_calls(&self) {
        self.with(|f| f.calls.clear());
    }
}

/// The next fault queued for `function`, counting one call off it.
fn take<T: Copy>(queue: &mut HashMap<String, Vec<(T, usize)>>, function: &str) -> Option<T> {
    let q = queue.get_mut(function)?;
    q.retain(|(_, left)| *left > 0);
    let (fault, left) = q.first_mut()?;
    *left -= 1;
    Some(*fault)
}

fn call_of(req: &Request) -> Call {
    let body = String::from_utf8_lossy(&req.body);
    let mut fields = form::pairs(req.query(), usize::MAX);
    if !req
        .header("content-type")
        .is_some_and(|c| c.starts_with("multipart/"))
    {
        fields.extend(form::pairs(&body, usize::MAX));
    }
    let first = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let function = if req.path().ends_with("/webservice/upload.php") {
        UPLOAD.to_string()
    } else {
        first("wsfunction")
    };
    let reserved = ["wstoken", "wsfunction", "moodlewsrestformat"];
    Call {
        function,
        token: first("token") + first("wstoken").as_str(),
        params: fields
            .into_iter()
            .filter(|(k, _)| !reserved.contains(&k.as_str()))
            .collect(),
    }
}

fn json_reply(v: &Value) -> Reply {
    Reply::send(200, "application/json", v.to_string())
}

fn handle(faults: &Mutex<Faults>, agent: &ureq::Agent, upstream: &str, req: &Request) -> Reply {
    let call = call_of(req);
    let (delay, drop, odd, fail, gate, quote, echo) = {
        let mut f = faults.lock().unwrap();
        f.calls.push(call.clone());
        let fail = match f.fail_5xx.get_mut(&call.function) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        };
        let gate = if f.maintenance {
            Some(
                json!({"exception": "moodle_exception", "errorcode": "sitemaintenance",
                "message": "The site is undergoing maintenance and is currently not available"}),
            )
        } else if f.removed.contains(&call.function) {
            Some(
                json!({"exception": "webservice_access_exception", "errorcode": "accessexception",
                "message": "Access control exception"}),
            )
        } else {
            None
        };
        (
            f.delay,
            take(&mut f.drops, &call.function),
            take(&mut f.odd, &call.function),
            fail,
            gate,
            f.quote_token,
            f.echo_request,
        )
    };
    std::thread::sleep(delay);
    if fail {
        return Reply::send(503, "text/plain", String::new());
    }
    if let Some(body) = gate {
        return json_reply(&body);
    }
    if let Some(odd) = odd {
        return match odd {
            Odd::NotUtf8 => Reply::send(
                200,
                "text/html; charset=iso-8859-1",
                &b"<html><body>Erreur : la base de donn\xe9es est indisponible</body></html>"[..],
            ),
            Odd::Oversized(size) => {
                let mut body = b"{\"padding\":\"".to_vec();
                body.resize(size.saturating_sub(2), b'x');
                body.extend_from_slice(b"\"}");
                Reply::send(200, "application/json", body)
            }
        };
    }
    if drop == Some(When::BeforeMoodle) {
        return Reply::Hangup;
    }
    let answer = forward(agent, upstream, req);
    if drop == Some(When::AfterMoodle) {
        return Reply::Hangup;
    }
    let (status, content_type, mut body) = match answer {
        Ok(a) => a,
        Err(e) => return Reply::send(502, "text/plain", format!("fault proxy: {e}")),
    };
    let removed = faults.lock().unwrap().removed.clone();
    if call.function == "core_webservice_get_site_info" && !removed.is_empty() {
        if let Ok(mut v) = serde_json::from_slice::<Value>(&body) {
            if let Some(fs) = v.get_mut("functions").and_then(Value::as_array_mut) {
                fs.retain(|f| !removed.contains(f["name"].as_str().unwrap_or("")));
            }
            body = v.to_string().into_bytes();
        }
    }
    if quote || echo {
        if let Ok(mut v) = serde_json::from_slice::<Value>(&body) {
            if v.get("exception").is_some() {
                if echo {
                    echo_request(&mut v, &call);
                }
                if quote {
                    let m = v["message"].as_str().unwrap_or("").to_string();
                    v["message"] = json!(format!("{m} (wstoken={})", call.token));
                    v["debuginfo"] = json!(format!("called with wstoken={}", call.token));
                }
                body = v.to_string().into_bytes();
            }
        }
    }
    Reply::send(status, content_type, body)
}

/// Moodle's answer to the same request, as (status, content type, body).
fn forward(
    agent: &ureq::Agent,
    upstream: &str,
    req: &Request,
) -> Result<(u16, &'static str, Vec<u8>), ureq::Error> {
    let url = format!("{upstream}{}", req.target);
    let mut answer = if req.method == "GET" {
        agent.get(&url).call()?
    } else {
        let mut r = agent.post(&url);
        if let Some(ct) = req.header("content-type") {
            r = r.header("Content-Type", ct);
        }
        r.send(&req.body[..])?
    };
    let status = answer.status().as_u16();
    let content_type = match answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
    {
        Some(c) if c.contains("json") => "application/json",
        Some(c) if c.contains("xml") => "application/xml; charset=utf-8",
        Some(c) if c.contains("html") => "text/html; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    };
    let body = answer
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()?;
    Ok((status, content_type, body))
}

/// The request's fields in `debuginfo` and the message, as "The bad value is: '<print_r>'"
/// shows them on a site with developer debugging (external_api's parameter checks and dml
/// exceptions carry the parameters).
fn echo_request(error: &mut Value, call: &Call) {
    let code = error["errorcode"].as_str().unwrap_or("").to_string();
    let mut dump = String::new();
    form::print_r(&mut dump, &form::php_parse(&call.params), 0);
    let debuginfo = format!("The bad value is: '{dump}'\nError code: {code}");
    let message = error["message"].as_str().unwrap_or("").to_string();
    error["message"] = json!(format!("{message} ({debuginfo})"));
    error["debuginfo"] = json!(debuginfo);
}
