//! Accounts over REST: a batch of user rows becomes batched lookups, then creates, updates
//! and deletes sent in calls of `[target] batch_size`, several at once. Only what differs
//! from what the site holds is written; a re-run of an unchanged file only reads.

use super::calls::{self, Ctx, MAX_FIELDS};
use super::client::{CallError, Retry};
use super::directory::{Account, Directory, Field, TEXT_FIELDS};
use super::form::Params;
use super::pool;
use super::split::{send_split, Piece};
use crate::codes::{Code, Failure};
use crate::command::{UserDelete, UserFields};
use crate::config::UserIdentifier;
use crate::outcome::{Action, Change, Outcome};
use serde_json::Value;
use std::collections::HashSet;
use std::ops::Range;

pub enum UserCmd<'a> {
    Upsert(&'a UserFields),
    Delete(&'a UserDelete),
}

/// The write a row comes to.
enum Plan {
    Create {
        item: Params,
        account: Account,
        suspend: bool,
    },
    Update {
        item: Params,
        account: Account,
        renamed_from: Option<String>,
        fields: Vec<String>,
    },
    Delete {
        account: Account,
    },
    Done(Outcome),
}

fn fail(code: Code, msg: String) -> Plan {
    Plan::Done(Outcome::Failed(Failure::new(code, msg)))
}

/// Where a row's account is looked for: the configured identifier, or the username when the
/// row has no value for it (as the embedded store and tool_sync do).
fn lookup_key(
    ident: UserIdentifier,
    username: &str,
    idnumber: Option<&str>,
    email: Option<&str>,
    id: Option<i64>,
) -> (Field, String) {
    let given = |v: Option<&str>| v.filter(|v| !v.is_empty()).map(str::to_string);
    match ident {
        UserIdentifier::Idnumber if given(idnumber).is_some() => {
            (Field::Idnumber, given(idnumber).unwrap_or_default())
        }
        UserIdentifier::Email if given(email).is_some() => {
            (Field::Email, given(email).unwrap_or_default())
        }
        UserIdentifier::Id if id.is_some() => (Field::Id, id.unwrap_or(0).to_string()),
        _ => (Field::Username, username.to_string()),
    }
}

fn rename_of(u: &UserFields) -> Option<&str> {
    u.oldusername
        .as_deref()
        .filter(|o| !o.is_empty() && *o != u.username)
}

/// Applies user rows in file order and returns one outcome per row. Rows go in waves of
/// calls; a row touching an account an earlier row of its wave touches waits for the next
/// wave, so it sees what that row did, as it would in the embedded store.
pub fn apply(ctx: &Ctx, dir: &mut Directory, rows: &[UserCmd]) -> Result<Vec<Outcome>, Failure> {
    let mut out = Vec::with_capacity(rows.len());
    while out.len() < rows.len() {
        out.extend(apply_wave(ctx, dir, &rows[out.len()..])?);
    }
    Ok(out)
}

/// Applies the longest prefix of `rows` in which no account is touched twice (at least one
/// row); returns its outcomes.
fn apply_wave(ctx: &Ctx, dir: &mut Directory, rows: &[UserCmd]) -> Result<Vec<Outcome>, Failure> {
    let t = &ctx.cfg.target;
    let ident = ctx.cfg.users.identifier;
    // 1. Find every row's account.
    let mut wanted = Vec::new();
    for r in rows {
        match r {
            UserCmd::Upsert(u) => {
                if let Some(old) = rename_of(u) {
                    wanted.push((Field::Username, old.to_string()));
                    wanted.push((Field::Username, u.username.clone()));
                } else {
                    wanted.push(lookup_key(
                        ident,
                        &u.username,
                        u.idnumber.as_deref(),
                        u.email.as_deref(),
                        u.id,
                    ));
                }
            }
            UserCmd::Delete(d) => wanted.push(lookup_key(
                ident,
                d.username.as_deref().unwrap_or(""),
                d.idnumber.as_deref(),
                d.email.as_deref(),
                d.id,
            )),
        }
    }
    dir.fetch(ctx.client, t.parallel, t.batch_size, wanted)?;
    let found: Vec<Result<Option<Account>, Outcome>> =
        rows.iter().map(|r| existing(ctx, dir, r)).collect();
    // 2. What the writes would collide with: the names and addresses they give.
    let mut wanted = Vec::new();
    for (r, f) in rows.iter().zip(&found) {
        if let (UserCmd::Upsert(u), Ok(acc)) = (r, f) {
            let changes = |field: &str, v: &str| acc.as_ref().is_none_or(|a| a.field(field) != v);
            if acc.as_ref().is_some_and(|a| a.username != u.username) {
                wanted.push((Field::Username, u.username.clone()));
            }
            if acc.is_none() {
                wanted.push((Field::Username, u.username.clone()));
            }
            if let Some(e) = u.email.as_deref().filter(|e| changes("email", e)) {
                wanted.push((Field::Email, e.to_string()));
            }
            if let Some(i) = u.idnumber.as_deref().filter(|i| changes("idnumber", i)) {
                wanted.push((Field::Idnumber, i.to_string()));
            }
        }
    }
    dir.fetch(ctx.client, t.parallel, t.batch_size, wanted)?;
    // The wave ends before the first row whose account, or an account holding a name or
    // address it gives, an earlier row of the wave already touches (renames, deletes).
    let mut touched: HashSet<i64> = HashSet::new();
    let mut cut = rows.len();
    for (i, (r, f)) in rows.iter().zip(&found).enumerate() {
        let mut ids: Vec<i64> = f
            .as_ref()
            .ok()
            .and_then(|a| a.as_ref())
            .map(|a| a.id)
            .into_iter()
            .collect();
        if let UserCmd::Upsert(u) = r {
            for (field, v) in [
                (Field::Username, Some(u.username.as_str())),
                (Field::Email, u.email.as_deref()),
                (Field::Idnumber, u.idnumber.as_deref()),
            ] {
                if let Some(v) = v.filter(|v| !v.is_empty()) {
                    ids.extend(dir.find(field, v).unwrap_or_default().iter().map(|a| a.id));
                }
            }
        }
        if i > 0 && ids.iter().any(|id| touched.contains(id)) {
            cut = i;
            break;
        }
        touched.extend(ids);
    }
    let (rows, found) = (&rows[..cut], found.into_iter().take(cut));
    // 3. Plan each row; two rows of the wave may not claim one name or address.
    let mut claimed: HashSet<(Field, String)> = HashSet::new();
    let plans: Vec<Plan> = rows
        .iter()
        .zip(found)
        .map(|(r, f)| match (r, f) {
            (_, Err(done)) => Plan::Done(done),
            (UserCmd::Upsert(u), Ok(acc)) => plan_upsert(ctx, dir, &mut claimed, u, acc),
            (UserCmd::Delete(_), Ok(Some(acc))) => Plan::Delete { account: acc },
            (UserCmd::Delete(_), Ok(None)) => unreachable!("existing() settles a missing account"),
        })
        .collect();
    if ctx.dry_run {
        return Ok(plans.into_iter().map(would_be).collect());
    }
    execute(ctx, dir, plans)
}

/// The row's account, `None` for a create; a row settled here (not found, ambiguous,
/// protected) is its outcome.
fn existing(ctx: &Ctx, dir: &Directory, r: &UserCmd) -> Result<Option<Account>, Outcome> {
    let ident = ctx.cfg.users.identifier;
    let failed = |code, msg: String| Outcome::Failed(Failure::new(code, msg));
    let (key, deleting) = match r {
        UserCmd::Upsert(u) => {
            if let Some(old) = rename_of(u) {
                if !ctx.cfg.users.allow_rename {
                    return Err(failed(Code::InvalidValue, format!("the row renames '{old}' to '{}' but renaming is off ([users] allow_rename = false)", u.username)));
                }
                // A row replayed after its rename went through finds the new name.
                for name in [old, u.username.as_str()] {
                    if let Some(a) = dir
                        .find(Field::Username, name)
                        .and_then(|v| v.first().cloned().cloned())
                    {
                        return check_protected(ctx, a, false).map(Some);
                    }
                }
                return Err(failed(
                    Code::RenameSourceMissing,
                    format!("no account has the old username '{old}' to rename to '{}'; check oldusername", u.username),
                ));
            }
            (
                lookup_key(
                    ident,
                    &u.username,
                    u.idnumber.as_deref(),
                    u.email.as_deref(),
                    u.id,
                ),
                false,
            )
        }
        UserCmd::Delete(d) => {
            if !ctx.cfg.users.allow_delete {
                return Err(failed(
                    Code::InvalidValue,
                    "the row deletes an account but deleting is off ([users] allow_delete = false)"
                        .into(),
                ));
            }
            let key = lookup_key(
                ident,
                d.username.as_deref().unwrap_or(""),
                d.idnumber.as_deref(),
                d.email.as_deref(),
                d.id,
            );
            if key.1.is_empty() {
                return Err(failed(
                    Code::MissingValue,
                    format!("the row deletes an account but gives no {}", ident.column()),
                ));
            }
            (key, true)
        }
    };
    if let Some(why) = dir.refused(key.0, &key.1) {
        return Err(failed(
            Code::RemoteRejected,
            format!(
                "Moodle refused to look up the account with {} '{}': {why}",
                field_name(key.0),
                key.1
            ),
        ));
    }
    let matches: Vec<&Account> = dir.find(key.0, &key.1).unwrap_or_default();
    // Found by id only, a deleted account is gone for a feed, as in the embedded store.
    if let [a] = matches.as_slice() {
        if a.deleted {
            return Err(if deleting {
                Outcome::Skipped(format!("account id {} is already deleted", a.id))
            } else {
                failed(Code::NotFound, format!("account id {} was deleted; Moodle does not revive deleted accounts, so create a new one (without the id)", a.id))
            });
        }
    }
    if matches.len() > 1 {
        let ids: Vec<String> = matches
            .iter()
            .map(|a| format!("{} ({})", a.id, a.username))
            .collect();
        return Err(failed(
            Code::AmbiguousMatch,
            format!("{} accounts match this row's {}: ids {}; make the value unique or change [users] identifier", matches.len(), ident.column(), ids.join(", ")),
        ));
    }
    match matches.first() {
        Some(a) => check_protected(ctx, (*a).clone(), deleting).map(Some),
        None if deleting => Err(Outcome::Skipped(format!(
            "no account with {} '{}' to delete (already deleted, or never created)",
            field_name(key.0),
            key.1
        ))),
        None if key.0 == Field::Id => Err(failed(
            Code::NotFound,
            format!("no account has id {}; with [users] identifier = \"id\" rows update existing accounts only", key.1),
        )),
        None => Ok(None),
    }
}

fn field_name(f: Field) -> &'static str {
    match f {
        Field::Id => "id",
        Field::Username => "username",
        Field::Email => "email",
        Field::Idnumber => "idnumber",
    }
}

