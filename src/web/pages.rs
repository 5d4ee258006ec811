//! The console's screens (GET): synthesis, files, run, a run live, report, problems,
//! settings and scripts, preview. Each reads what its command-line twin reads.

use super::http::Reply;
use super::Ctx;
use crate::filearea;
use crate::filemanager;
use crate::setup::Setup;
use minijinja::context;

/// Files listed per page of the file manager.
const FILES_PAGE: usize = 200;
/// Failures the problems screen lists; its CSV has them all.
const PROBLEMS_SHOWN: usize = 500;
/// Rows a preview shows.
const PREVIEW_ROWS: usize = 200;

/// The areas the file manager shows (scripts and presets are on the settings screen).
fn managed(s: &Setup) -> Vec<&'static str> {
    filemanager::areas(&s.area)
        .into_iter()
        .filter(|a| *a != filearea::SCRIPTS && *a != filearea::PRESETS)
        .collect()
}

pub fn get(ctx: &Ctx<'_>) -> Reply {
    let t = &ctx.console.templates;
    let s = match ctx.console.setup() {
        Ok(s) => s,
        Err(f) => return t.problem(ctx, &f.to_string()),
    };
    let q = |k| ctx.rq.q(k);
    let path = ctx.rq.path.as_str();
    match path {
        "/" => match crate::overview::gather(&s, &ctx.console.scripts) {
            Ok(o) => {
                let console_runs = runs_list(ctx);
                t.session_page(ctx, "synthesis.html", context! { o => v(&o), runs => console_runs, recent_runs => crate::overview::RECENT_RUNS })
            }
            Err(f) => t.problem(ctx, &f.to_string()),
        },
        "/files" => files_page(ctx, &s, q("area"), None),
        "/files/get" => download(ctx, &s, q("path")),
        "/run" => {
            let tools: Vec<_> = crate::preset::TOOLS
                .iter()
                .map(|tool| {
                    let presets: Vec<_> = s.presets.for_tool(tool).map(|p| context! { name => p.name.clone(), label => p.label(), on_demand => p.on_demand }).collect();
                    context! { tool => *tool, presets => presets }
                })
                .collect();
            let waiting = crate::run::waiting_files(&s.area).len();
            t.session_page(ctx, "run.html", context! { tools => tools, runs => runs_list(ctx), waiting => waiting, running => crate::runlock::holder(&s.area) })
        }
        "/report" => match super::report::view(&s, q("path"), q("from").parse().unwrap_or(0)) {
            Ok(r) => {
                let next = (r.from + super::report::PAGE < r.other).then_some(r.from + super::report::PAGE);
                t.session_page(ctx, "report.html", context! { r => v(&r), next => next, page => super::report::PAGE })
            }
            Err(e) => t.problem(ctx, &e),
        },
        "/report/errors.csv" => {
            let mut csv = Vec::new();
            match super::report::errors_csv(&s, q("path"), &mut csv) {
                Ok(()) => {
                    let stem = std::path::Path::new(q("path")).file_stem().map(|x| x.to_string_lossy().into_owned()).unwrap_or_default();
                    Reply::with(200, "text/csv; charset=utf-8", csv).header("Content-Disposition", format!("attachment; filename=\"{}_errors.csv\"", stem.replace('"', "_")))
                }
                Err(e) => t.problem(ctx, &e),
            }
        }
        "/problems" => match crate::problems::recent(&s, crate::overview::RECENT_RUNS) {
            Ok(p) => {
                let more = p.len().saturating_sub(PROBLEMS_SHOWN);
                let rows: Vec<_> = p
                    .iter()
                    .take(PROBLEMS_SHOWN)
                    .map(|p| context! { p => v(p), remedy => crate::problems::remedy(&p.code), report => p.report.as_deref().map(|r| crate::overview::relative(&s, r)) })
                    .collect();
                t.session_page(ctx, "problems.html", context! { rows => rows, more => more, runs => crate::overview::RECENT_RUNS })
            }
            Err(f) => t.problem(ctx, &f.to_string()),
        },
        "/problems.csv" => match crate::problems::recent(&s, crate::overview::RECENT_RUNS) {
            Ok(p) => {
                let mut csv = Vec::new();
                let _ = crate::problems::write_csv(&mut csv, &p);
                Reply::with(200, "text/csv; charset=utf-8", csv).header("Content-Disposition", "attachment; filename=\"problems.csv\"".into())
            }
            Err(f) => t.problem(ctx, &f.to_string()),
        },
        "/settings" => t.session_page(
            ctx,
            "settings.html",
            context! { settings => v(&super::settings::effective(&s)), scripts => v(&crate::overview::scripts(&s, &ctx.console.scripts)), secret_from => super::settings::secret_source(&s) },
        ),
        "/settings/script" => match super::settings::script(&s, q("name")) {
            Ok(text) => {
                let lines: Vec<String> = text.lines().map(str::to_string).collect();
                t.session_page(ctx, "script.html", context! { name => q("name"), lines => lines })
            }
            Err(e) => t.problem(ctx, &e),
        },
        "/preview" => preview(ctx, &s, q("path"), q("tool")),
        _ => match path.strip_prefix("/runs/").and_then(|id| id.parse::<u64>().ok()) {
            Some(id) => match ctx.console.runs.get(id) {
                Some(feed) => t.session_page(ctx, "live.html", context! { id => feed.id, what => feed.what.clone(), dry_run => feed.dry_run, started => feed.started.clone() }),
                None => t.problem(ctx, "no such run: the console keeps its last 20 runs while it runs"),
            },
            None => Reply::text(404, "no such page"),
        },
    }
}

