//! `moosync check-target`: asks the Moodle site who the token is and whether its web service
//! offers every function moosync calls, listing any that are missing.

use super::exit;
use crate::backends::moodle::{MoodleTarget, FUNCTIONS, OPTIONAL_FUNCTIONS, PLUGIN_PREFIX};
use crate::codes::{Code, Failure};
use crate::config::TargetKind;
use std::path::Path;

pub fn run(data: &Path) -> i32 {
    super::exit_code(check_target(data))
}

fn check_target(data: &Path) -> Result<i32, Failure> {
    let s = crate::setup::load(data)?;
    if s.cfg.target.kind != TargetKind::Moodle {
        say!(
            "target: the embedded store {} (nothing to check; [target] kind = \"moodle\" sends to a Moodle site)",
            s.area.store_path().display()
        );
        return Ok(exit::OK);
    }
    let mut target = MoodleTarget::open(&s.cfg, &s.area.state_path())?;
    let info = target.site_info()?;
    say!(
        "site: {} ({}), Moodle {}",
        info.sitename,
        target.client().site(),
        info.release
    );
    say!("token of: {} (user id {})", info.username, info.userid);
    let missing = |functions: &[&'static str]| -> Vec<&'static str> {
        functions
            .iter()
            .copied()
            .filter(|f| !info.functions.contains(*f))
            .collect()
    };
    match &info.plugin_version {
        Some(version) => {
            let mut offered: Vec<&str> = info
                .functions
                .iter()
                .map(String::as_str)
                .filter(|f| f.starts_with(PLUGIN_PREFIX))
                .collect();
            offered.sort_unstable();
            say!(
                "plugin local_moosync: version {version}, {} functions: {}",
                offered.len(),
                offered.join(", ")
            );
        }
        None => say!(
            "plugin local_moosync: absent (or not in the token's service); rows needing it fail with {}: install it from moodle/local_moosync (see its README) and add its functions to the service",
            Code::RemoteUnsupported.id()
        ),
    }
    let mut missing_any = false;
    for (tool, functions) in FUNCTIONS {
        let lacking = missing(functions);
        if lacking.is_empty() {
            say!("{tool}: ok ({} functions)", functions.len());
        } else {
            missing_any = true;
            say!("{tool}: missing {}", lacking.join(", "));
        }
    }
    for (what, functions) in OPTIONAL_FUNCTIONS {
        let lacking = missing(functions);
        if lacking.is_empty() {
            say!("{what}: ok");
        } else {
            say!(
                "{what}: off (optional; add {} to use them)",
                lacking.join(", ")
            );
        }
    }
    if missing_any {
        let f = Failure::new(
            Code::RemoteAccess,
            "add the missing functions to the token's service (Site administration > Server > Web services > External services > Functions)",
        );
        warn!("moosync: {f}");
        return Ok(exit::INPUT_ERROR);
    }
    Ok(exit::OK)
}
