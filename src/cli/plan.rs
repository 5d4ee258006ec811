//! `moosync plan`: what the script makes of each row, printed; nothing is written.

use super::exit;
use crate::preview::{Format, Preview};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The tool whose preset and script read the file.
    #[arg(long)]
    tool: String,
    /// The CSV file to read.
    file: PathBuf,
    #[arg(long, value_enum, default_value = "yaml")]
    format: Format,
}

pub fn run(data: &Path, args: PlanArgs) -> i32 {
    let preview = Preview {
        tool: &args.tool,
        file: &args.file,
        format: args.format,
        limit: None,
    };
    let written = crate::setup::load(data)
        .and_then(|s| crate::preview::write(&s, &preview, &mut std::io::stdout().lock()));
    match written {
        Ok(code) => code,
        Err(f) => {
            super::report(&f);
            exit::of_failure(&f)
        }
    }
}