fn check_protected(ctx: &Ctx, a: Account, deleting: bool) -> Result<Account, Outcome> {
    if ctx.protected.contains(&a.id) {
        let what = if a.id == 1 {
            "the site's guest account"
        } else {
            "the account moosync's token belongs to"
        };
        let verb = if deleting { "delete" } else { "change" };
        return Err(Outcome::Failed(Failure::new(
            Code::ProtectedAccount,
            format!("{} is {what}; moosync does not {verb} it", a.label()),
        )));
    }
    Ok(a)
}

/// Another account already holding `value`, or a row earlier in the wave claiming it.
fn taken(
    dir: &Directory,
    claimed: &HashSet<(Field, String)>,
    field: Field,
    value: &str,
    except: i64,
) -> Option<String> {
    let lower = if field == Field::Email {
        value.to_lowercase()
    } else {
        value.to_string()
    };
    if claimed.contains(&(field, lower)) {
        return Some("an earlier row of this file".into());
    }
    dir.find(field, value)
        .unwrap_or_default()
        .into_iter()
        .find(|a| a.id != except)
        .map(Account::label)
}

fn claim(claimed: &mut HashSet<(Field, String)>, field: Field, value: &str) {
    let v = if field == Field::Email {
        value.to_lowercase()
    } else {
        value.to_string()
    };
    claimed.insert((field, v));
}

