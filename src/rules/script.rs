//! One compiled tool script: its engine with limits, its AST, and the per-row call.

use super::convert::command_from_map;
use super::error::{script_failure, MEMORY_STOP};
use super::host::{self, Skip};
use super::workers::Workers;
use crate::codes::{Code, Failure};
use crate::command::{Command, Mapped};
use crate::config::ScriptLimits;
use rhai::{CallFnOptions, Dynamic, Engine, Map, Scope, AST};
use std::io::Write;
use std::path::Path;

pub struct Script {
    engine: Engine,
    ast: AST,
    name: String,
    has_header: bool,
    limits: ScriptLimits,
    workers: Workers,
}

/// A row's column names (shared for the file) and its values (moved into the script's map).
pub struct RowInput<'a> {
    pub columns: &'a [String],
    pub fields: Vec<String>,
}

fn build_engine(limits: &ScriptLimits, settings: &Map, script_name: &str) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(limits.max_operations)
        // Rhai's debug-build default is 8: set it so tests and release behave alike.
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(64, 32)
        .set_max_string_size(limits.max_string_bytes)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        // A misspelt variable or column must fail loudly, never read as empty.
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(true)
        .set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
    engine.disable_symbol("eval");
    // Rhai bounds each value but not how many a script keeps alive: the row's heap is
    // checked at every operation against the budget its call runs under.
    engine.on_progress(|_| crate::memory::over_budget().then(|| Dynamic::from(MEMORY_STOP)));
    let name = script_name.to_string();
    // Written so a closed stderr cannot panic a run.
    engine.on_print(move |s| {
        let _ = writeln!(std::io::stderr(), "{name}: {s}");
    });
    let name = script_name.to_string();
    engine.on_debug(move |s, _, pos| {
        let _ = writeln!(std::io::stderr(), "{name}:{}: {s}", pos.line().unwrap_or(0));
    });
    host::register(&mut engine);
    // `setting("cohorts.identifier")`: the settings a mapping may depend on, read-only.
    let settings = settings.clone();
    engine.register_fn(
        "setting",
        move |key: &str| -> Result<Dynamic, Box<rhai::EvalAltResult>> {
            settings.get(key).cloned().ok_or_else(|| {
                let mut known: Vec<&str> = settings.keys().map(|k| k.as_str()).collect();
                known.sort_unstable();
                format!("no setting '{key}' (scripts can read {})", known.join(", ")).into()
            })
        },
    );
    // Rows bring fresh strings every call: interning them only costs cache upkeep.
    engine.set_max_strings_interned(0);
    engine
}

