//! Accounts in the embedded store: read for the plan, and written as Moodle's user API writes
//! them (create_user, user_update_user, delete_user's soft delete).

use super::error::RowError;
use super::password;
use crate::command::keys::UserIdentifier;
use crate::command::moodle_rules::clean_username;
use crate::plan::ops::{NewUser, UserUpdate};
use crate::plan::view::UserRec;
use crate::plan::Ref;
use md5::{Digest, Md5};
use rusqlite::{params, types::Value, Connection};
use std::collections::{BTreeMap, HashMap};

/// Moodle's `$CFG->mnet_localhost_id` on a fresh site.
const LOCAL_HOST: i64 = 1;
pub(crate) const GUEST_ID: i64 = 1;
/// `$CFG->siteadmins` on a fresh site.
pub(crate) const ADMIN_IDS: &[i64] = &[2];

/// The account columns read back, then the lookup's condition (whole strings, so the
/// statement cache finds them without building SQL per row).
macro_rules! select_user {
    ($where:literal) => {
        concat!(
            "SELECT id, username, deleted, firstname, lastname, idnumber, email, auth, institution,
             department, city, country, lang, timezone, phone1, phone2, address, description, maildisplay,
             mailformat, suspended FROM mdl_user WHERE ",
            $where
        )
    };
}

// The `+` keeps SQLite from choosing the near-useless index on `deleted` (every live account
// has 0) over the index on the looked-up column: without it each lookup scans the table.
const BY_USERNAME: &str = select_user!("mnethostid = 1 AND username = ?1 AND +deleted = 0");
const BY_IDNUMBER: &str = select_user!("idnumber = ?1 AND +deleted = 0 AND +mnethostid = 1");
const BY_EMAIL: &str =
    select_user!("lower(email) = lower(?1) AND +deleted = 0 AND +mnethostid = 1");
const BY_ID: &str = select_user!("id = ?1 AND +mnethostid = 1");

fn read(r: &rusqlite::Row) -> rusqlite::Result<UserRec> {
    let mut text: [String; 15] = Default::default();
    for (i, t) in text.iter_mut().enumerate() {
        *t = r.get::<_, Option<String>>(3 + i)?.unwrap_or_default();
    }
    Ok(UserRec {
        id: Ref::Id(r.get(0)?),
        username: r.get(1)?,
        deleted: r.get::<_, i64>(2)? != 0,
        text,
        maildisplay: Some(r.get(18)?),
        mailformat: Some(r.get(19)?),
        suspended: r.get::<_, i64>(20)? != 0,
        profile: BTreeMap::new(),
    })
}

/// The accounts whose `by` field is `value`, with their custom profile values.
pub(crate) fn find(
    conn: &Connection,
    by: UserIdentifier,
    value: &str,
) -> Result<Vec<UserRec>, RowError> {
    let (sql, v) = match by {
        UserIdentifier::Username => (BY_USERNAME, Value::Text(value.into())),
        UserIdentifier::Idnumber if value.is_empty() => return Ok(Vec::new()),
        UserIdentifier::Idnumber => (BY_IDNUMBER, Value::Text(value.into())),
        UserIdentifier::Email if value.is_empty() => return Ok(Vec::new()),
        UserIdentifier::Email => (BY_EMAIL, Value::Text(value.into())),
        UserIdentifier::Id => match value.trim().parse::<i64>() {
            Ok(id) => (BY_ID, Value::Integer(id)),
            Err(_) => return Ok(Vec::new()),
        },
    };
    let mut found: Vec<UserRec> = conn
        .prepare_cached(sql)?
        .query_map([v], read)?
        .collect::<Result<_, _>>()?;
    for rec in &mut found {
        let Ref::Id(id) = rec.id else { continue };
        let mut stmt = conn.prepare_cached(
            "SELECT f.shortname, d.data FROM mdl_user_info_data d JOIN mdl_user_info_field f ON f.id = d.fieldid
             WHERE d.userid = ?1",
        )?;
        for pair in stmt.query_map([id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })? {
            let (k, v) = pair?;
            rec.profile.insert(k, v);
        }
    }
    Ok(found)
}

/// The ids of the live accounts whose `by` field is `value` (`SiteView::user_ids`): the
/// lookup of `find` without building the accounts.
pub(crate) fn find_ids(
    conn: &Connection,
    by: UserIdentifier,
    value: &str,
) -> Result<Vec<Ref>, RowError> {
    let (sql, v) = match by {
        UserIdentifier::Username => (IDS_BY_USERNAME, Value::Text(value.into())),
        UserIdentifier::Idnumber if value.is_empty() => return Ok(Vec::new()),
        UserIdentifier::Idnumber => (IDS_BY_IDNUMBER, Value::Text(value.into())),
        UserIdentifier::Email if value.is_empty() => return Ok(Vec::new()),
        UserIdentifier::Email => (IDS_BY_EMAIL, Value::Text(value.into())),
        UserIdentifier::Id => match value.trim().parse::<i64>() {
            Ok(id) => (IDS_BY_ID, Value::Integer(id)),
            Err(_) => return Ok(Vec::new()),
        },
    };
    Ok(conn
        .prepare_cached(sql)?
        .query_map([v], |r| Ok(Ref::Id(r.get(0)?)))?
        .collect::<Result<_, _>>()?)
}

