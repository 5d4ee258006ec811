//! `moosync serve`: the web console, until the process is stopped.

use super::exit;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Listen here instead of [web] listen (the same rule: loopback unless allow_remote).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<String>,
}

pub fn run(data: &Path, args: ServeArgs) -> i32 {
    let served = crate::web::serve(data, args.listen.as_deref(), |addr| {
        say!("moosync console on http://{addr}/ for {}", data.display());
    });
    match served {
        Ok(()) => exit::OK,
        Err(f) => {
            super::report(&f);
            exit::INPUT_ERROR
        }
    }
}