fn collisions(
    dir: &Directory,
    claimed: &mut HashSet<(Field, String)>,
    except: i64,
    username: Option<&str>,
    email: Option<&str>,
    idnumber: Option<&str>,
) -> Result<(), Failure> {
    if let Some(u) = username {
        if let Some(other) = taken(dir, claimed, Field::Username, u, except) {
            return Err(Failure::new(
                Code::CollisionUsername,
                format!("username '{u}' already belongs to {other}; choose another username or match that account"),
            ));
        }
    }
    if let Some(e) = email.filter(|e| !e.is_empty()) {
        if let Some(other) = taken(dir, claimed, Field::Email, e, except) {
            return Err(Failure::new(
                Code::CollisionEmail,
                format!("email '{e}' already belongs to {other}; Moodle keeps emails unique"),
            ));
        }
    }
    if let Some(i) = idnumber.filter(|i| !i.is_empty()) {
        if let Some(other) = taken(dir, claimed, Field::Idnumber, i, except) {
            return Err(Failure::new(
                Code::CollisionIdnumber,
                format!("idnumber '{i}' already belongs to {other}"),
            ));
        }
    }
    for (f, v) in [
        (Field::Username, username),
        (Field::Email, email),
        (Field::Idnumber, idnumber),
    ] {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            claim(claimed, f, v);
        }
    }
    Ok(())
}

