//! `moosync check-mail`: sends a test message with the `[mail]` settings.

use super::exit;
use crate::mail;
use std::path::Path;

pub fn run(data: &Path) -> i32 {
    super::exit_code(check_mail(data))
}

fn check_mail(data: &Path) -> Result<i32, crate::codes::Failure> {
    let s = crate::setup::load(data)?;
    let cfg = &s.cfg.mail;
    if !mail::enabled(cfg) {
        warn!(
            "moosync: no one to mail: set [mail] to and from in {}",
            s.area.config_path().display()
        );
        return Ok(exit::INPUT_ERROR);
    }
    let host = mail::hostname();
    let subject = format!("moosync: test message from {host}");
    let body = format!(
        "This is a test message from moosync on {host}.\n\
         \n\
         Data folder: {}\n\
         Sent by: {}\n\
         \n\
         If you can read this, moosync can mail its run summaries and alarms.\n",
        s.area.root().display(),
        mail::describe(cfg),
    );
    let state = crate::state::State::open(&s.area.state_path())?;
    match mail::send_recorded(cfg, &state, "test message", &subject, &body) {
        Ok(()) => {
            say!("mail sent to {}", cfg.to.join(", "));
            Ok(exit::OK)
        }
        Err(e) => {
            warn!("moosync: mail not sent: {e}");
            Ok(exit::INPUT_ERROR)
        }
    }
}
