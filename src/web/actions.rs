//! What the console's buttons do: log in, run, upload, delete, send a tryback back. Each
//! verb that changes the data folder holds the run lock as its command-line twin does, and a
//! run going gets exit 3's answer.

use super::http::{self, Incoming, Reply};
use super::{auth, Console, Ctx};
use crate::filemanager::{self, Refused};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tiny_http::{Method, Request};

/// A wrong secret costs this long: guessing stays slow.
const WRONG_SECRET_DELAY: Duration = Duration::from_secs(1);

pub fn login(c: &Console, rq: &mut Request, inc: &Incoming) -> Reply {
    if inc.method == Method::Get {
        return c
            .templates
            .page("login.html", minijinja::context! { failed => false });
    }
    if inc.method != Method::Post {
        return Reply::text(405, "GET or POST only");
    }
    let form = match http::read_form(rq, super::FORM_MAX) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let given = form.get("secret").map(String::as_str).unwrap_or("");
    if !c.secret.matches(given) {
        // Said without the secret given: a log must never hold a password.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "moosync console: a login was refused ({})",
            crate::state::now_text()
        );
        std::thread::sleep(WRONG_SECRET_DELAY);
        let mut r = c
            .templates
            .page("login.html", minijinja::context! { failed => true });
        r.status = 401;
        return r;
    }
    let (handle, _) = c.sessions.start(Instant::now());
    Reply::redirect("/").header("Set-Cookie", auth::cookie(&handle))
}

/// Starts a run or a dry run of one tool (or preset), or of every tool, and shows it live.
pub fn run(ctx: &Ctx<'_>, form: &HashMap<String, String>) -> Reply {
    let s = match ctx.console.setup() {
        Ok(s) => s,
        Err(f) => return ctx.console.templates.problem(ctx, &f.to_string()),
    };
    let tool = form.get("tool").map(String::as_str).unwrap_or("");
    let dry_run = form.get("dry_run").is_some_and(|v| v == "1");
    let names: Vec<String> = match tool {
        "" => Vec::new(),
        t => vec![t.to_string()],
    };
    let what = if tool.is_empty() {
        "all tools".to_string()
    } else {
        tool.to_string()
    };
    let req = crate::run::Request {
        names,
        file: None,
        dry_run,
        full: false,
    };
    let feed = ctx.console.runs.start(s, req, what);
    Reply::redirect(&format!("/runs/{}", feed.id))
}

/// The body is the file; its name comes in the query. Capped at `[web] upload_max_mb`.
pub fn upload(ctx: &Ctx<'_>, rq: &mut Request) -> Reply {
    let s = match ctx.console.setup() {
        Ok(s) => s,
        Err(f) => return Reply::text(500, &f.to_string()),
    };
    let max = s.cfg.web.upload_max_mb << 20;
    let name = ctx.rq.q("name");
    if let Some(why) = filemanager::name_problem(name) {
        return Reply::text(400, &why);
    }
    if rq.body_length().is_some_and(|n| n as u64 > max) {
        return Reply::text(
            413,
            &format!(
                "{name} is larger than {} MiB ([web] upload_max_mb); nothing was added",
                s.cfg.web.upload_max_mb
            ),
        );
    }
    let _lock = match filemanager::lock(&s.area) {
        Ok(l) => l,
        Err(e) => return refused(e),
    };
    match filemanager::add(&s.area, name, rq.as_reader(), Some(max)) {
        Ok(p) => Reply::text(200, &format!("added {}", filemanager::shown(&s.area, &p))),
        Err(e) if e.contains("larger than") => Reply::text(413, &e),
        Err(e) => Reply::text(400, &e),
    }
}

pub fn delete(ctx: &Ctx<'_>, form: &HashMap<String, String>) -> Reply {
    changing(ctx, form, |s, path| {
        filemanager::remove(&s.area, path).map(|()| format!("removed {path}"))
    })
}

pub fn retry(ctx: &Ctx<'_>, form: &HashMap<String, String>) -> Reply {
    changing(ctx, form, |s, path| {
        filemanager::retry(&s.area, path).map(|to| {
            format!(
                "moved {path} to {}: the next run replays it",
                filemanager::shown(&s.area, &to)
            )
        })
    })
}

/// A file verb under the lock; its outcome is shown on the file manager's page.
fn changing(
    ctx: &Ctx<'_>,
    form: &HashMap<String, String>,
    verb: impl FnOnce(&crate::setup::Setup, &str) -> Result<String, String>,
) -> Reply {
    let s = match ctx.console.setup() {
        Ok(s) => s,
        Err(f) => return ctx.console.templates.problem(ctx, &f.to_string()),
    };
    let path = form.get("path").map(String::as_str).unwrap_or("");
    let back = form.get("area").map(String::as_str).unwrap_or("inbox");
    let outcome = match filemanager::lock(&s.area) {
        Ok(_lock) => verb(&s, path),
        Err(e) => Err(e.to_string()),
    };
    let (status, said) = match outcome {
        Ok(m) => (200, m),
        Err(e) if e.contains("holds the lock") => (409, e),
        Err(e) => (400, e),
    };
    let mut reply = super::pages::files_page(ctx, &s, back, Some((status == 200, said)));
    reply.status = status;
    reply
}

fn refused(e: Refused) -> Reply {
    match e {
        Refused::Locked(m) => Reply::text(409, &m),
        Refused::Other(m) => Reply::text(500, &m),
    }
}