/// Auth plugins that keep passwords in Moodle: a new account needs one, or one generated.
fn internal_auth(auth: &str) -> bool {
    matches!(auth, "manual" | "email")
}

/// A profile field's value, kept out of every message when the script marked it `secret`.
fn push(item: &mut Params, secret: bool, key: impl Into<String>, value: String) {
    if secret {
        item.push_secret(key, value);
    } else {
        item.push(key, value);
    }
}

fn plan_upsert(
    ctx: &Ctx,
    dir: &Directory,
    claimed: &mut HashSet<(Field, String)>,
    u: &UserFields,
    acc: Option<Account>,
) -> Plan {
    match acc {
        Some(a) => plan_update(ctx, dir, claimed, u, a),
        None => plan_create(ctx, dir, claimed, u),
    }
}

fn plan_create(
    ctx: &Ctx,
    dir: &Directory,
    claimed: &mut HashSet<(Field, String)>,
    u: &UserFields,
) -> Plan {
    let d = &ctx.cfg.users;
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    for (name, v) in [
        ("firstname", &u.firstname),
        ("lastname", &u.lastname),
        ("email", &u.email),
    ] {
        if given(v).is_none() {
            let why = if name == "email" {
                " (Moodle's web services create no account without one)"
            } else {
                ""
            };
            return fail(
                Code::MissingValue,
                format!("{name} is required to create account '{}'{why}", u.username),
            );
        }
    }
    if let Err(f) = collisions(
        dir,
        claimed,
        0,
        Some(&u.username),
        u.email.as_deref(),
        u.idnumber.as_deref(),
    ) {
        return Plan::Done(Outcome::Failed(f));
    }
    let mut item = Params::new();
    let mut account = Account {
        id: 0,
        username: u.username.clone(),
        ..Default::default()
    };
    item.push("username", u.username.clone());
    let defaults = [
        ("auth", d.default_auth.as_str()),
        ("lang", d.default_lang.as_str()),
        ("country", d.default_country.as_str()),
        ("city", d.default_city.as_str()),
        ("timezone", d.default_timezone.as_str()),
    ];
    for (field, v) in TEXT_FIELDS.iter().zip(u.text_values()) {
        let value = match v {
            Some(v) => v.clone(),
            None => defaults
                .iter()
                .find(|(f, _)| f == field)
                .map_or(String::new(), |(_, d)| d.to_string()),
        };
        if !value.is_empty() {
            item.push(*field, value.clone());
        }
        account.set_field(field, value);
    }
    let auth = account.field("auth").to_string();
    match u.password.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => {
            item.push_secret("password", p);
        }
        // Moodle refuses an internal account without a password: it makes one and mails it.
        None if internal_auth(&auth) || auth.is_empty() => {
            item.push("createpassword", "1");
        }
        None => {}
    }
    for (k, v) in [("maildisplay", u.maildisplay), ("mailformat", u.mailformat)] {
        if let Some(v) = v {
            item.push(k, v.to_string());
        }
    }
    account.mailformat = u.mailformat;
    for (i, (name, value)) in u.profile.iter().enumerate() {
        item.push(format!("customfields[{i}][type]"), name.clone());
        push(
            &mut item,
            u.is_secret(name),
            format!("customfields[{i}][value]"),
            value.clone(),
        );
        account.custom.insert(name.clone(), value.clone());
    }
    let suspend = u.suspended == Some(true);
    account.suspended = suspend;
    Plan::Create {
        item,
        account,
        suspend,
    }
}

