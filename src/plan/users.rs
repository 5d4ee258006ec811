//! Accounts: found by the configured identifier (the username when the row has no value for
//! it, as tool_sync did), created with the settings' defaults for what the file lacks,
//! updated in the fields the file gives and that differ, renamed through `oldusername`, and
//! soft-deleted. The guest, the administrators and the token's own account are never
//! touched.

use super::ops::{NewUser, Op, UserUpdate};
use super::view::{Read, ReadError, SiteView, UserRec, Wanted};
use super::{PlannedChange, Planner, Ref, RowDraft, Verdict};
use crate::codes::{Code, Failure};
use crate::command::keys::UserIdentifier;
use crate::command::{Command, UserFields, UserRef, USER_TEXT_FIELDS};
use crate::config::Config;
use crate::outcome::Action;
use std::collections::BTreeMap;

fn row(code: Code, msg: String) -> ReadError {
    ReadError::Row(Failure::new(code, msg))
}

fn given(v: Option<&str>) -> Option<&str> {
    v.filter(|v| !v.is_empty())
}

/// The field a row's account is looked up by, and its value: the configured identifier, or
/// the username when the row has no value for it.
fn lookup_key<'a>(
    ident: UserIdentifier,
    username: &'a str,
    idnumber: Option<&'a str>,
    email: Option<&'a str>,
    id: Option<i64>,
) -> (UserIdentifier, String) {
    match ident {
        UserIdentifier::Idnumber if given(idnumber).is_some() => {
            (ident, idnumber.unwrap_or_default().to_string())
        }
        UserIdentifier::Email if given(email).is_some() => {
            (ident, email.unwrap_or_default().to_string())
        }
        UserIdentifier::Id if id.is_some() => (ident, id.unwrap_or_default().to_string()),
        _ => (UserIdentifier::Username, username.to_string()),
    }
}

fn rename_of(u: &UserFields) -> Option<&str> {
    given(u.oldusername.as_deref()).filter(|o| *o != u.username)
}

fn add(w: &mut Wanted, by: UserIdentifier, v: &str) {
    if !v.is_empty() {
        w.users.insert((by, v.to_string()));
    }
}

/// What a users command will look up to find its account, for the view to read ahead.
pub(super) fn wanted(cfg: &Config, cmd: &Command, w: &mut Wanted) {
    let ident = cfg.users.identifier;
    if let Command::UserUpsert(u) = cmd {
        w.profile_fields.extend(u.profile.keys().cloned());
    }
    match cmd {
        Command::UserUpsert(u) => match rename_of(u) {
            Some(old) => {
                add(w, UserIdentifier::Username, old);
                add(w, UserIdentifier::Username, &u.username);
            }
            None => {
                let (by, v) = lookup_key(
                    ident,
                    &u.username,
                    u.idnumber.as_deref(),
                    u.email.as_deref(),
                    u.id,
                );
                add(w, by, &v);
            }
        },
        Command::UserDelete(d) | Command::UserSuspend(d) => {
            let (by, v) = lookup_key(
                ident,
                d.username.as_deref().unwrap_or(""),
                d.idnumber.as_deref(),
                d.email.as_deref(),
                d.id,
            );
            add(w, by, &v);
        }
        _ => {}
    }
}

/// Once the accounts are read: the names and addresses a create or a change would collide
/// with (only those that change), for the view to read ahead too.
pub(super) fn wanted_next(cfg: &Config, view: &mut dyn SiteView, cmd: &Command, w: &mut Wanted) {
    let Command::UserUpsert(u) = cmd else { return };
    let (by, v) = match rename_of(u) {
        Some(old) => (UserIdentifier::Username, old.to_string()),
        None => lookup_key(
            cfg.users.identifier,
            &u.username,
            u.idnumber.as_deref(),
            u.email.as_deref(),
            u.id,
        ),
    };
    let found = view.users(by, &v).ok().and_then(|f| f.into_iter().next());
    let differs = |now: Option<&str>, want: Option<&str>| match (now, given(want)) {
        (_, None) => None,
        (None, Some(want)) => Some(want.to_string()),
        (Some(now), Some(want)) => (!now.eq_ignore_ascii_case(want)).then(|| want.to_string()),
    };
    let a = found.as_ref();
    if let Some(name) = differs(a.map(|a| a.username.as_str()), Some(&u.username)) {
        add(w, UserIdentifier::Username, &name);
    }
    if let Some(e) = differs(a.map(|a| a.email()), u.email.as_deref()) {
        add(w, UserIdentifier::Email, &e);
    }
    if let Some(i) = differs(a.map(|a| a.text[2].as_str()), u.idnumber.as_deref()) {
        add(w, UserIdentifier::Idnumber, &i);
    }
}

