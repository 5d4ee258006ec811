//! Accounts over REST: read through the directory for the plan, and written by the planned
//! operations in batched calls of `[target] batch_size` (core_user_create_users,
//! _update_users, _delete_users), several at once, each split where Moodle refuses it.

use super::calls::{self, Ctx, Item, MAX_FIELDS};
use super::client::{CallError, MoodleError, Retry};
use super::directory::{Account, Directory, TEXT_FIELDS};
use super::form::Params;
use super::pool;
use super::split::{send_split, Piece};
use crate::codes::{Code, Failure};
use crate::plan::ops::{NewUser, UserUpdate};
use crate::plan::view::UserRec;
use crate::plan::{Applied, BatchApplied, Op, Ref};
use serde_json::Value;
use std::ops::Range;

/// An account as the plan reads it. Moodle's lookups do not return `maildisplay`.
pub fn rec(a: &Account) -> UserRec {
    UserRec {
        id: Ref::Id(a.id),
        username: a.username.clone(),
        deleted: a.deleted,
        suspended: a.suspended,
        text: a.text.clone(),
        maildisplay: None,
        mailformat: a.mailformat,
        profile: a.custom.clone(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Create,
    Update,
    Delete,
}

impl Kind {
    fn function(self) -> &'static str {
        match self {
            Kind::Create => "core_user_create_users",
            Kind::Update => "core_user_update_users",
            Kind::Delete => "core_user_delete_users",
        }
    }

    fn of(op: &Op) -> Option<Kind> {
        match op {
            Op::CreateUser(_) => Some(Kind::Create),
            Op::UpdateUser(_) => Some(Kind::Update),
            Op::DeleteUser { .. } => Some(Kind::Delete),
            _ => None,
        }
    }
}

/// Auth plugins that keep passwords in Moodle: a new account needs one, or one generated.
/// Whether Moodle keeps the account's password itself (`auth_plugin_base::is_internal()`,
/// true unless a plugin says otherwise; of the standard ones, these say otherwise; `db` does
/// unless set to keep passwords in Moodle).
fn internal_auth(auth: &str) -> bool {
    !matches!(
        auth,
        "cas" | "db" | "ldap" | "mnet" | "shibboleth" | "webservice"
    )
}

/// A profile field's value, kept out of every message when the script marked it `secret`.
fn push_profile(item: &mut Params, secret: &[String], n: usize, name: &str, value: &str) {
    item.push(format!("customfields[{n}][type]"), name.to_string());
    let key = format!("customfields[{n}][value]");
    if secret.iter().any(|s| s == name) {
        item.push_secret(key, value);
    } else {
        item.push(key, value);
    }
}

fn create_item(u: &NewUser) -> Params {
    let mut item = Params::new();
    item.push("username", u.username.clone());
    for (field, value) in TEXT_FIELDS.iter().zip(&u.text) {
        if !value.is_empty() {
            item.push(*field, value.clone());
        }
    }
    match &u.password {
        Some(p) => {
            item.push_secret("password", p.clone());
        }
        // Moodle refuses an internal account without a password: it makes one and mails it.
        None if internal_auth(u.field("auth")) => {
            item.push("createpassword", "1");
        }
        None => {}
    }
    item.push("maildisplay", u.maildisplay.to_string());
    item.push("mailformat", u.mailformat.to_string());
    for (n, (name, value)) in u.profile.iter().enumerate() {
        push_profile(&mut item, &u.secret, n, name, value);
    }
    item
}

fn update_item(id: i64, u: &UserUpdate) -> Params {
    let mut item = Params::new();
    item.push("id", id.to_string());
    if let Some(n) = &u.new_username {
        item.push("username", n.clone());
    }
    for (field, value) in &u.text {
        item.push(*field, value.clone());
    }
    if let Some(p) = &u.password {
        item.push_secret("password", p.clone());
    }
    for (k, v) in [("maildisplay", u.maildisplay), ("mailformat", u.mailformat)] {
        if let Some(v) = v {
            item.push(k, v.to_string());
        }
    }
    if let Some(s) = u.suspended {
        item.push("suspended", if s { "1" } else { "0" });
    }
    for (n, (name, value)) in u.profile.iter().enumerate() {
        push_profile(&mut item, &u.secret, n, name, value);
    }
    item
}

/// One item of a call: its operation's row, and the form it is sent as.
struct Job<'a> {
    kind: Kind,
    items: Vec<(&'a Item<'a>, Params)>,
}