fn plan_update(
    ctx: &Ctx,
    dir: &Directory,
    claimed: &mut HashSet<(Field, String)>,
    u: &UserFields,
    a: Account,
) -> Plan {
    let mut item = Params::new();
    let mut fields = Vec::new();
    let mut after = a.clone();
    let renamed_from = (a.username != u.username).then(|| a.username.clone());
    if renamed_from.is_some() {
        if !ctx.cfg.users.allow_rename {
            return fail(Code::InvalidValue, format!("the row would rename '{}' to '{}' but renaming is off ([users] allow_rename = false)", a.username, u.username));
        }
        item.push("username", u.username.clone());
        fields.push("username".to_string());
        after.username = u.username.clone();
    }
    for (field, v) in TEXT_FIELDS.iter().zip(u.text_values()) {
        if let Some(v) = v {
            if a.field(field) != v.as_str() {
                item.push(*field, v.clone());
                fields.push(field.to_string());
                after.set_field(field, v.clone());
            }
        }
    }
    let email_changes = fields.iter().any(|f| f == "email")
        && !u
            .email
            .as_deref()
            .unwrap_or("")
            .eq_ignore_ascii_case(a.email());
    let idnumber_changes = fields.iter().any(|f| f == "idnumber");
    if let Err(f) = collisions(
        dir,
        claimed,
        a.id,
        renamed_from.as_ref().map(|_| u.username.as_str()),
        u.email.as_deref().filter(|_| email_changes),
        u.idnumber.as_deref().filter(|_| idnumber_changes),
    ) {
        return Plan::Done(Outcome::Failed(f));
    }
    if let Some(m) = u.mailformat.filter(|m| a.mailformat != Some(*m)) {
        item.push("mailformat", m.to_string());
        fields.push("mailformat".into());
        after.mailformat = Some(m);
    }
    if let Some(s) = u.suspended.filter(|s| *s != a.suspended) {
        item.push("suspended", if s { "1" } else { "0" });
        fields.push("suspended".into());
        after.suspended = s;
    }
    let mut n = 0;
    for (name, value) in &u.profile {
        let current = a.custom.get(name).map_or("", String::as_str);
        if current != value {
            item.push(format!("customfields[{n}][type]"), name.clone());
            push(
                &mut item,
                u.is_secret(name),
                format!("customfields[{n}][value]"),
                value.clone(),
            );
            n += 1;
            fields.push(format!("profile_field_{name}"));
            after.custom.insert(name.clone(), value.clone());
        }
    }
    if fields.is_empty() {
        return Plan::Done(Outcome::Applied(vec![Change::new(
            Action::Unchanged,
            "user",
            a.id,
            u.username.clone(),
        )]));
    }
    item.fields.insert(0, ("id".into(), a.id.to_string()));
    Plan::Update {
        item,
        account: after,
        renamed_from,
        fields,
    }
}

/// A dry run's outcome: what the write would have done.
fn would_be(p: Plan) -> Outcome {
    match p {
        Plan::Done(o) => o,
        Plan::Create { account, .. } => Outcome::Applied(vec![Change::new(
            Action::Created,
            "user",
            0,
            account.username,
        )]),
        Plan::Update {
            account,
            renamed_from,
            fields,
            ..
        } => updated(&account, renamed_from, fields),
        Plan::Delete { account } => Outcome::Applied(vec![Change::new(
            Action::Deleted,
            "user",
            account.id,
            account.username,
        )]),
    }
}

fn updated(a: &Account, renamed_from: Option<String>, fields: Vec<String>) -> Outcome {
    let mut changes = Vec::new();
    if let Some(old) = renamed_from {
        changes.push(Change::new(
            Action::Renamed,
            "user",
            a.id,
            format!("{old} -> {}", a.username),
        ));
    }
    changes.push(Change {
        action: Action::Updated,
        entity: "user",
        id: a.id,
        label: a.username.clone(),
        fields,
    });
    Outcome::Applied(changes)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Create,
    Update,
    Delete,
}