const IDS_BY_USERNAME: &str =
    "SELECT id FROM mdl_user WHERE mnethostid = 1 AND username = ?1 AND +deleted = 0 ORDER BY id";
const IDS_BY_IDNUMBER: &str =
    "SELECT id FROM mdl_user WHERE idnumber = ?1 AND +deleted = 0 AND +mnethostid = 1 ORDER BY id";
const IDS_BY_EMAIL: &str =
    "SELECT id FROM mdl_user WHERE lower(email) = lower(?1) AND +deleted = 0 AND +mnethostid = 1 ORDER BY id";
const IDS_BY_ID: &str =
    "SELECT id FROM mdl_user WHERE id = ?1 AND +mnethostid = 1 AND +deleted = 0";

/// `find_ids` for many values of one field at once (a batch read ahead): each value's ids,
/// in the order of `values`, compared as `find_ids`'s statements compare them.
pub(crate) fn find_ids_many(
    conn: &Connection,
    by: UserIdentifier,
    values: &[String],
) -> Result<Vec<Vec<Ref>>, RowError> {
    // What a value finds and an account holds, compared as `find`'s statement compares them:
    // e-mail addresses by SQLite's lower(), which folds ASCII letters only; ids as numbers.
    let key = |v: &str| -> Option<String> {
        match by {
            UserIdentifier::Idnumber | UserIdentifier::Email if v.is_empty() => None,
            UserIdentifier::Username | UserIdentifier::Idnumber => Some(v.to_string()),
            UserIdentifier::Email => Some(v.to_ascii_lowercase()),
            UserIdentifier::Id => v.trim().parse::<i64>().ok().map(|id| id.to_string()),
        }
    };
    let mut keys: Vec<String> = values.iter().filter_map(|v| key(v)).collect();
    keys.sort_unstable();
    keys.dedup();
    let bound: Vec<Value> = keys
        .into_iter()
        .map(|k| match by {
            UserIdentifier::Id => Value::Integer(k.parse().unwrap_or(0)),
            _ => Value::Text(k),
        })
        .collect();
    let list = super::ahead::placeholders();
    let sql = match by {
        UserIdentifier::Username => format!(
            "SELECT id, username FROM mdl_user WHERE mnethostid = 1 AND username IN ({list}) AND +deleted = 0"
        ),
        UserIdentifier::Idnumber => format!(
            "SELECT id, idnumber FROM mdl_user WHERE idnumber IN ({list}) AND +deleted = 0 AND +mnethostid = 1"
        ),
        UserIdentifier::Email => format!(
            "SELECT id, lower(email) FROM mdl_user WHERE lower(email) IN ({list}) AND +deleted = 0 AND +mnethostid = 1"
        ),
        UserIdentifier::Id => format!(
            "SELECT id, CAST(id AS TEXT) FROM mdl_user WHERE id IN ({list}) AND +mnethostid = 1 AND +deleted = 0"
        ),
    };
    let mut found: Vec<(i64, String)> = Vec::new();
    super::ahead::chunked(&bound, |part| {
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(part))?;
        while let Some(r) = rows.next()? {
            found.push((
                r.get(0)?,
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            ));
        }
        Ok(())
    })?;
    found.sort_unstable();
    let mut by_key: HashMap<String, Vec<Ref>> = HashMap::new();
    for (id, held) in found {
        by_key.entry(held).or_default().push(Ref::Id(id));
    }
    Ok(values
        .iter()
        .map(|v| {
            key(v)
                .and_then(|k| by_key.get(&k).cloned())
                .unwrap_or_default()
        })
        .collect())
}

/// Whether `plain` is the account's password.
pub(crate) fn password_matches(
    conn: &Connection,
    user: i64,
    plain: &str,
) -> Result<bool, RowError> {
    let stored: String = conn
        .prepare_cached("SELECT password FROM mdl_user WHERE id = ?1")?
        .query_row([user], |r| r.get(0))?;
    Ok(password::matches(plain, &stored))
}

