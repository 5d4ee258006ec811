//! The pages' templates and the static assets, all inside the binary: the console works with
//! no network at all. Templates escape every value for HTML.

use super::http::Reply;
use super::Ctx;
use minijinja::{Environment, Value};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("synthesis.html", include_str!("templates/synthesis.html")),
    ("files.html", include_str!("templates/files.html")),
    ("run.html", include_str!("templates/run.html")),
    ("live.html", include_str!("templates/live.html")),
    ("report.html", include_str!("templates/report.html")),
    ("problems.html", include_str!("templates/problems.html")),
    ("settings.html", include_str!("templates/settings.html")),
    ("script.html", include_str!("templates/script.html")),
    ("preview.html", include_str!("templates/preview.html")),
    ("problem.html", include_str!("templates/problem.html")),
];

const CSS: &str = include_str!("static/console.css");
const JS: &str = include_str!("static/console.js");

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn new() -> Templates {
        let mut env = Environment::new();
        for (name, text) in TEMPLATES {
            env.add_template(name, text)
                .expect("the console's templates are valid");
        }
        env.add_filter("thousands", |n: u64| crate::sinks::thousands(n));
        Templates { env }
    }

    /// A page outside a session (the login).
    pub fn page(&self, name: &str, ctx: Value) -> Reply {
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => Reply::html(html),
            Err(e) => Reply::text(500, &format!("the page {name} cannot be drawn: {e}")),
        }
    }

    /// A page of the session: the layout gets the CSRF token its forms carry.
    pub fn session_page(&self, ctx: &Ctx<'_>, name: &str, page: Value) -> Reply {
        let csrf = ctx.session.csrf.clone();
        self.page(name, minijinja::context! { csrf => csrf, ..page })
    }

    /// Something went wrong: said on a page of the console.
    pub fn problem(&self, ctx: &Ctx<'_>, message: &str) -> Reply {
        let mut r = self.session_page(
            ctx,
            "problem.html",
            minijinja::context! { message => message },
        );
        r.status = 400;
        r
    }
}

/// `/static/console.css` and `/static/console.js`.
pub fn asset(path: &str) -> Reply {
    match path {
        "/static/console.css" => {
            Reply::with(200, "text/css; charset=utf-8", CSS.as_bytes().to_vec())
        }
        "/static/console.js" => Reply::with(
            200,
            "text/javascript; charset=utf-8",
            JS.as_bytes().to_vec(),
        ),
        _ => Reply::text(404, "no such file"),
    }
}