/// Sends a wave's account operations, creates, updates and deletes each in calls of
/// `batch_size` (under 4,000 form fields), several in flight.
pub fn send(
    ctx: &Ctx,
    dir: &mut Directory,
    wave: &[&Item],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    let batch = ctx.cfg.target.batch_size.max(1);
    let mut jobs: Vec<Job> = Vec::new();
    for kind in [Kind::Create, Kind::Update, Kind::Delete] {
        let mine: Vec<&&Item> = wave
            .iter()
            .filter(|i| Kind::of(i.op) == Some(kind))
            .collect();
        if mine.is_empty() {
            continue;
        }
        // Only what the file does must be in the service: a feed without deletes runs
        // on a service without core_user_delete_users.
        calls::require(ctx.functions, kind.function())?;
        let mut job = Job {
            kind,
            items: Vec::new(),
        };
        let mut fields = 0;
        for item in mine {
            let p = match item.op {
                Op::CreateUser(u) => create_item(u),
                Op::UpdateUser(u) => update_item(out.sent_id(u.user()), u),
                Op::DeleteUser { user, .. } => {
                    let mut p = Params::new();
                    p.push("id", out.sent_id(*user).to_string());
                    p
                }
                _ => continue,
            };
            let n = p.len().max(1);
            if !job.items.is_empty() && (job.items.len() >= batch || fields + n > MAX_FIELDS) {
                jobs.push(std::mem::replace(
                    &mut job,
                    Job {
                        kind,
                        items: Vec::new(),
                    },
                ));
                fields = 0;
            }
            job.items.push((item, p));
            fields += n;
        }
        jobs.push(job);
    }
    let results = pool::map(&jobs, ctx.cfg.target.parallel, |job| send_job(ctx, job));
    let mut suspend_after = Vec::new();
    for (job, result) in jobs.iter().zip(results) {
        for piece in result? {
            let these = &job.items[piece.items.clone()];
            match piece.answer {
                Err(m) => {
                    for (item, _) in these {
                        out.rows[item.row] = Applied::Failed(rejected(&m));
                    }
                }
                Ok(answer) => settle(dir, job.kind, these, &answer, out, &mut suspend_after),
            }
        }
    }
    suspend_created(ctx, dir, &suspend_after, out)
}

/// Sends one call's worth, split where Moodle refuses it.
fn send_job(ctx: &Ctx, job: &Job) -> Result<Vec<Piece>, Failure> {
    let send = |r: Range<usize>| -> Result<Value, CallError> {
        let these = &job.items[r];
        let mut p = Params::new();
        match job.kind {
            Kind::Create | Kind::Update => {
                for (n, (_, item)) in these.iter().enumerate() {
                    p.item("users", n, item);
                }
            }
            Kind::Delete => {
                p.list(
                    "userids",
                    these.iter().map(|(_, item)| item.fields[0].1.clone()),
                );
            }
        }
        match job.kind {
            // Setting values twice is setting them once.
            Kind::Update => ctx.client.call(job.kind.function(), &p, Retry::Safe),
            Kind::Create | Kind::Delete => checked_write(ctx, job.kind, &p, these),
        }
    };
    send_split(job.items.len(), &send)
}

fn username_of(op: &Op) -> &str {
    match op {
        Op::CreateUser(u) => &u.username,
        Op::UpdateUser(u) => &u.username,
        Op::DeleteUser { username, .. } => username,
        _ => "",
    }
}

/// A create or delete is sent again after a lost answer only once a lookup shows it did not
/// take effect (both are all-or-nothing in Moodle: all of the call happened, or none).
fn checked_write(
    ctx: &Ctx,
    kind: Kind,
    p: &Params,
    these: &[(&Item, Params)],
) -> Result<Value, CallError> {
    let creating = kind == Kind::Create;
    let mut attempt = 0;
    loop {
        match ctx.client.call_once(kind.function(), p) {
            Err(CallError::Transport(why)) => {
                let usernames: Vec<String> = these
                    .iter()
                    .map(|(i, _)| username_of(i.op).to_string())
                    .collect();
                let mut q = Params::new();
                q.push("field", "username");
                q.list("values", usernames.iter().cloned());
                let there = ctx
                    .client
                    .call("core_user_get_users_by_field", &q, Retry::Safe)?;
                let found: Vec<&Value> = there.as_array().into_iter().flatten().collect();
                let done = if creating {
                    found.len() == usernames.len()
                } else {
                    found.is_empty()
                };
                if done {
                    // It went through; answer as Moodle would have.
                    return Ok(if creating {
                        let ids: Vec<Value> = usernames
                            .iter()
                            .map(|u| {
                                let id = found
                                    .iter()
                                    .find(|f| f.get("username").and_then(Value::as_str) == Some(u))
                                    .and_then(|f| f.get("id").cloned())
                                    .unwrap_or(Value::Null);
                                serde_json::json!({"id": id, "username": u})
                            })
                            .collect();
                        Value::Array(ids)
                    } else {
                        Value::Null
                    });
                }
                let untouched = if creating {
                    found.is_empty()
                } else {
                    found.len() == usernames.len()
                };
                if !untouched || attempt >= ctx.cfg.target.retries {
                    return Err(CallError::Transport(why));
                }
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(200) * attempt);
            }
            other => return other,
        }
    }
}

