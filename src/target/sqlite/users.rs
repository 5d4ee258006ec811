//! Users in the embedded store: find by the configured identifier, create, update only the
//! columns given, rename, and soft-delete exactly as Moodle's delete_user does.

use super::error::{row, RowError};
use super::{password, Ctx};
use crate::codes::Code;
use crate::command::moodle_rules::clean_username;
use crate::command::{UserDelete, UserFields, USER_TEXT_FIELDS};
use crate::config::UserIdentifier;
use crate::outcome::{Action, Change};
use md5::{Digest, Md5};
use rusqlite::{params, types::Value, Connection, OptionalExtension};

/// Moodle's `$CFG->mnet_localhost_id` on a fresh site.
const LOCAL_HOST: i64 = 1;
const GUEST_ID: i64 = 1;
/// `$CFG->siteadmins` on a fresh site.
const ADMIN_IDS: &[i64] = &[2];

/// The account columns read back, then the lookup's condition (whole strings, so the
/// statement cache finds them without building SQL per row).
macro_rules! select_user {
    ($where:literal) => {
        concat!(
            "SELECT id, username, deleted, password, firstname, lastname, idnumber, email, auth, institution,
             department, city, country, lang, timezone, phone1, phone2, address, description, maildisplay,
             mailformat, suspended FROM mdl_user WHERE ",
            $where
        )
    };
}

// The `+` keeps SQLite from choosing the near-useless index on `deleted` (every live account
// has 0) over the index on the looked-up column: without it each lookup scans the table.
const BY_USERNAME: &str = select_user!("mnethostid = 1 AND username = ?1");
const BY_IDNUMBER: &str = select_user!("idnumber = ?1 AND +deleted = 0 AND +mnethostid = 1");
const BY_EMAIL: &str =
    select_user!("lower(email) = lower(?1) AND +deleted = 0 AND +mnethostid = 1");
const BY_ID: &str = select_user!("id = ?1 AND +deleted = 0 AND +mnethostid = 1");

struct Stored {
    id: i64,
    username: String,
    deleted: bool,
    password: String,
    text: [String; 15],
    maildisplay: i64,
    mailformat: i64,
    suspended: bool,
}

fn read_stored(r: &rusqlite::Row) -> rusqlite::Result<Stored> {
    let mut text: [String; 15] = Default::default();
    for (i, t) in text.iter_mut().enumerate() {
        *t = r.get::<_, Option<String>>(4 + i)?.unwrap_or_default();
    }
    Ok(Stored {
        id: r.get(0)?,
        username: r.get(1)?,
        deleted: r.get::<_, i64>(2)? != 0,
        password: r.get(3)?,
        text,
        maildisplay: r.get(19)?,
        mailformat: r.get(20)?,
        suspended: r.get::<_, i64>(21)? != 0,
    })
}

fn find_where(conn: &Connection, sql: &str, value: Value) -> Result<Vec<Stored>, RowError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([value], read_stored)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Whether `find` looks the account up by username: the identifier is username, or the row
/// has no value for the configured one (tool_sync's fall-back).
fn finds_by_username(
    ident: UserIdentifier,
    idnumber: Option<&str>,
    email: Option<&str>,
    id: Option<i64>,
) -> bool {
    match ident {
        UserIdentifier::Username => true,
        UserIdentifier::Idnumber => idnumber.is_none_or(str::is_empty),
        UserIdentifier::Email => email.is_none_or(str::is_empty),
        UserIdentifier::Id => id.is_none(),
    }
}

/// Finds the account for the configured identifier; falls back to the username when the row
/// has no value for it (as tool_sync did).
fn find(
    conn: &Connection,
    ident: UserIdentifier,
    username: &str,
    idnumber: Option<&str>,
    email: Option<&str>,
    id: Option<i64>,
) -> Result<Option<Stored>, RowError> {
    let found = match (ident, idnumber, email, id) {
        (UserIdentifier::Idnumber, Some(v), _, _) if !v.is_empty() => {
            find_where(conn, BY_IDNUMBER, Value::Text(v.into()))?
        }
        (UserIdentifier::Email, _, Some(v), _) if !v.is_empty() => {
            find_where(conn, BY_EMAIL, Value::Text(v.into()))?
        }
        (UserIdentifier::Id, _, _, Some(v)) => find_where(conn, BY_ID, Value::Integer(v))?,
        _ => find_where(conn, BY_USERNAME, Value::Text(username.into()))?,
    };
    if found.len() > 1 {
        let ids: Vec<String> = found
            .iter()
            .map(|s| format!("{} ({})", s.id, s.username))
            .collect();
        return Err(row(
            Code::AmbiguousMatch,
            format!("{} accounts match this row's {}: ids {}; make the value unique or change [users] identifier", found.len(), ident.column(), ids.join(", ")),
        ));
    }
    Ok(found.into_iter().next())
}

