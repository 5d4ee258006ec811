//! `moosync serve`: the web console. Each screen shows what its command-line twin shows and
//! offers what it offers, through the same library calls: the synthesis (`status`), the file
//! manager (`files`), run and dry run (`run`), the report (failures first), the failures of
//! the recent runs (`problems`), the settings and scripts, and a file's preview (`plan`).
//!
//! Every page needs a login (see [`auth`]); every POST carries its session's CSRF token.

mod actions;
pub mod auth;
mod http;
mod pages;
pub mod report;
mod runs;
pub mod settings;
mod templates;

use crate::codes::{Code, Failure};
use auth::{Secret, Session, Sessions};
use http::{Incoming, Reply};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tiny_http::{Method, Request};

/// Requests served at once; a run's event stream holds one while it lasts.
const WORKERS: usize = 16;
/// The largest form body (a login, a button): uploads are not forms.
const FORM_MAX: u64 = 64 * 1024;

/// The console: what every request handler shares.
pub struct Console {
    data: PathBuf,
    secret: Secret,
    sessions: Sessions,
    runs: runs::Runs,
    templates: templates::Templates,
    scripts: crate::overview::ScriptChecks,
    /// Host headers accepted: loopback names with the port, unless listening remotely.
    hosts: Option<Vec<String>>,
}

/// Serves the console for the data folder `data` until the process ends. `listen` replaces
/// `[web] listen` (the same loopback rule applies); `ready` is told the address once the
/// socket listens.
pub fn serve(
    data: &Path,
    listen: Option<&str>,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), Failure> {
    let s = crate::setup::load(data)?;
    let mut web = s.cfg.web.clone();
    if let Some(l) = listen {
        web.listen = l.to_string();
    }
    let addr = web.address().ok_or_else(|| {
        Failure::new(
            Code::ConfigInvalid,
            format!(
                "--listen {:?} must be an address and a port, e.g. 127.0.0.1:8088",
                web.listen
            ),
        )
    })?;
    if !addr.ip().is_loopback() && !web.allow_remote {
        return Err(Failure::new(
            Code::ConfigInvalid,
            format!("{addr} is not a loopback address: set [web] allow_remote = true to listen there, behind a reverse proxy that adds TLS (see the README)"),
        ));
    }
    let secret = Secret::load(&web)?;
    let cannot =
        |e: String| Failure::new(Code::ConfigInvalid, format!("cannot listen on {addr}: {e}"));
    let listener = std::net::TcpListener::bind(addr).map_err(|e| cannot(e.to_string()))?;
    no_delay(&listener);
    let server =
        tiny_http::Server::from_listener(listener, None).map_err(|e| cannot(e.to_string()))?;
    let bound = server.server_addr().to_ip().unwrap_or(addr);
    let port = bound.port();
    let console = Arc::new(Console {
        data: data.to_path_buf(),
        secret,
        sessions: Sessions::new(Duration::from_secs(web.session_minutes * 60)),
        runs: runs::Runs::default(),
        templates: templates::Templates::new(),
        scripts: Default::default(),
        hosts: (!web.allow_remote).then(|| {
            ["127.0.0.1", "localhost", "[::1]"]
                .iter()
                .map(|h| format!("{h}:{port}"))
                .collect()
        }),
    });
    ready(bound);
    let server = Arc::new(server);
    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (server, console) = (server.clone(), console.clone());
            std::thread::Builder::new()
                .name(format!("moosync-console-{i}"))
                .stack_size(8 << 20)
                .spawn(move || {
                    while let Ok(rq) = server.recv() {
                        console.handle(rq);
                    }
                })
        })
        .collect::<Result<_, _>>()
        .map_err(|e| Failure::new(Code::Storage, format!("cannot start the console: {e}")))?;
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

/// Answers go out as written: tiny_http writes a reply's head and body apart, and Nagle's
/// rule would hold the body until the browser acknowledged the head (some 40 ms, delayed).
/// Set on the listening socket, Linux gives it to every connection it accepts.
fn no_delay(listener: &std::net::TcpListener) {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: a valid socket, an int option and its size; failure only leaves Nagle on.
    unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// A handler's context: the request's parts, its session, the setup of the data folder.
pub struct Ctx<'a> {
    pub console: &'a Console,
    pub rq: Incoming,
    pub session: Session,
}