fn rejected(m: &super::client::MoodleError) -> Failure {
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

fn execute(ctx: &Ctx, dir: &mut Directory, plans: Vec<Plan>) -> Result<Vec<Outcome>, Failure> {
    let batch = ctx.cfg.target.batch_size.max(1);
    let of = |k: Kind| -> Vec<usize> {
        plans
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                matches!(
                    (k, p),
                    (Kind::Create, Plan::Create { .. })
                        | (Kind::Update, Plan::Update { .. })
                        | (Kind::Delete, Plan::Delete { .. })
                )
            })
            .map(|(i, _)| i)
            .collect()
    };
    let mut jobs: Vec<(Kind, Vec<usize>)> = Vec::new();
    for k in [Kind::Create, Kind::Update, Kind::Delete] {
        let rows = of(k);
        if rows.is_empty() {
            continue;
        }
        // Only what the file does must be in the service: a feed without deletes runs
        // on a service without core_user_delete_users.
        let function = match k {
            Kind::Create => "core_user_create_users",
            Kind::Update => "core_user_update_users",
            Kind::Delete => "core_user_delete_users",
        };
        calls::require(ctx.functions, function)?;
        // PHP drops form fields past max_input_vars (Moodle asks for at least 5,000), and
        // Moodle then never sees them: a call stays under 4,000 fields whatever batch_size.
        let mut chunk: Vec<usize> = Vec::new();
        let mut fields = 0;
        for i in rows {
            let n = match &plans[i] {
                Plan::Create { item, .. } | Plan::Update { item, .. } => item.len(),
                _ => 1,
            };
            if !chunk.is_empty() && (chunk.len() >= batch || fields + n > MAX_FIELDS) {
                jobs.push((k, std::mem::take(&mut chunk)));
                fields = 0;
            }
            chunk.push(i);
            fields += n;
        }
        jobs.push((k, chunk));
    }
    let results = pool::map(&jobs, ctx.cfg.target.parallel, |(kind, rows)| {
        send_job(ctx, &plans, *kind, rows)
    });
    let mut outcomes: Vec<Option<Outcome>> = (0..plans.len()).map(|_| None).collect();
    let mut suspend_after = Vec::new();
    for ((kind, rows), result) in jobs.iter().zip(results) {
        for piece in result? {
            let these = &rows[piece.items.clone()];
            match piece.answer {
                Err(m) => {
                    for &i in these {
                        outcomes[i] = Some(Outcome::Failed(rejected(&m)));
                    }
                }
                Ok(answer) => settle(
                    dir,
                    &plans,
                    *kind,
                    these,
                    &answer,
                    &mut outcomes,
                    &mut suspend_after,
                ),
            }
        }
    }
    suspend_created(ctx, dir, &suspend_after, &mut outcomes)?;
    Ok(plans
        .into_iter()
        .zip(outcomes)
        .map(|(p, o)| match (p, o) {
            (Plan::Done(o), _) => o,
            (_, Some(o)) => o,
            (_, None) => Outcome::Failed(Failure::new(
                Code::RemoteBadAnswer,
                "Moodle's answer did not account for this row; check it in Moodle",
            )),
        })
        .collect())
}

/// Sends one chunk of one kind, split where Moodle refuses it.
fn send_job(ctx: &Ctx, plans: &[Plan], kind: Kind, rows: &[usize]) -> Result<Vec<Piece>, Failure> {
    let client = ctx.client;
    let send = |r: Range<usize>| -> Result<Value, CallError> {
        let these = &rows[r];
        let mut p = Params::new();
        match kind {
            Kind::Create | Kind::Update => {
                for (n, &i) in these.iter().enumerate() {
                    if let Plan::Create { item, .. } | Plan::Update { item, .. } = &plans[i] {
                        p.item("users", n, item);
                    }
                }
            }
            Kind::Delete => {
                p.list(
                    "userids",
                    these.iter().filter_map(|&i| match &plans[i] {
                        Plan::Delete { account } => Some(account.id.to_string()),
                        _ => None,
                    }),
                );
            }
        }
        match kind {
            // Setting values twice is setting them once.
            Kind::Update => client.call("core_user_update_users", &p, Retry::Safe),
            Kind::Create => checked_write(ctx, "core_user_create_users", &p, these, plans, true),
            Kind::Delete => checked_write(ctx, "core_user_delete_users", &p, these, plans, false),
        }
    };
    send_split(rows.len(), &send)
}

