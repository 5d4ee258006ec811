//! Alarm mails about a lock file that stays too long, at most one per lock per period
//! (tool_sync's check was broken and mailed on every run).

use crate::codes::Code;
use crate::config::Config;
use crate::state::State;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy)]
pub enum LockAlarm {
    /// `alock.txt`: the sender's delivery.
    Sender,
    /// `lock.txt`: moosync's own capture.
    Capture,
}

impl LockAlarm {
    fn file(self) -> &'static str {
        match self {
            LockAlarm::Sender => super::locks::SENDER_LOCK,
            LockAlarm::Capture => super::locks::CAPTURE_LOCK,
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            LockAlarm::Sender => {
                "The sending system (the student-information system's export, over SFTP) creates \
                 alock.txt while it writes and removes it when done. A lock this old usually means \
                 its delivery failed or was interrupted half-way; until it goes, moosync takes no \
                 file from the drop folder.\n\nWhat to do: check the sender's export job and its \
                 log. If no transfer is running, remove alock.txt: the next run captures what is \
                 there (check first that the files are complete)."
            }
            LockAlarm::Capture => {
                "moosync creates lock.txt while it moves files from the drop folder into its inbox, \
                 which takes seconds. A lock this old, held by a live moosync, means that capture \
                 is stuck (a hung file system, a blocked disk).\n\nWhat to do: look at the moosync \
                 process named in the lock (ps), and at the drop folder's file system. If it is \
                 hung, stop it: the next run replaces the lock."
            }
        }
    }
}

/// Mails the administrators about a lock older than the threshold, unless one was sent for
/// that lock within `[feed] alarm_every_minutes`. Returns what to tell the report: a mail that
/// cannot be sent is said there and never stops the run.
pub fn raise(
    cfg: &Config,
    state: &State,
    drop_folder: &Path,
    kind: LockAlarm,
    age: Duration,
    now: SystemTime,
) -> Vec<String> {
    let file = kind.file();
    let age_text = super::locks::age_text(age);
    let now_s = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let period = cfg.feed.alarm_every_minutes.saturating_mul(60) as i64;
    if !crate::mail::enabled(&cfg.mail) {
        return vec![format!(
            "{} alarm: {file} is {age_text} old (over [feed] stale_lock_minutes); not mailed, [mail] to is empty",
            Code::FeedLockTooOld
        )];
    }
    if let Ok(Some(sent)) = state.last_alarm(file) {
        if now_s - sent < period {
            return vec![format!(
                "{} alarm: {file} is {age_text} old; already mailed within [feed] alarm_every_minutes",
                Code::FeedLockTooOld
            )];
        }
    }
    let host = crate::mail::hostname();
    let lock = drop_folder.join(file);
    let subject = format!("moosync on {host}: {file} is {age_text} old");
    let body = format!(
        "The lock file {} has been there for {age_text}, longer than the {} minutes allowed \
         ([feed] stale_lock_minutes).\n\n{}\n\nThis alarm is sent at most once every {} minutes \
         ([feed] alarm_every_minutes) while the lock stays.\n",
        lock.display(),
        cfg.feed.stale_lock_minutes,
        kind.meaning(),
        cfg.feed.alarm_every_minutes
    );
    match crate::mail::send_recorded(&cfg.mail, state, "alarm", &subject, &body) {
        Ok(()) => {
            let _ = state.record_alarm(file, now_s);
            vec![format!(
                "{} alarm: {file} is {age_text} old; mailed to {}",
                Code::FeedLockTooOld,
                cfg.mail.to.join(", ")
            )]
        }
        Err(e) => vec![format!(
            "{} alarm: {file} is {age_text} old; the alarm mail could not be sent: {e}",
            Code::MailFailed
        )],
    }
}