/// Whether the account holds `value` in `by`, as the view would find it.
pub(super) fn matches(rec: &UserRec, by: UserIdentifier, value: &str) -> bool {
    match by {
        UserIdentifier::Username => !rec.deleted && rec.username == value,
        UserIdentifier::Idnumber => !rec.deleted && rec.text[2] == value,
        UserIdentifier::Email => !rec.deleted && rec.text[3].eq_ignore_ascii_case(value),
        UserIdentifier::Id => rec.id.id().map(|id| id.to_string()).as_deref() == Some(value),
    }
}

/// The accounts matching `by = value`, as the batch's earlier rows leave them.
pub(super) fn find_all(
    p: &mut Planner,
    view: &mut dyn SiteView,
    by: UserIdentifier,
    value: &str,
) -> Read<Vec<UserRec>> {
    let seen = view.users(by, value)?;
    let o = p.overlay();
    let mut found = o.users.merge_among(
        seen,
        |r| r.id,
        |r| matches(r, by, value),
        o.users_holding(by, value).iter(),
    );
    found.sort_by_key(|r| r.id);
    Ok(found)
}

/// The one account a row names; several fail the row.
fn find(
    p: &mut Planner,
    view: &mut dyn SiteView,
    by: UserIdentifier,
    value: &str,
) -> Read<Option<UserRec>> {
    let found = find_all(p, view, by, value)?;
    if found.len() > 1 {
        let ids: Vec<String> = found
            .iter()
            .map(|s| match s.id {
                Ref::Id(id) => format!("{id} ({})", s.username),
                Ref::New(_) => format!("new ({})", s.username),
            })
            .collect();
        return Err(row(
            Code::AmbiguousMatch,
            format!("{} accounts match this row's {}: ids {}; make the value unique or change [users] identifier", found.len(), p.cfg().users.identifier.column(), ids.join(", ")),
        ));
    }
    Ok(found.into_iter().next())
}

/// Another live account (not `except`) holding `value` in `by`.
fn other(
    p: &mut Planner,
    view: &mut dyn SiteView,
    by: UserIdentifier,
    value: &str,
    except: Option<Ref>,
) -> Read<Option<UserRec>> {
    Ok(find_all(p, view, by, value)?
        .into_iter()
        .find(|a| Some(a.id) != except && (by == UserIdentifier::Username || !a.deleted)))
}

fn check_collisions(
    p: &mut Planner,
    view: &mut dyn SiteView,
    except: Option<Ref>,
    username: Option<&str>,
    email: Option<&str>,
    idnumber: Option<&str>,
) -> Read<()> {
    if let Some(u) = username {
        if let Some(o) = other(p, view, UserIdentifier::Username, u, except)? {
            return Err(row(
                Code::CollisionUsername,
                format!("username '{u}' already belongs to {}; choose another username or match that account", o.label()),
            ));
        }
    }
    if let Some(e) = given(email) {
        if let Some(o) = other(p, view, UserIdentifier::Email, e, except)? {
            return Err(row(
                Code::CollisionEmail,
                format!(
                    "email '{e}' already belongs to {}; Moodle keeps emails unique",
                    o.label()
                ),
            ));
        }
    }
    if let Some(i) = given(idnumber) {
        if let Some(o) = other(p, view, UserIdentifier::Idnumber, i, except)? {
            return Err(row(
                Code::CollisionIdnumber,
                format!("idnumber '{i}' already belongs to {}", o.label()),
            ));
        }
    }
    Ok(())
}

/// Fails the row when the account is one a feed never touches.
fn check_protected(view: &mut dyn SiteView, a: &UserRec, deleting: bool) -> Read<()> {
    let Some(id) = a.id.id() else { return Ok(()) };
    if let Some((_, what)) = view.protected()?.into_iter().find(|(p, _)| *p == id) {
        let msg = if deleting {
            format!(
                "{} cannot be deleted: it is {what}, which moosync never deletes",
                a.label()
            )
        } else {
            format!("{} is {what}; moosync does not change it", a.label())
        };
        return Err(row(Code::ProtectedAccount, msg));
    }
    Ok(())
}

