//! User pictures as Moodle stores them (lib/gdlib.php process_new_icon): f1, f2 and f3 in the
//! user context's `user/icon` area, content-addressed under `filedir/` beside the database,
//! and `mdl_user.picture` = the id of f1. The MD5 of the image as fed is kept in tool_sync's
//! hidden `userpicturehash` profile field, so an unchanged image is skipped next time.

use super::error::{row, RowError};
use super::lookup::{context_of, inconsistent, user_id};
use super::Ctx;
use crate::codes::{Code, Failure};
use crate::command::{Command, UserPicture};
use crate::outcome::{Action, Change};
use crate::pictures::avatar::{self, Avatar, ImageLimits};
use rayon::prelude::*;
use rusqlite::{params, Connection};
use sha1::{Digest, Sha1};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const CONTEXT_USER: i64 = 30;
pub(crate) const HASH_FIELD: &str = "userpicturehash";
/// sha1 of no bytes: the content hash of a file area's directory row.
const EMPTY_SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";

fn sha1_hex(bytes: &[u8]) -> String {
    Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn limits(ctx: &Ctx) -> ImageLimits {
    ImageLimits {
        max_side: ctx.pictures.max_side,
        max_pixels: ctx.pictures.max_megapixels.saturating_mul(1_000_000),
    }
}

/// The user the picture is for, when the image is wanted: an image whose MD5 is the one last
/// fed (and still in place) is skipped, and so is any image for a user who has a picture when
/// overwriting is off.
fn wanted_for(conn: &Connection, ctx: &Ctx, p: &UserPicture) -> Result<i64, RowError> {
    let field = p.user_by.unwrap_or(ctx.pictures.user_identifier);
    let user = user_id(conn, field, &p.user)?;
    let hash_field = ctx.profile_fields.get(HASH_FIELD).copied().unwrap_or(0);
    let (picture, hash): (i64, Option<String>) = conn
        .prepare_cached(
            "SELECT u.picture, d.data FROM mdl_user u
             LEFT JOIN mdl_user_info_data d ON d.userid = u.id AND d.fieldid = ?2
             WHERE u.id = ?1",
        )?
        .query_row(params![user, hash_field], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if picture != 0 && hash.as_deref() == Some(p.attached.md5.as_str()) {
        return Err(RowError::Nothing(format!(
            "{}: the image is the one fed last time (same MD5); nothing to do",
            p.user
        )));
    }
    if picture != 0 && !p.overwrite.unwrap_or(ctx.pictures.overwrite) {
        return Err(RowError::Nothing(format!(
            "{} already has a picture and [pictures] overwrite is off",
            p.user
        )));
    }
    Ok(user)
}

/// Renders, on every core, the avatars of a batch's images that the store will want: decoding
/// and resizing are most of a picture's cost, and an unchanged image is never decoded.
pub(crate) fn render_wanted(conn: &Connection, ctx: &Ctx, rows: &mut [Vec<Command>]) {
    let mut wanted: Vec<&mut UserPicture> = rows
        .iter_mut()
        .flat_map(|cmds| cmds.iter_mut())
        .filter_map(|c| match c {
            Command::UserPicture(p) if p.attached.image.is_some() => Some(p),
            _ => None,
        })
        .filter(|p| wanted_for(conn, ctx, p).is_ok())
        .collect();
    let limits = limits(ctx);
    // The images decoded at once take, by what their headers declare, at most the decode
    // budget together: a batch of large photos stays within moosync's memory. One image over
    // it alone is refused by `render` before decoding.
    let mut rest = wanted.as_mut_slice();
    while !rest.is_empty() {
        let mut sum = 0u64;
        let mut take = 0;
        for p in rest.iter() {
            let cost = p
                .attached
                .image
                .as_deref()
                .and_then(|i| avatar::declared_cost(i))
                .unwrap_or(0);
            if take > 0 && sum.saturating_add(cost) > avatar::DECODE_BUDGET {
                break;
            }
            sum = sum.saturating_add(cost);
            take += 1;
        }
        let (now, later) = rest.split_at_mut(take);
        now.par_iter_mut().for_each(|p| {
            if let Some(image) = &p.attached.image {
                p.attached.rendered = Some(avatar::render(image, &limits).map(Arc::new));
            }
        });
        rest = later;
    }
}

pub(crate) fn apply(
    conn: &Connection,
    ctx: &Ctx,
    p: &UserPicture,
) -> Result<Vec<Change>, RowError> {
    let Some(image) = &p.attached.image else {
        return Err(row(
            Code::MissingValue,
            "no image: user_picture commands come from a picture archive's entries".into(),
        ));
    };
    // What is not an image says so before anything about its user.
    avatar::format_of(image)?;
    let user = wanted_for(conn, ctx, p)?;
    let avatar = match &p.attached.rendered {
        Some(Ok(a)) => a.clone(),
        Some(Err(f)) => return Err(RowError::Row(f.clone())),
        None => Arc::new(avatar::render(image, &limits(ctx))?),
    };
    let context = context_of(conn, CONTEXT_USER, user)?
        .ok_or_else(|| inconsistent(format!("user {user} has no context row")))?;
    let had: i64 = conn
        .prepare_cached("SELECT picture FROM mdl_user WHERE id = ?1")?
        .query_row([user], |r| r.get(0))?;
    let f1 = store_icon(conn, ctx, context.id, &avatar)?;
    conn.prepare_cached("UPDATE mdl_user SET picture = ?2, timemodified = ?3 WHERE id = ?1")?
        .execute(params![user, f1, ctx.now])?;
    if let Some(field) = ctx.profile_fields.get(HASH_FIELD) {
        conn.prepare_cached(
            "INSERT INTO mdl_user_info_data (userid, fieldid, data, dataformat) VALUES (?1, ?2, ?3, 0)
             ON CONFLICT (userid, fieldid) DO UPDATE SET data = excluded.data",
        )?
        .execute(params![user, field, p.attached.md5])?;
    }
    let ext = avatar.extension();
    Ok(vec![Change {
        action: if had == 0 {
            Action::Created
        } else {
            Action::Updated
        },
        entity: "picture",
        id: user,
        label: p.user.clone(),
        fields: vec![format!("f1.{ext}, f2.{ext}, f3.{ext}")],
    }])
}

/// Replaces the user's icon area with the avatar's files; returns the id of f1.
fn store_icon(
    conn: &Connection,
    ctx: &Ctx,
    contextid: i64,
    avatar: &Avatar,
) -> Result<i64, RowError> {
    let ext = avatar.extension();
    let files = [
        (format!("f1.{ext}"), &avatar.f1),
        (format!("f2.{ext}"), &avatar.f2),
        (format!("f3.{ext}"), &avatar.f3),
    ];
    let hashes: Vec<String> = files.iter().map(|(_, bytes)| sha1_hex(bytes)).collect();
    // Content first: a row never points at a file that is not there. A dry run writes none.
    if !ctx.dry_run {
        for ((_, bytes), hash) in files.iter().zip(&hashes) {
            store_content(ctx, hash, bytes)?;
        }
    }
    // Moodle deletes the old icon files before saving the new ones.
    conn.prepare_cached(
        "DELETE FROM mdl_files WHERE contextid = ?1 AND component = 'user' AND filearea = 'icon' AND itemid = 0",
    )?
    .execute([contextid])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO mdl_files (contenthash, pathnamehash, contextid, component, filearea, itemid,
            filepath, filename, filesize, mimetype, status, timecreated, timemodified)
         VALUES (?1, ?2, ?3, 'user', 'icon', 0, '/', ?4, ?5, ?6, 0, ?7, ?7)",
    )?;
    let pathname = |name: &str| sha1_hex(format!("/{contextid}/user/icon/0/{name}").as_bytes());
    insert.execute(params![
        EMPTY_SHA1,
        pathname("."),
        contextid,
        ".",
        0,
        None::<String>,
        ctx.now
    ])?;
    let mut f1 = 0;
    for ((name, bytes), hash) in files.iter().zip(&hashes) {
        insert.execute(params![
            hash,
            pathname(name),
            contextid,
            name,
            bytes.len() as i64,
            avatar.mimetype(),
            ctx.now
        ])?;
        if f1 == 0 {
            f1 = conn.last_insert_rowid();
        }
    }
    Ok(f1)
}

/// Writes a content file at `filedir/<aa>/<bb>/<sha1>` unless it is there (same content, same
/// name): to a temporary name, then renamed, so no partial file ever has the name. Its fsync
/// waits for [`sync_written`], once per batch for all the batch's files.
fn store_content(ctx: &Ctx, hash: &str, bytes: &[u8]) -> Result<(), RowError> {
    let path = ctx.filedir.join(&hash[0..2]).join(&hash[2..4]).join(hash);
    if path.exists() {
        return Ok(());
    }
    let fail = |e: std::io::Error| {
        RowError::Fatal(Failure::new(
            Code::Storage,
            format!("cannot write the picture file {}: {e}", path.display()),
        ))
    };
    let dir = path.parent().unwrap_or(ctx.filedir);
    crate::owner_only::create_dir_all(dir).map_err(fail)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".moosync-")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    match tmp.persist_noclobber(&path) {
        Ok(_) => {}
        // The same content under the same name, written meanwhile: nothing to add.
        Err(_) if path.exists() => return Ok(()),
        Err(e) => return Err(fail(e.error)),
    }
    ctx.written.borrow_mut().push(path);
    Ok(())
}

/// Makes the batch's new picture files durable before the batch's rows commit, so no row
/// ever names a file a crash could lose: the files' fsyncs on all cores, then each folder's.
pub(crate) fn sync_written(written: &RefCell<Vec<PathBuf>>) -> Result<(), Failure> {
    let files = std::mem::take(&mut *written.borrow_mut());
    if files.is_empty() {
        return Ok(());
    }
    let fail = |e: std::io::Error| {
        Failure::new(
            Code::Storage,
            format!("cannot make the picture files durable: {e}"),
        )
    };
    files
        .par_iter()
        .try_for_each(|p| std::fs::File::open(p)?.sync_all())
        .map_err(fail)?;
    let dirs: BTreeSet<&Path> = files.iter().filter_map(|p| p.parent()).collect();
    for dir in dirs {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(fail)?;
    }
    Ok(())
}