impl Console {
    fn handle(&self, mut rq: Request) {
        let inc = Incoming::of(&rq);
        // The stylesheet and script are the same for everyone, the login page included.
        if inc.method == Method::Get && inc.path.starts_with("/static/") {
            return http::send(rq, templates::asset(&inc.path));
        }
        if let Some(hosts) = &self.hosts {
            // A page of another site that renamed itself to 127.0.0.1 (DNS rebinding) sends
            // its own host name: refused.
            let host = http::header(&rq, "Host").unwrap_or("");
            if !hosts.iter().any(|h| h == host) {
                return http::send(
                    rq,
                    Reply::text(421, "this console answers to its loopback address only"),
                );
            }
        }
        if inc.method == Method::Post && !same_origin(&rq) {
            return http::send(
                rq,
                Reply::text(403, "refused: the request came from another site"),
            );
        }
        let now = Instant::now();
        let session = http::cookie(&rq, auth::COOKIE)
            .and_then(|h| self.sessions.check(h, now).map(|s| (h.to_string(), s)));
        let (handle, session) = match (session, inc.path.as_str()) {
            (_, "/login") => {
                let reply = actions::login(self, &mut rq, &inc);
                return http::send(rq, reply);
            }
            (Some(s), _) => s,
            (None, _) => {
                let reply = if inc.method == Method::Get && !inc.path.ends_with("/events") {
                    Reply::redirect("/login")
                } else {
                    Reply::text(401, "log in first: the session is missing or has ended")
                };
                return http::send(rq, reply.header("Set-Cookie", auth::cookie_cleared()));
            }
        };
        let ctx = Ctx {
            console: self,
            rq: inc,
            session,
        };
        if ctx.rq.method == Method::Post {
            // Uploads send their token as a header (the body is the file), forms as a field.
            let mut form = std::collections::HashMap::new();
            let given = match http::header(&rq, "X-CSRF-Token") {
                Some(t) => t.to_string(),
                None => match http::read_form(&mut rq, FORM_MAX) {
                    Ok(f) => {
                        form = f;
                        form.get("csrf").cloned().unwrap_or_default()
                    }
                    Err(reply) => return http::send(rq, reply),
                },
            };
            if !auth::csrf_ok(&ctx.session, &given) {
                return http::send(
                    rq,
                    Reply::text(403, "refused: the form's CSRF token is missing or stale; reload the page and try again"),
                );
            }
            let reply = match ctx.rq.path.as_str() {
                "/logout" => {
                    self.sessions.end(&handle);
                    Reply::redirect("/login").header("Set-Cookie", auth::cookie_cleared())
                }
                "/run" => actions::run(&ctx, &form),
                "/files/upload" => actions::upload(&ctx, &mut rq),
                "/files/delete" => actions::delete(&ctx, &form),
                "/files/retry" => actions::retry(&ctx, &form),
                _ => Reply::text(404, "no such action"),
            };
            return http::send(rq, reply);
        }
        if ctx.rq.method != Method::Get {
            return http::send(rq, Reply::text(405, "GET or POST only"));
        }
        if let Some(id) = ctx
            .rq
            .path
            .strip_prefix("/runs/")
            .and_then(|r| r.strip_suffix("/events"))
        {
            return self.events(rq, id);
        }
        let reply = pages::get(&ctx);
        http::send(rq, reply);
    }

    /// A run's server-sent events; the browser's reconnection resumes after the last id seen.
    fn events(&self, rq: Request, id: &str) {
        let Some(feed) = id.parse().ok().and_then(|id| self.runs.get(id)) else {
            return http::send(rq, Reply::text(404, "no such run"));
        };
        let from = http::header(&rq, "Last-Event-ID")
            .and_then(|v| v.parse::<usize>().ok())
            .map_or(0, |n| n + 1);
        let mut out = rq.into_writer();
        // The browser leaving ends the stream; nothing to tell anyone.
        let _ = runs::stream(&feed, from, &mut out);
    }

    /// The data folder's settings and presets, read afresh for each request (an admin may
    /// have changed them).
    fn setup(&self) -> Result<crate::setup::Setup, Failure> {
        crate::setup::load(&self.data)
    }
}

/// A POST comes from the console's own pages: by the browser's word (`Sec-Fetch-Site`) when
/// it gives one, else by its `Origin`, when it sends one. The CSRF token is checked besides.
fn same_origin(rq: &Request) -> bool {
    if let Some(site) = http::header(rq, "Sec-Fetch-Site") {
        return site == "same-origin" || site == "none";
    }
    match (http::header(rq, "Origin"), http::header(rq, "Host")) {
        (None, _) => true,
        (Some(origin), Some(host)) => {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                == Some(host)
        }
        (Some(_), None) => false,
    }
}