/// The row's profile fields: a shortname the site lacks fails the row, where the backend can
/// tell.
fn check_profile(view: &mut dyn SiteView, u: &UserFields) -> Read<()> {
    if u.profile.is_empty() {
        return Ok(());
    }
    let Some(known) = view.profile_fields()? else {
        return Ok(());
    };
    if let Some(name) = u.profile.keys().find(|n| !known.contains(*n)) {
        let list: Vec<&str> = known.iter().map(String::as_str).collect();
        return Err(row(
            Code::UnknownProfileField,
            format!("no custom profile field has shortname '{name}' (known: {}); create it in Moodle, or list it in [embedded] profile_fields", list.join(", ")),
        ));
    }
    Ok(())
}

/// Moodle applies its password policy to every password it is given for an account.
fn check_password(view: &mut dyn SiteView, password: &str) -> Read<()> {
    match view.password_policy()?.and_then(|p| p.problems(password)) {
        Some(why) => Err(row(
            Code::PasswordPolicy,
            format!("the password does not meet the site's password policy: {why}"),
        )),
        None => Ok(()),
    }
}

/// Moodle creates no account whose language pack the site lacks.
fn check_language(view: &mut dyn SiteView, text: &[String; 15]) -> Read<()> {
    let Some(i) = USER_TEXT_FIELDS.iter().position(|f| *f == "lang") else {
        return Ok(());
    };
    let lang = &text[i];
    match view.languages()? {
        Some(installed) if !lang.is_empty() && !installed.contains(lang) => {
            let list: Vec<&str> = installed.iter().map(String::as_str).collect();
            Err(row(
                Code::LanguageNotInstalled,
                format!(
                    "the language '{lang}' is not installed on the site (installed: {})",
                    list.join(", ")
                ),
            ))
        }
        _ => Ok(()),
    }
}

pub(super) fn upsert(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    u: &UserFields,
) -> Read<Verdict> {
    check_profile(view, u)?;
    let cfg = p.cfg().users.clone();
    let existing = match rename_of(u) {
        Some(old) => Some(rename_source(p, view, old, &u.username)?),
        None => {
            let (by, v) = lookup_key(
                cfg.identifier,
                &u.username,
                u.idnumber.as_deref(),
                u.email.as_deref(),
                u.id,
            );
            find(p, view, by, &v)?
        }
    };
    match existing {
        Some(s) => {
            if s.username != u.username && !cfg.allow_rename {
                return Err(row(
                    Code::InvalidValue,
                    format!("the row would rename '{}' to '{}' but renaming is off ([users] allow_rename = false)", s.username, u.username),
                ));
            }
            update(p, view, draft, u, s)
        }
        None if cfg.identifier == UserIdentifier::Id && u.id.is_some() => Err(row(
            Code::NotFound,
            format!("no account has id {}; with [users] identifier = \"id\" rows update existing accounts only", u.id.unwrap_or(0)),
        )),
        None => create(p, view, draft, u),
    }
}

/// The account an `oldusername` names. A row replayed after its rename went through finds the
/// account under its new name and goes on as an update.
fn rename_source(p: &mut Planner, view: &mut dyn SiteView, old: &str, new: &str) -> Read<UserRec> {
    if !p.cfg().users.allow_rename {
        return Err(row(Code::InvalidValue, format!("the row renames '{old}' to '{new}' but renaming is off ([users] allow_rename = false)")));
    }
    for name in [old, new] {
        if let Some(s) = find_all(p, view, UserIdentifier::Username, name)?
            .into_iter()
            .next()
        {
            return Ok(s);
        }
    }
    Err(row(
        Code::RenameSourceMissing,
        format!("no account has the old username '{old}' to rename to '{new}'; check oldusername"),
    ))
}