/// A create or delete is sent again after a lost answer only once a lookup shows it did not
/// take effect (both are all-or-nothing in Moodle: all of the call happened, or none).
fn checked_write(
    ctx: &Ctx,
    function: &str,
    p: &Params,
    rows: &[usize],
    plans: &[Plan],
    creating: bool,
) -> Result<Value, CallError> {
    let mut attempt = 0;
    loop {
        match ctx.client.call_once(function, p) {
            Err(CallError::Transport(why)) => {
                let usernames: Vec<String> = rows
                    .iter()
                    .filter_map(|&i| match &plans[i] {
                        Plan::Create { account, .. } | Plan::Delete { account } => {
                            Some(account.username.clone())
                        }
                        _ => None,
                    })
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

/// Records what an accepted call did, row by row.
fn settle(
    dir: &mut Directory,
    plans: &[Plan],
    kind: Kind,
    rows: &[usize],
    answer: &Value,
    outcomes: &mut [Option<Outcome>],
    suspend_after: &mut Vec<(usize, i64)>,
) {
    match kind {
        Kind::Create => {
            let created = answer.as_array().cloned().unwrap_or_default();
            for (n, &i) in rows.iter().enumerate() {
                let Plan::Create {
                    account, suspend, ..
                } = &plans[i]
                else {
                    continue;
                };
                let id = created
                    .get(n)
                    .and_then(|c| c.get("id"))
                    .and_then(Value::as_i64);
                match id {
                    Some(id) => {
                        let mut a = account.clone();
                        a.id = id;
                        dir.put(a);
                        if *suspend {
                            suspend_after.push((i, id));
                        }
                        outcomes[i] = Some(Outcome::Applied(vec![Change::new(
                            Action::Created,
                            "user",
                            id,
                            account.username.clone(),
                        )]));
                    }
                    None => {
                        outcomes[i] = Some(Outcome::Failed(Failure::new(
                            Code::RemoteBadAnswer,
                            format!("Moodle's answer to creating '{}' has no id; check the account in Moodle", account.username),
                        )))
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
            for &i in rows {
                let Plan::Update {
                    account,
                    renamed_from,
                    fields,
                    ..
                } = &plans[i]
                else {
                    continue;
                };
                let warned = warnings
                    .iter()
                    .find(|w| w.get("itemid").and_then(Value::as_i64) == Some(account.id));
                outcomes[i] = Some(match warned {
                    Some(w) => {
                        let text =
                            |k: &str| w.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                        Outcome::Failed(Failure::new(
                            Code::RemoteWarning,
                            format!(
                                "Moodle did not update {}: {}: {}",
                                account.label(),
                                text("warningcode"),
                                text("message")
                            ),
                        ))
                    }
                    None => {
                        dir.put(account.clone());
                        updated(account, renamed_from.clone(), fields.clone())
                    }
                });
            }
        }
        Kind::Delete => {
            for &i in rows {
                if let Plan::Delete { account } = &plans[i] {
                    dir.forget(account.id);
                    outcomes[i] = Some(Outcome::Applied(vec![Change::new(
                        Action::Deleted,
                        "user",
                        account.id,
                        account.username.clone(),
                    )]));
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
    outcomes: &mut [Option<Outcome>],
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
        for (i, id) in chunk {
            if answer.is_null() || warned.contains(id) {
                dir.forget(*id);
                outcomes[*i] = Some(Outcome::Failed(Failure::new(
                    Code::RemoteRejected,
                    format!("account id {id} was created but Moodle did not suspend it; suspend it in Moodle or run the row again"),
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_looked_up_by_the_identifier_or_else_the_username() {
        use UserIdentifier::*;
        assert_eq!(
            lookup_key(Idnumber, "jdoe", Some("S1"), None, None),
            (Field::Idnumber, "S1".to_string())
        );
        assert_eq!(
            lookup_key(Idnumber, "jdoe", Some(""), None, None),
            (Field::Username, "jdoe".to_string())
        );
        assert_eq!(
            lookup_key(Id, "jdoe", None, None, Some(12)),
            (Field::Id, "12".to_string())
        );
        assert_eq!(
            lookup_key(Email, "jdoe", None, Some("j@x.org"), None),
            (Field::Email, "j@x.org".to_string())
        );
    }
}