impl Script {
    /// Compiles the script; a parse error names `file:line:col`. Its calls run on `workers`.
    pub fn load(
        path: &Path,
        limits: &ScriptLimits,
        settings: &Map,
        workers: &Workers,
    ) -> Result<Script, Failure> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::new(
                Code::ScriptMissing,
                format!("cannot read script {}: {e}", path.display()),
            )
        })?;
        Self::compile(&name, &text, limits, settings, workers)
    }

    pub fn compile(
        name: &str,
        text: &str,
        limits: &ScriptLimits,
        settings: &Map,
        workers: &Workers,
    ) -> Result<Script, Failure> {
        let engine = build_engine(limits, settings, name);
        let mut ast = engine.compile(text).map_err(|e| {
            let pos = e.1;
            Failure::new(
                Code::ScriptParse,
                format!(
                    "{name}:{}:{}: {}",
                    pos.line().unwrap_or(0),
                    pos.position().unwrap_or(0),
                    e.0
                ),
            )
        })?;
        ast.set_source(name);
        let has = |f: &str| {
            ast.iter_functions()
                .any(|d| d.name == f && d.params.len() == 1)
        };
        if !has("row") {
            return Err(Failure::new(
                Code::ScriptParse,
                format!("{name}: defines no `fn row(r)`; every tool script needs one"),
            ));
        }
        let has_header = has("header");
        Ok(Script {
            engine,
            ast,
            name: name.to_string(),
            has_header,
            limits: limits.clone(),
            workers: workers.clone(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The script's threads, for mapping many rows at once.
    pub fn workers(&self) -> &Workers {
        &self.workers
    }

    /// Calls `func` on a script thread, under the row's memory budget.
    fn call(&self, func: &str, arg: Dynamic) -> Result<Dynamic, Failure> {
        self.workers.install(|| {
            let opts = CallFnOptions::new().eval_ast(false).rewind_scope(true);
            let budget = self.limits.max_memory_mb << 20;
            crate::memory::with_budget(budget, || {
                self.engine
                    .call_fn_with_options::<Dynamic>(
                        opts,
                        &mut Scope::new(),
                        &self.ast,
                        func,
                        (arg,),
                    )
                    .map_err(|e| script_failure(&self.name, func, &e, &self.limits))
            })
        })
    }

    /// Runs the optional `fn header(columns)`; a throw refuses the whole file.
    pub fn check_header(&self, columns: &[String]) -> Result<(), Failure> {
        if !self.has_header {
            return Ok(());
        }
        let arr: rhai::Array = columns.iter().map(|c| Dynamic::from(c.clone())).collect();
        self.call("header", Dynamic::from_array(arr))
            .map(|_| ())
            // A throw is the script's verdict on the file; any other error is the script's own
            // fault and keeps its code, so the file is not blamed for it.
            .map_err(|f| match f.code {
                Code::ScriptThrow => Failure::new(Code::HeaderRejected, f.message),
                _ => f,
            })
    }

    /// Maps one row through `fn row(r)` into validated commands, or a skip.
    pub fn map_row(&self, row: RowInput<'_>) -> Result<Mapped, Failure> {
        self.workers.install(|| self.map_row_here(row))
    }

    fn map_row_here(&self, row: RowInput<'_>) -> Result<Mapped, Failure> {
        let mut map = Map::new();
        for (c, v) in row.columns.iter().zip(row.fields) {
            map.insert(c.as_str().into(), Dynamic::from(v));
        }
        let out = self.call("row", Dynamic::from_map(map))?;
        let mapped = self.to_mapped(out)?;
        if let Mapped::Commands(cmds) = &mapped {
            for c in cmds {
                c.validate()?;
            }
        }
        Ok(mapped)
    }

    fn to_mapped(&self, out: Dynamic) -> Result<Mapped, Failure> {
        if out.is::<Skip>() {
            return Ok(Mapped::Skip(out.cast::<Skip>().0));
        }
        if out.is_map() {
            return Ok(Mapped::Commands(vec![self.to_command(out)?]));
        }
        if out.is_array() {
            let cmds = out
                .cast::<rhai::Array>()
                .into_iter()
                .map(|d| self.to_command(d))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Mapped::Commands(cmds));
        }
        Err(self.bad_return(format!("returned {}", out.type_name())))
    }

    fn to_command(&self, d: Dynamic) -> Result<Command, Failure> {
        if !d.is_map() {
            return Err(self.bad_return(format!("returned an array holding {}", d.type_name())));
        }
        command_from_map(d.cast::<Map>()).map_err(|msg| self.bad_return(msg))
    }

    fn bad_return(&self, what: String) -> Failure {
        Failure::new(
            Code::ScriptBadReturn,
            format!("{}: row() {what}; return a command map with an `op`, an array of them, or skip(\"why\") (see docs/scripting.md)", self.name),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(src: &str) -> Result<Script, Failure> {
        let limits = ScriptLimits::default();
        let workers = Workers::new(&limits, 1).unwrap();
        Script::compile("t.rhai", src, &limits, &Map::new(), &workers)
    }

    fn run(s: &Script, cols: &[&str], vals: &[&str]) -> Result<Mapped, Failure> {
        let columns: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
        let fields: Vec<String> = vals.iter().map(|v| v.to_string()).collect();
        s.map_row(RowInput {
            columns: &columns,
            fields,
        })
    }

    #[test]
    fn parse_error_names_line_and_column() {
        let e = script("fn row(r) {\n  let x = ;\n}").err().unwrap();
        assert_eq!(e.code, Code::ScriptParse);
        assert!(e.message.starts_with("t.rhai:2:"), "{}", e.message);
        assert_eq!(
            script("fn other(r) { 1 }").err().unwrap().code,
            Code::ScriptParse
        );
    }

    #[test]
    fn misspelt_column_fails_loudly() {
        let s = script("fn row(r) { #{ op: \"user_delete\", username: r.usrname } }").unwrap();
        let e = run(&s, &["username"], &["a"]).unwrap_err();
        assert_eq!(e.code, Code::ScriptRuntime);
        assert!(
            e.message.contains("usrname") && e.message.starts_with("t.rhai:1:"),
            "{}",
            e.message
        );
    }

    #[test]
    fn loop_fails_with_budget() {
        let s = script("fn row(r) { loop { } }").unwrap();
        assert_eq!(run(&s, &[], &[]).unwrap_err().code, Code::ScriptBudget);
    }

    #[test]
    fn throw_skip_and_commands() {
        let s = script(
            "fn row(r) { if r.a == \"t\" { throw \"bad a\"; } if r.a == \"s\" { return skip(\"later\"); } \
             [#{ op: \"user_delete\", username: r.a }, #{ op: \"user_delete\", id: 3 }] }",
        )
        .unwrap();
        let e = run(&s, &["a"], &["t"]).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (Code::ScriptThrow, "t.rhai:1:29: bad a")
        );
        assert_eq!(
            run(&s, &["a"], &["s"]).unwrap(),
            Mapped::Skip("later".into())
        );
        match run(&s, &["a"], &["x"]).unwrap() {
            Mapped::Commands(c) => assert_eq!(c.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn top_level_statements_do_not_run_per_row() {
        let s = script("let x = 0; loop { x += 1; } fn row(r) { skip(\"ok\") }").unwrap();
        assert_eq!(run(&s, &[], &[]).unwrap(), Mapped::Skip("ok".into()));
    }

    #[test]
    fn eval_is_disabled_and_returns_are_checked() {
        assert!(script("fn row(r) { eval(\"1\") }").is_err());
        let s = script("fn row(r) { 42 }").unwrap();
        assert_eq!(run(&s, &[], &[]).unwrap_err().code, Code::ScriptBadReturn);
        let s = script("fn row(r) { #{ op: \"user_upsert\", username: \"a\", emial: \"x\" } }")
            .unwrap();
        let e = run(&s, &[], &[]).unwrap_err();
        assert!(e.message.contains("emial"), "{}", e.message);
    }

    #[test]
    fn header_can_refuse_a_file() {
        let s = script("fn header(c) { if !c.contains(\"username\") { throw \"no username column\"; } } fn row(r) { skip(\"\") }").unwrap();
        assert!(s.check_header(&["username".into()]).is_ok());
        let e = s.check_header(&["x".into()]).unwrap_err();
        assert_eq!(e.code, Code::HeaderRejected);
        assert!(e.message.contains("no username column"));
    }
}