fn update(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    u: &UserFields,
    s: UserRec,
) -> Read<Verdict> {
    if s.deleted {
        return Err(row(Code::NotFound, format!("{} was deleted; Moodle does not revive deleted accounts, so create a new one (without the id)", s.label())));
    }
    check_protected(view, &s, false)?;
    let mut up = UserUpdate {
        user: Some(s.id),
        username: s.username.clone(),
        secret: u.secret.clone(),
        ..Default::default()
    };
    if s.username != u.username {
        up.new_username = Some(u.username.clone());
    }
    for ((name, new), old) in USER_TEXT_FIELDS.iter().zip(u.text_values()).zip(&s.text) {
        if let Some(v) = new {
            if v != old {
                up.text.push((name, v.clone()));
            }
        }
    }
    let email_changes = up.field("email").is_some();
    let idnumber_changes = up.field("idnumber").is_some();
    if up.new_username.is_some() || email_changes || idnumber_changes {
        check_collisions(
            p,
            view,
            Some(s.id),
            up.new_username.as_deref(),
            // A change of case only is not a change of address.
            u.email
                .as_deref()
                .filter(|e| email_changes && !e.eq_ignore_ascii_case(s.email())),
            u.idnumber.as_deref().filter(|_| idnumber_changes),
        )?;
    }
    // A value the site does not show is never compared: it is not sent either.
    up.maildisplay = u
        .maildisplay
        .filter(|v| s.maildisplay.is_some_and(|now| now != *v));
    up.mailformat = u
        .mailformat
        .filter(|v| s.mailformat.is_some_and(|now| now != *v));
    up.suspended = u.suspended.filter(|v| *v != s.suspended);
    // An empty password cell leaves the password as it is; the same password is not set
    // again, and one the site cannot compare is set only when the account is created.
    if let (Some(pw), Some(id)) = (given(u.password.as_deref()), s.id.id()) {
        if view.password_matches(id, pw)? == Some(false) {
            check_password(view, pw)?;
            up.password = Some(pw.to_string());
        }
    }
    for (name, value) in &u.profile {
        let now = s.profile.get(name).map(String::as_str).unwrap_or("");
        if now != value {
            up.profile.push((name.clone(), value.clone()));
        }
    }
    let mut after = s.clone();
    if s.username != u.username {
        draft.changes.push(PlannedChange::new(
            Action::Renamed,
            "user",
            s.id,
            format!("{} -> {}", s.username, u.username),
        ));
        after.username = u.username.clone();
    }
    for (name, v) in &up.text {
        if let Some(i) = USER_TEXT_FIELDS.iter().position(|f| f == name) {
            after.text[i] = v.clone();
        }
    }
    if let Some(v) = up.suspended {
        after.suspended = v;
    }
    for (name, v) in &up.profile {
        after.profile.insert(name.clone(), v.clone());
    }
    let fields = up.written();
    draft.changes.push(
        PlannedChange::new(
            if fields.is_empty() {
                Action::Unchanged
            } else {
                Action::Updated
            },
            "user",
            s.id,
            u.username.clone(),
        )
        .with_fields(fields),
    );
    if !up.is_empty() {
        p.overlay().put_user(after);
        draft.ops.push(Op::UpdateUser(up));
    }
    Ok(Verdict::Done)
}

fn create(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    u: &UserFields,
) -> Read<Verdict> {
    let required = |v: &Option<String>, name: &str| -> Read<String> {
        match v.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => Ok(s.to_string()),
            _ => Err(row(
                Code::MissingValue,
                format!("{name} is required to create account '{}'", u.username),
            )),
        }
    };
    let firstname = required(&u.firstname, "firstname")?;
    let lastname = required(&u.lastname, "lastname")?;
    if given(u.email.as_deref()).is_none() && !view.capabilities().account_without_email {
        return Err(row(
            Code::RemoteUnsupported,
            format!("email is required to create account '{}': Moodle's web services create no account without one; give the row an email address", u.username),
        ));
    }
    check_collisions(
        p,
        view,
        None,
        Some(&u.username),
        u.email.as_deref(),
        u.idnumber.as_deref(),
    )?;
    let d = &p.cfg().users;
    let defaults: BTreeMap<&str, &str> = [
        ("auth", d.default_auth.as_str()),
        ("city", d.default_city.as_str()),
        ("country", d.default_country.as_str()),
        ("lang", d.default_lang.as_str()),
        ("timezone", d.default_timezone.as_str()),
    ]
    .into_iter()
    .collect();
    let mut text: [String; 15] = Default::default();
    for ((slot, name), v) in text.iter_mut().zip(USER_TEXT_FIELDS).zip(u.text_values()) {
        *slot = match v {
            Some(v) => v.clone(),
            None => defaults
                .get(name)
                .map(|s| s.to_string())
                .unwrap_or_default(),
        };
    }
    text[0] = firstname;
    text[1] = lastname;
    check_language(view, &text)?;
    if let Some(pw) = given(u.password.as_deref()) {
        check_password(view, pw)?;
    }
    let new = p.new_ref();
    let user = NewUser {
        new,
        username: u.username.clone(),
        password: given(u.password.as_deref()).map(str::to_string),
        text: text.clone(),
        maildisplay: u.maildisplay.unwrap_or(2),
        mailformat: u.mailformat.unwrap_or(1),
        suspended: u.suspended.unwrap_or(false),
        profile: u.profile.clone(),
        secret: u.secret.clone(),
    };
    p.overlay().put_user(UserRec {
        id: new,
        username: u.username.clone(),
        deleted: false,
        suspended: user.suspended,
        text,
        maildisplay: Some(user.maildisplay),
        mailformat: Some(user.mailformat),
        profile: u.profile.clone(),
    });
    draft.changes.push(PlannedChange::new(
        Action::Created,
        "user",
        new,
        u.username.clone(),
    ));
    draft.ops.push(Op::CreateUser(user));
    Ok(Verdict::Done)
}