fn rejected(m: &MoodleError) -> Failure {
    if m.errorcode == "invalidresponse" {
        return Failure::new(
            Code::RemoteBadAnswer,
            format!(
                "Moodle answered {}; the change may have been made: check the account in Moodle",
                m.describe()
            ),
        );
    }
    let hint = if m.errorcode == "invalidparameter" && m.debuginfo.is_none() {
        " (the site's debugging is off, so Moodle does not say why: a duplicate, an address or a value it refuses)"
    } else {
        ""
    };
    Failure::new(
        Code::RemoteRejected,
        format!("Moodle refused the row: {}{hint}", m.describe()),
    )
}

/// The account as it is after a create.
fn created_account(id: i64, u: &NewUser) -> Account {
    Account {
        id,
        username: u.username.clone(),
        text: u.text.clone(),
        suspended: u.suspended,
        mailformat: Some(u.mailformat),
        custom: u.profile.clone(),
        ..Default::default()
    }
}

/// Records what an accepted call did, item by item.
fn settle(
    dir: &mut Directory,
    kind: Kind,
    these: &[(&Item, Params)],
    answer: &Value,
    out: &mut BatchApplied,
    suspend_after: &mut Vec<(usize, i64)>,
) {
    match kind {
        Kind::Create => {
            let made = answer.as_array().cloned().unwrap_or_default();
            for (n, (item, _)) in these.iter().enumerate() {
                let Op::CreateUser(u) = item.op else { continue };
                let id = made
                    .get(n)
                    .and_then(|c| c.get("id"))
                    .and_then(Value::as_i64);
                match id {
                    Some(id) => {
                        dir.put(created_account(id, u));
                        if let Ref::New(n) = u.new {
                            out.created.insert(n, id);
                        }
                        if u.suspended {
                            suspend_after.push((item.row, id));
                        }
                    }
                    None => {
                        out.rows[item.row] = Applied::Failed(Failure::new(
                            Code::RemoteBadAnswer,
                            format!("Moodle's answer to creating '{}' has no id; check the account in Moodle", u.username),
                        ))
                    }
                }
            }
        }
        Kind::Update => {
            let warnings = answer
                .get("warnings")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (item, p) in these {
                let Op::UpdateUser(u) = item.op else { continue };
                let id: i64 = p.fields[0].1.parse().unwrap_or(0);
                let warned = warnings
                    .iter()
                    .find(|w| w.get("itemid").and_then(Value::as_i64) == Some(id));
                match warned {
                    Some(w) => {
                        let text =
                            |k: &str| w.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                        out.rows[item.row] = Applied::Failed(Failure::new(
                            Code::RemoteWarning,
                            format!(
                                "Moodle did not update account id {id} ({}): {}: {}",
                                u.username,
                                text("warningcode"),
                                text("message")
                            ),
                        ));
                    }
                    None => {
                        let known = dir
                            .find(super::directory::Field::Id, &id.to_string())
                            .and_then(|v| v.first().map(|a| (*a).clone()));
                        if let Some(mut a) = known {
                            if let Some(n) = &u.new_username {
                                a.username = n.clone();
                            }
                            for (f, v) in &u.text {
                                a.set_field(f, v.clone());
                            }
                            if let Some(s) = u.suspended {
                                a.suspended = s;
                            }
                            if u.mailformat.is_some() {
                                a.mailformat = u.mailformat;
                            }
                            for (k, v) in &u.profile {
                                a.custom.insert(k.clone(), v.clone());
                            }
                            dir.put(a);
                        } else {
                            dir.forget(id);
                        }
                    }
                }
            }
        }
        Kind::Delete => {
            for (_, p) in these {
                if let Ok(id) = p.fields[0].1.parse() {
                    dir.forget(id);
                }
            }
        }
    }
}

/// `core_user_create_users` takes no `suspended`: accounts created suspended are suspended
/// by one update call after their creation.
fn suspend_created(
    ctx: &Ctx,
    dir: &mut Directory,
    created: &[(usize, i64)],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    for chunk in created.chunks(ctx.cfg.target.batch_size.max(1)) {
        let mut p = Params::new();
        for (n, (_, id)) in chunk.iter().enumerate() {
            let mut item = Params::new();
            item.push("id", id.to_string()).push("suspended", "1");
            p.item("users", n, &item);
        }
        let answer = match ctx.client.call("core_user_update_users", &p, Retry::Safe) {
            Ok(v) => v,
            Err(e) => {
                if let Some(stop) = e.stops_the_file() {
                    return Err(stop);
                }
                Value::Null
            }
        };
        let warned: Vec<i64> = answer
            .get("warnings")
            .and_then(Value::as_array)
            .map(|w| {
                w.iter()
                    .filter_map(|w| w.get("itemid").and_then(Value::as_i64))
                    .collect()
            })
            .unwrap_or_default();
        for (row, id) in chunk {
            if answer.is_null() || warned.contains(id) {
                dir.forget(*id);
                out.rows[*row] = Applied::Failed(Failure::new(
                    Code::RemoteRejected,
                    format!("account id {id} was created but Moodle did not suspend it; suspend it in Moodle or run the row again"),
                ));
            }
        }
    }
    Ok(())
}
