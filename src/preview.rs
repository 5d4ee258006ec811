//! What the script makes of each row of a file (the commands, a skip or an error), written
//! out; nothing is applied. `moosync plan` prints it; the console's "preview this file" shows
//! it.

use crate::command::{Command, Mapped};
use crate::exit;
use crate::rules::Script;
use crate::run::{input, map_row};
use crate::setup::Setup;
use crate::source::RowSource;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

#[derive(Debug, Serialize)]
pub struct PlanEntry {
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<Command>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<PlanError>,
}

#[derive(Debug, Serialize)]
pub struct PlanError {
    pub code: &'static str,
    pub message: String,
}

/// What to preview: the file, the tool (or preset) reading it, the format, and at most how
/// many rows (all: `None`).
pub struct Preview<'a> {
    pub tool: &'a str,
    pub file: &'a Path,
    pub format: Format,
    pub limit: Option<usize>,
}

/// Writes the plan of `args.file` to `out`; the exit code says whether a row failed.
pub fn write(
    s: &Setup,
    args: &Preview<'_>,
    out: &mut impl Write,
) -> Result<i32, crate::codes::Failure> {
    use crate::codes::{Code, Failure};
    let name = crate::source::file_name_of(args.file);
    let preset = s.presets.for_tool_and_file(args.tool, &name)?;
    let workers = crate::run::script_workers(&s.cfg)?;
    let script = Script::load(
        &preset.script,
        &s.cfg.limits,
        &s.cfg.script_settings(),
        &workers,
    )?;
    let mut source = input::open(args.file, preset, &s.cfg, &script)?;
    let columns = source.columns().to_vec();
    let mut code = exit::OK;
    // A reader that left (`moosync plan … | head`) is no error: the plan ends there, quietly.
    let w = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::BrokenPipe => Stop::ReaderLeft,
        _ => Stop::Failed(Failure::new(
            Code::Storage,
            format!("cannot write the plan to the standard output: {e}"),
        )),
    };
    match write_plan(args, &script, source.as_mut(), &columns, out, &mut code, w) {
        Ok(()) | Err(Stop::ReaderLeft) => Ok(code),
        Err(Stop::Failed(f)) => Err(f),
    }
}

/// Why printing the plan stopped early.
enum Stop {
    ReaderLeft,
    Failed(crate::codes::Failure),
}

impl From<crate::codes::Failure> for Stop {
    fn from(f: crate::codes::Failure) -> Stop {
        Stop::Failed(f)
    }
}

fn write_plan(
    args: &Preview<'_>,
    script: &Script,
    source: &mut dyn RowSource,
    columns: &[String],
    out: &mut impl Write,
    code: &mut i32,
    w: impl Fn(std::io::Error) -> Stop,
) -> Result<(), Stop> {
    use crate::codes::{Code, Failure};
    let mut first = true;
    if matches!(args.format, Format::Json) {
        writeln!(out, "[").map_err(&w)?;
    }
    let mut rows = 0;
    while let Some(row) = source.next_row()? {
        if args.limit.is_some_and(|n| rows >= n) {
            break;
        }
        rows += 1;
        let mut entry = PlanEntry {
            line: row.line,
            commands: None,
            skip: None,
            error: None,
        };
        match map_row(script, columns, row) {
            Ok(Mapped::Commands(c)) => {
                entry.commands = Some(c.into_iter().map(Command::masked).collect())
            }
            Ok(Mapped::Skip(why)) => entry.skip = Some(why),
            Err(f) => {
                *code = exit::ROWS_FAILED;
                entry.error = Some(PlanError {
                    code: f.code.id(),
                    message: f.message,
                });
            }
        }
        match args.format {
            Format::Yaml => {
                let y = serde_yaml::to_string(&[&entry])
                    .map_err(|e| Failure::new(Code::Storage, e.to_string()))?;
                out.write_all(y.as_bytes()).map_err(&w)?;
            }
            Format::Json => {
                let j = serde_json::to_string_pretty(&entry)
                    .map_err(|e| Failure::new(Code::Storage, e.to_string()))?;
                write!(out, "{}{j}", if first { "" } else { ",\n" }).map_err(&w)?;
            }
        }
        first = false;
    }
    if matches!(args.format, Format::Json) {
        writeln!(out, "\n]").map_err(&w)?;
    }
    // Buffered output meets a closed pipe only here for a short plan.
    out.flush().map_err(&w)
}