/// The existing account a delete or suspend row names, or what to say when there is none
/// (a feed that keeps listing a departed account must not fail every day).
fn named_account(
    p: &mut Planner,
    view: &mut dyn SiteView,
    d: &UserRef,
    verb: &str,
) -> Read<Result<UserRec, String>> {
    let ident = p.cfg().users.identifier;
    let username = d.username.clone().unwrap_or_default();
    let (by, value) = lookup_key(
        ident,
        &username,
        d.idnumber.as_deref(),
        d.email.as_deref(),
        d.id,
    );
    if value.is_empty() {
        return Err(row(
            Code::MissingValue,
            format!("the row {verb}s an account but gives no {}", ident.column()),
        ));
    }
    let key = match by {
        UserIdentifier::Id => format!("id {value}"),
        other => format!("{} '{value}'", other.column()),
    };
    Ok(match find(p, view, by, &value)? {
        None => Err(format!(
            "no account with {key} to {verb} (already deleted, or never created)"
        )),
        Some(s) if s.deleted => Err(format!("{} is already deleted", s.label())),
        Some(s) => Ok(s),
    })
}

pub(super) fn delete(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    d: &UserRef,
) -> Read<Verdict> {
    if !p.cfg().users.allow_delete {
        return Err(row(
            Code::InvalidValue,
            "the row deletes an account but deleting is off ([users] allow_delete = false)".into(),
        ));
    }
    let s = match named_account(p, view, d, "delete")? {
        Ok(s) => s,
        Err(nothing) => return Ok(Verdict::Nothing(nothing)),
    };
    check_protected(view, &s, true)?;
    let mut after = s.clone();
    // delete_user frees the username, email and idnumber: found by id only from here on.
    after.deleted = true;
    p.overlay().put_user(after);
    draft.changes.push(PlannedChange::new(
        Action::Deleted,
        "user",
        s.id,
        s.username.clone(),
    ));
    draft.ops.push(Op::DeleteUser {
        user: s.id,
        username: s.username.clone(),
        email: s.email().to_string(),
    });
    Ok(Verdict::Done)
}

/// Suspends the account as a users file's `suspended = 1` does: only that field is written,
/// and an account already suspended is unchanged.
pub(super) fn suspend(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    d: &UserRef,
) -> Read<Verdict> {
    let s = match named_account(p, view, d, "suspend")? {
        Ok(s) => s,
        Err(nothing) => return Ok(Verdict::Nothing(nothing)),
    };
    if s.suspended {
        draft.changes.push(PlannedChange::new(
            Action::Unchanged,
            "user",
            s.id,
            s.username.clone(),
        ));
        return Ok(Verdict::Done);
    }
    check_protected(view, &s, false)?;
    let up = UserUpdate {
        user: Some(s.id),
        username: s.username.clone(),
        suspended: Some(true),
        ..Default::default()
    };
    let mut after = s.clone();
    after.suspended = true;
    p.overlay().put_user(after);
    draft.changes.push(
        PlannedChange::new(Action::Updated, "user", s.id, s.username.clone())
            .with_fields(up.written()),
    );
    draft.ops.push(Op::UpdateUser(up));
    Ok(Verdict::Done)
}