/// Writes the profile values given, by field id.
fn save_profile(
    conn: &Connection,
    fields: &HashMap<String, i64>,
    userid: i64,
    values: impl Iterator<Item = (String, String)>,
) -> Result<(), RowError> {
    for (name, value) in values {
        let Some(fieldid) = fields.get(&name) else {
            // The plan checked the shortnames against the same list.
            continue;
        };
        conn.prepare_cached(
            "INSERT INTO mdl_user_info_data (userid, fieldid, data, dataformat) VALUES (?1, ?2, ?3, 0)
             ON CONFLICT (userid, fieldid) DO UPDATE SET data = excluded.data",
        )?
        .execute(params![userid, fieldid, value])?;
    }
    Ok(())
}

/// create_user: the account, its context, its profile values. `hash` is the password's.
pub(crate) fn create(
    conn: &Connection,
    fields: &HashMap<String, i64>,
    u: &NewUser,
    hash: Option<&str>,
    now: i64,
) -> Result<i64, RowError> {
    let t = |name: &str| u.field(name).to_string();
    conn.prepare_cached(
        "INSERT INTO mdl_user (auth, confirmed, mnethostid, username, password, idnumber, firstname, lastname, email,
            phone1, phone2, institution, department, address, city, country, lang, timezone, description,
            maildisplay, mailformat, suspended, timecreated, timemodified)
         VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?22)",
    )?
    .execute(params![
        t("auth"),
        LOCAL_HOST,
        u.username,
        // No password: a manual account cannot log in until one is set.
        hash.unwrap_or(""),
        t("idnumber"),
        t("firstname"),
        t("lastname"),
        t("email"),
        t("phone1"),
        t("phone2"),
        t("institution"),
        t("department"),
        t("address"),
        t("city"),
        t("country"),
        t("lang"),
        t("timezone"),
        Some(t("description")).filter(|d| !d.is_empty()),
        u.maildisplay,
        u.mailformat,
        u.suspended as i64,
        now,
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
    save_profile(conn, fields, id, u.profile.clone().into_iter())?;
    Ok(id)
}

/// user_update_user: the columns the update changes, and its profile values.
pub(crate) fn update(
    conn: &Connection,
    fields: &HashMap<String, i64>,
    id: i64,
    u: &UserUpdate,
    hash: Option<&str>,
    now: i64,
) -> Result<(), RowError> {
    let mut cols: Vec<&str> = Vec::new();
    let mut vals: Vec<Value> = Vec::new();
    if let Some(name) = &u.new_username {
        cols.push("username");
        vals.push(Value::Text(name.clone()));
    }
    for (col, v) in &u.text {
        cols.push(col);
        vals.push(Value::Text(v.clone()));
    }
    for (col, v) in [("maildisplay", u.maildisplay), ("mailformat", u.mailformat)] {
        if let Some(v) = v {
            cols.push(col);
            vals.push(Value::Integer(v));
        }
    }
    if let Some(s) = u.suspended {
        cols.push("suspended");
        vals.push(Value::Integer(s as i64));
    }
    if let Some(h) = hash {
        cols.push("password");
        vals.push(Value::Text(h.to_string()));
    }
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
        vals.push(Value::Integer(now));
        vals.push(Value::Integer(id));
        conn.prepare_cached(&sql)?
            .execute(rusqlite::params_from_iter(vals))?;
    }
    save_profile(conn, fields, id, u.profile.clone().into_iter())
}

/// Moodle's delete_user (lib/moodlelib.php): memberships, enrolments, roles, profile data and
/// files go; the row stays with a freed username, email and idnumber.
pub(crate) fn soft_delete(
    conn: &Connection,
    now: i64,
    id: i64,
    username: &str,
    email: &str,
) -> Result<(), RowError> {
    for sql in [
        "DELETE FROM mdl_role_assignments WHERE userid = ?1",
        "DELETE FROM mdl_user_enrolments WHERE userid = ?1",
        "DELETE FROM mdl_cohort_members WHERE userid = ?1",
        "DELETE FROM mdl_groups_members WHERE userid = ?1",
        "DELETE FROM mdl_user_info_data WHERE userid = ?1",
        "DELETE FROM mdl_user_preferences WHERE userid = ?1",
        "DELETE FROM mdl_files WHERE contextid IN (SELECT id FROM mdl_context WHERE contextlevel = 30 AND instanceid = ?1)",
    ] {
        conn.prepare_cached(sql)?.execute([id])?;
    }
    let base = if email.is_empty() {
        format!("{username}.{id}@unknownemail.invalid")
    } else {
        email.to_string()
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
    let hashed_name = format!("{:x}", Md5::digest(username.as_bytes()));
    conn.prepare_cached("UPDATE mdl_user SET deleted = 1, username = ?1, email = ?2, idnumber = '', picture = 0, timemodified = ?3 WHERE id = ?4")?
        .execute(params![new_username, hashed_name, now, id])?;
    Ok(())
}