/// "account id 4 (jdoe, jdoe@example.edu)": how messages name another account.
fn account_label(id: i64, username: &str, email: &str) -> String {
    if email.is_empty() {
        format!("account id {id} ({username})")
    } else {
        format!("account id {id} ({username}, {email})")
    }
}

fn describe(s: &Stored) -> String {
    account_label(s.id, &s.username, &s.text[3])
}

// Collision probes read only what a message needs.
const OTHER_BY_USERNAME: &str =
    "SELECT id, username, email FROM mdl_user WHERE mnethostid = 1 AND username = ?1 AND id <> ?2 LIMIT 1";
const OTHER_BY_EMAIL: &str = "SELECT id, username, email FROM mdl_user
    WHERE lower(email) = lower(?1) AND +deleted = 0 AND +mnethostid = 1 AND id <> ?2 LIMIT 1";
const OTHER_BY_IDNUMBER: &str = "SELECT id, username, email FROM mdl_user
    WHERE idnumber = ?1 AND +deleted = 0 AND +mnethostid = 1 AND id <> ?2 LIMIT 1";

/// The label of the other account holding `value`, if any.
fn other_account(
    conn: &Connection,
    sql: &str,
    value: &str,
    except: i64,
) -> Result<Option<String>, RowError> {
    let found = conn
        .prepare_cached(sql)?
        .query_row(params![value, except], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    Ok(found.map(|(id, username, email)| account_label(id, &username, &email)))
}

/// Fails when another live account (not `except`) already has this username, email or idnumber.
fn check_collisions(
    conn: &Connection,
    except: i64,
    username: Option<&str>,
    email: Option<&str>,
    idnumber: Option<&str>,
) -> Result<(), RowError> {
    if let Some(u) = username {
        if let Some(other) = other_account(conn, OTHER_BY_USERNAME, u, except)? {
            return Err(row(
                Code::CollisionUsername,
                format!("username '{u}' already belongs to {other}; choose another username or match that account"),
            ));
        }
    }
    if let Some(e) = email.filter(|e| !e.is_empty()) {
        if let Some(other) = other_account(conn, OTHER_BY_EMAIL, e, except)? {
            return Err(row(
                Code::CollisionEmail,
                format!("email '{e}' already belongs to {other}; Moodle keeps emails unique"),
            ));
        }
    }
    if let Some(i) = idnumber.filter(|i| !i.is_empty()) {
        if let Some(other) = other_account(conn, OTHER_BY_IDNUMBER, i, except)? {
            return Err(row(
                Code::CollisionIdnumber,
                format!("idnumber '{i}' already belongs to {other}"),
            ));
        }
    }
    Ok(())
}

fn profile_ids(ctx: &Ctx, u: &UserFields) -> Result<Vec<(i64, String)>, RowError> {
    let mut out = Vec::with_capacity(u.profile.len());
    for (name, value) in &u.profile {
        match ctx.profile_fields.get(name) {
            Some(id) => out.push((*id, value.clone())),
            None => {
                let mut known: Vec<&String> = ctx.profile_fields.keys().collect();
                known.sort();
                return Err(row(
                    Code::UnknownProfileField,
                    format!("no custom profile field has shortname '{name}' (known: {}); create it in Moodle, or list it in [embedded] profile_fields", known.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")),
                ));
            }
        }
    }
    Ok(out)
}

/// Writes profile values that differ; returns the names of those written.
fn save_profile(
    conn: &Connection,
    userid: i64,
    values: &[(i64, String)],
    u: &UserFields,
    known_new: bool,
) -> Result<Vec<String>, RowError> {
    let mut changed = Vec::new();
    for ((fieldid, value), name) in values.iter().zip(u.profile.keys()) {
        if !known_new {
            let current: Option<String> = conn
                .prepare_cached(
                    "SELECT data FROM mdl_user_info_data WHERE userid = ?1 AND fieldid = ?2",
                )?
                .query_row(params![userid, fieldid], |r| r.get(0))
                .optional()?;
            if current.as_deref() == Some(value.as_str()) || (current.is_none() && value.is_empty())
            {
                continue;
            }
        }
        conn.prepare_cached(
            "INSERT INTO mdl_user_info_data (userid, fieldid, data, dataformat) VALUES (?1, ?2, ?3, 0)
             ON CONFLICT (userid, fieldid) DO UPDATE SET data = excluded.data",
        )?
        .execute(params![userid, fieldid, value])?;
        changed.push(format!("profile_field_{name}"));
    }
    Ok(changed)
}

pub(crate) fn upsert(
    conn: &Connection,
    ctx: &Ctx,
    u: &mut UserFields,
) -> Result<Vec<Change>, RowError> {
    let profile = profile_ids(ctx, u)?;
    let mut changes = Vec::new();
    let existing = match u
        .oldusername
        .as_deref()
        .filter(|o| !o.is_empty() && *o != u.username)
    {
        Some(old) => rename_source(conn, ctx, old, &u.username)?,
        None => find(
            conn,
            ctx.users.identifier,
            &u.username,
            u.idnumber.as_deref(),
            u.email.as_deref(),
            u.id,
        )?,
    };
    match existing {
        Some(s) => {
            // Found by oldusername, or by an identifier other than the username: a new username
            // is a rename either way, and the setting governs both.
            if s.username != u.username {
                if !ctx.users.allow_rename {
                    return Err(row(
                        Code::InvalidValue,
                        format!("the row would rename '{}' to '{}' but renaming is off ([users] allow_rename = false)", s.username, u.username),
                    ));
                }
                changes.push(Change {
                    action: Action::Renamed,
                    entity: "user",
                    id: s.id,
                    label: format!("{} -> {}", s.username, u.username),
                    fields: vec![],
                });
            }
            changes.push(update(conn, ctx, u, s, &profile)?);
        }
        None if ctx.users.identifier == UserIdentifier::Id && u.id.is_some() => {
            return Err(row(
                Code::NotFound,
                format!("no account has id {}; with [users] identifier = \"id\" rows update existing accounts only", u.id.unwrap_or(0)),
            ));
        }
        None => {
            let username_free = finds_by_username(
                ctx.users.identifier,
                u.idnumber.as_deref(),
                u.email.as_deref(),
                u.id,
            );
            changes.push(create(conn, ctx, u, &profile, username_free)?)
        }
    }
    Ok(changes)
}

/// The account an `oldusername` names. A row replayed after its rename went through finds the
/// account under its new name and goes on as an update.
fn rename_source(
    conn: &Connection,
    ctx: &Ctx,
    old: &str,
    new: &str,
) -> Result<Option<Stored>, RowError> {
    if !ctx.users.allow_rename {
        return Err(row(Code::InvalidValue, format!("the row renames '{old}' to '{new}' but renaming is off ([users] allow_rename = false)")));
    }
    if let Some(s) = find_where(conn, BY_USERNAME, Value::Text(old.into()))?
        .into_iter()
        .next()
    {
        return Ok(Some(s));
    }
    if let Some(s) = find_where(conn, BY_USERNAME, Value::Text(new.into()))?
        .into_iter()
        .next()
    {
        return Ok(Some(s));
    }
    Err(row(
        Code::RenameSourceMissing,
        format!("no account has the old username '{old}' to rename to '{new}'; check oldusername"),
    ))
}

fn update(
    conn: &Connection,
    ctx: &Ctx,
    u: &UserFields,
    s: Stored,
    profile: &[(i64, String)],
) -> Result<Change, RowError> {
    if s.deleted {
        return Err(row(Code::NotFound, format!("{} was deleted; Moodle does not revive deleted accounts, so create a new one (without the id)", describe(&s))));
    }
    if s.id == GUEST_ID || ADMIN_IDS.contains(&s.id) {
        return Err(row(
            Code::ProtectedAccount,
            format!(
                "{} is the site's {} account; moosync does not change it",
                describe(&s),
                if s.id == GUEST_ID { "guest" } else { "admin" }
            ),
        ));
    }
    let mut cols: Vec<&str> = Vec::new();
    let mut vals: Vec<Value> = Vec::new();
    let username_changes = s.username != u.username;
    if username_changes {
        cols.push("username");
        vals.push(Value::Text(u.username.clone()));
    }
    for ((col, new), old) in USER_TEXT_FIELDS.iter().zip(u.text_values()).zip(&s.text) {
        if let Some(v) = new {
            if v != old {
                cols.push(col);
                vals.push(Value::Text(v.clone()));
            }
        }
    }
    let email_changes = cols.contains(&"email");
    let idnumber_changes = cols.contains(&"idnumber");
    if username_changes || email_changes || idnumber_changes {
        check_collisions(
            conn,
            s.id,
            username_changes.then_some(u.username.as_str()),
            // A change of case only is not a change of address.
            u.email
                .as_deref()
                .filter(|e| email_changes && !e.eq_ignore_ascii_case(&s.text[3])),
            u.idnumber.as_deref().filter(|_| idnumber_changes),
        )?;
    }
    for (col, new, old) in [
        ("maildisplay", u.maildisplay, s.maildisplay),
        ("mailformat", u.mailformat, s.mailformat),
    ] {
        if let Some(v) = new.filter(|v| *v != old) {
            cols.push(col);
            vals.push(Value::Integer(v));
        }
    }
    if let Some(v) = u.suspended.filter(|v| *v != s.suspended) {
        cols.push("suspended");
        vals.push(Value::Integer(v as i64));
    }
    // An empty password cell leaves the password as it is; the same password is not rehashed.
    if let Some(p) = u.password.as_deref().filter(|p| !p.is_empty()) {
        if !password::matches(p, &s.password) {
            cols.push("password");
            vals.push(Value::Text(
                u.password_hash.clone().unwrap_or_else(|| password::hash(p)),
            ));
        }
    }
    let mut fields: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
    if !cols.is_empty() {
        let sets: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ?{}", i + 1))
            .collect();
        let sql = format!(
            "UPDATE mdl_user SET {}, timemodified = ?{} WHERE id = ?{}",
            sets.join(", "),
            cols.len() + 1,
            cols.len() + 2
        );
        vals.push(Value::Integer(ctx.now));
        vals.push(Value::Integer(s.id));
        conn.prepare_cached(&sql)?
            .execute(rusqlite::params_from_iter(vals))?;
    }
    fields.extend(save_profile(conn, s.id, profile, u, false)?);
    let action = if fields.is_empty() {
        Action::Unchanged
    } else {
        Action::Updated
    };
    Ok(Change {
        action,
        entity: "user",
        id: s.id,
        label: u.username.clone(),
        fields,
    })
}

fn create(
    conn: &Connection,
    ctx: &Ctx,
    u: &UserFields,
    profile: &[(i64, String)],
    username_free: bool,
) -> Result<Change, RowError> {
    let required = |v: &Option<String>, name: &str| -> Result<String, RowError> {
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
    check_collisions(
        conn,
        0,
        // A lookup by username that found nothing has already checked it.
        (!username_free).then_some(u.username.as_str()),
        u.email.as_deref(),
        u.idnumber.as_deref(),
    )?;
    let d = &ctx.users;
    let or = |v: &Option<String>, default: &str| v.clone().unwrap_or_else(|| default.to_string());
    let password = match u.password.as_deref() {
        Some(p) if !p.is_empty() => u.password_hash.clone().unwrap_or_else(|| password::hash(p)),
        // No password: a manual account cannot log in until one is set.
        _ => String::new(),
    };
    conn.prepare_cached(
        "INSERT INTO mdl_user (auth, confirmed, mnethostid, username, password, idnumber, firstname, lastname, email,
            phone1, phone2, institution, department, address, city, country, lang, timezone, description,
            maildisplay, mailformat, suspended, timecreated, timemodified)
         VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?22)",
    )?
    .execute(params![
        or(&u.auth, &d.default_auth),
        LOCAL_HOST,
        u.username,
        password,
        or(&u.idnumber, ""),
        firstname,
        lastname,
        or(&u.email, ""),
        or(&u.phone1, ""),
        or(&u.phone2, ""),
        or(&u.institution, ""),
        or(&u.department, ""),
        or(&u.address, ""),
        or(&u.city, &d.default_city),
        or(&u.country, &d.default_country),
        or(&u.lang, &d.default_lang),
        or(&u.timezone, &d.default_timezone),
        u.description,
        u.maildisplay.unwrap_or(2),
        u.mailformat.unwrap_or(1),
        u.suspended.unwrap_or(false) as i64,
        ctx.now,
    ])?;
    let id = conn.last_insert_rowid();
    // The user context sits under the system context: path /1/<contextid>, depth 2.
    // The id the insert takes is the table's sequence + 1 (AUTOINCREMENT, one writer), so the
    // path is written at once instead of by a second statement.
    conn.prepare_cached(
        "INSERT INTO mdl_context (contextlevel, instanceid, depth, path)
         VALUES (30, ?1, 2, '/1/' || (SELECT seq + 1 FROM sqlite_sequence WHERE name = 'mdl_context'))",
    )?
    .execute([id])?;
    save_profile(conn, id, profile, u, true)?;
    Ok(Change {
        action: Action::Created,
        entity: "user",
        id,
        label: u.username.clone(),
        fields: vec![],
    })
}

pub(crate) fn delete(
    conn: &Connection,
    ctx: &Ctx,
    d: &UserDelete,
) -> Result<Vec<Change>, RowError> {
    if !ctx.users.allow_delete {
        return Err(row(
            Code::InvalidValue,
            "the row deletes an account but deleting is off ([users] allow_delete = false)".into(),
        ));
    }
    let username = d.username.clone().unwrap_or_default();
    let key = match ctx.users.identifier {
        UserIdentifier::Idnumber if d.idnumber.as_deref().is_some_and(|v| !v.is_empty()) => {
            format!("idnumber '{}'", d.idnumber.as_deref().unwrap_or(""))
        }
        UserIdentifier::Email if d.email.as_deref().is_some_and(|v| !v.is_empty()) => {
            format!("email '{}'", d.email.as_deref().unwrap_or(""))
        }
        UserIdentifier::Id if d.id.is_some() => format!("id {}", d.id.unwrap_or(0)),
        _ => format!("username '{username}'"),
    };
    if username.is_empty() && key.starts_with("username") {
        return Err(row(
            Code::MissingValue,
            format!(
                "the row deletes an account but gives no {}",
                ctx.users.identifier.column()
            ),
        ));
    }
    let Some(s) = find(
        conn,
        ctx.users.identifier,
        &username,
        d.idnumber.as_deref(),
        d.email.as_deref(),
        d.id,
    )?
    else {
        // A feed that keeps listing a departed account must not fail every day: nothing to do.
        return Err(RowError::Nothing(format!(
            "no account with {key} to delete (already deleted, or never created)"
        )));
    };
    if s.deleted {
        return Err(RowError::Nothing(format!(
            "{} is already deleted",
            describe(&s)
        )));
    }
    if s.id == GUEST_ID || ADMIN_IDS.contains(&s.id) {
        return Err(row(
            Code::ProtectedAccount,
            format!(
                "{} cannot be deleted: Moodle refuses to delete the guest and admin accounts",
                describe(&s)
            ),
        ));
    }
    soft_delete(conn, ctx.now, &s)?;
    Ok(vec![Change {
        action: Action::Deleted,
        entity: "user",
        id: s.id,
        label: s.username.clone(),
        fields: vec![],
    }])
}

/// Moodle's delete_user (lib/moodlelib.php): memberships, enrolments, roles, profile data and
/// files go; the row stays with a freed username, email and idnumber.
fn soft_delete(conn: &Connection, now: i64, s: &Stored) -> Result<(), RowError> {
    for sql in [
        "DELETE FROM mdl_role_assignments WHERE userid = ?1",
        "DELETE FROM mdl_user_enrolments WHERE userid = ?1",
        "DELETE FROM mdl_cohort_members WHERE userid = ?1",
        "DELETE FROM mdl_groups_members WHERE userid = ?1",
        "DELETE FROM mdl_user_info_data WHERE userid = ?1",
        "DELETE FROM mdl_user_preferences WHERE userid = ?1",
        "DELETE FROM mdl_files WHERE contextid IN (SELECT id FROM mdl_context WHERE contextlevel = 30 AND instanceid = ?1)",
    ] {
        conn.prepare_cached(sql)?.execute([s.id])?;
    }
    let email = &s.text[3];
    let base = if email.is_empty() {
        format!("{}.{}@unknownemail.invalid", s.username, s.id)
    } else {
        email.clone()
    };
    let base = clean_username(&base);
    let mut stamp = now;
    let new_username = loop {
        let suffix = format!(".{stamp}");
        let keep = 100usize.saturating_sub(suffix.len());
        let candidate = format!("{}{suffix}", base.chars().take(keep).collect::<String>());
        let taken: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM mdl_user WHERE mnethostid = 1 AND username = ?1)",
            )?
            .query_row([&candidate], |r| r.get(0))?;
        if !taken {
            break candidate;
        }
        stamp += 1;
    };
    let hashed_name = format!("{:x}", Md5::digest(s.username.as_bytes()));
    conn.prepare_cached("UPDATE mdl_user SET deleted = 1, username = ?1, email = ?2, idnumber = '', picture = 0, timemodified = ?3 WHERE id = ?4")?
        .execute(params![new_username, hashed_name, now, s.id])?;
    Ok(())
}