/// A value the templates read by its serde form.
fn v<T: serde::Serialize>(x: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(x))
}

fn runs_list(ctx: &Ctx<'_>) -> Vec<minijinja::Value> {
    ctx.console
        .runs
        .recent()
        .iter()
        .map(|f| {
            let code = f.code();
            context! { id => f.id, what => f.what.clone(), dry_run => f.dry_run, started => f.started.clone(), code => code, verdict => code.map(super::runs::verdict) }
        })
        .collect()
}

/// The file manager's page for one area, with what the last action said.
pub fn files_page(ctx: &Ctx<'_>, s: &Setup, area: &str, said: Option<(bool, String)>) -> Reply {
    let t = &ctx.console.templates;
    let areas = managed(s);
    let which = match areas.iter().find(|a| a.eq_ignore_ascii_case(area)) {
        Some(a) => *a,
        None if area.is_empty() => filearea::INBOX,
        None => {
            return t.problem(
                ctx,
                &format!("no area '{area}'; areas: {}", areas.join(", ")),
            )
        }
    };
    let mut files = match filemanager::list(&s.area, which) {
        Ok(f) => f,
        Err(e) => return t.problem(ctx, &e),
    };
    // Newest first: the file an operator looks for is usually the last one.
    files.sort_by(|a, b| b.modified_at.cmp(&a.modified_at).then(a.path.cmp(&b.path)));
    let total = files.len();
    let page: usize = ctx.rq.q("page").parse().unwrap_or(0);
    let shown: Vec<_> = files
        .into_iter()
        .skip(page * FILES_PAGE)
        .take(FILES_PAGE)
        .map(|e| {
            let report = which == filearea::REPORTS && e.path.ends_with(".txt");
            context! { e => v(&e), modified => e.modified(), report => report }
        })
        .collect();
    let next = ((page + 1) * FILES_PAGE < total).then_some(page + 1);
    let prev = page.checked_sub(1);
    let (ok, message) = match said {
        Some((ok, m)) => (ok, Some(m)),
        None => (true, None),
    };
    t.session_page(
        ctx,
        "files.html",
        context! { area => which, areas => areas, files => shown, total => total, next => next, prev => prev, ok => ok, message => message, upload_max_mb => s.cfg.web.upload_max_mb },
    )
}

fn download(ctx: &Ctx<'_>, s: &Setup, path: &str) -> Reply {
    let full = match filemanager::file(&s.area, path) {
        Ok(f) => f,
        Err(e) => {
            let mut r = ctx.console.templates.problem(ctx, &e);
            r.status = 404;
            return r;
        }
    };
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match std::fs::File::open(&full).and_then(|f| Ok((f.metadata()?.len(), f))) {
        Ok((len, f)) => Reply::download(f, len as usize, &name, "application/octet-stream"),
        Err(e) => ctx
            .console
            .templates
            .problem(ctx, &format!("cannot read {path}: {e}")),
    }
}

/// What `plan` shows of a waiting file (its first rows), with the tool its name picks.
fn preview(ctx: &Ctx<'_>, s: &Setup, path: &str, tool: &str) -> Reply {
    let t = &ctx.console.templates;
    let full = match filemanager::file(&s.area, path) {
        Ok(f) => f,
        Err(e) => return t.problem(ctx, &e),
    };
    let name = crate::source::file_name_of(&full);
    let tool = match (tool, s.presets.for_file(&name)) {
        ("", Some(p)) => p.name.clone(),
        ("", None) => {
            return t.problem(
                ctx,
                &format!("{name} matches no preset: say which tool reads it"),
            )
        }
        (t, _) => t.to_string(),
    };
    let mut out = Vec::new();
    let args = crate::preview::Preview {
        tool: &tool,
        file: &full,
        format: crate::preview::Format::Yaml,
        limit: Some(PREVIEW_ROWS),
    };
    let (code, error) = match crate::preview::write(s, &args, &mut out) {
        Ok(code) => (code, None),
        Err(f) => (crate::exit::of_failure(&f), Some(f.to_string())),
    };
    t.session_page(
        ctx,
        "preview.html",
        context! { path => path, tool => tool, plan => String::from_utf8_lossy(&out), code => code, error => error, rows => PREVIEW_ROWS },
    )
}
