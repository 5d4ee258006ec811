//! User pictures as Moodle stores them (lib/gdlib.php process_new_icon): f1, f2 and f3 in the
//! user context's `user/icon` area, content-addressed under `filedir/` beside the database,
//! and `mdl_user.picture` = the id of f1. The MD5 of the image as fed is kept in tool_sync's
//! hidden `userpicturehash` profile field, so an unchanged image is skipped next time.

use super::error::RowError;
use super::lookup::{context_of, inconsistent};
use super::Ctx;
use crate::codes::{Code, Failure};
use crate::pictures::avatar::{self, Avatar, ImageLimits};
use crate::plan::{Decision, Op};
use rayon::prelude::*;
use rusqlite::{params, Connection};
use sha1::{Digest, Sha1};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
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

pub(crate) fn limits(ctx: &Ctx) -> ImageLimits {
    ImageLimits {
        max_side: ctx.pictures.max_side,
        max_pixels: ctx.pictures.max_megapixels.saturating_mul(1_000_000),
    }
}

/// An avatar set made for the batch, or why it could not be, by (row, operation).
pub(crate) type Rendered = HashMap<(usize, usize), Result<Arc<Avatar>, Failure>>;

/// A planned picture's image, by (row, operation).
type Wanted<'a> = ((usize, usize), &'a Arc<Vec<u8>>);

/// Renders, on every core, the avatars of the batch's planned pictures: decoding and resizing
/// are most of a picture's cost. The images decoded at once take, by what their headers
/// declare, at most the decode budget together, so a batch of large photos stays within
/// moosync's memory; one image over it alone is refused by `render` before decoding.
pub(crate) fn render_batch(ctx: &Ctx, decisions: &[Decision]) -> Rendered {
    let mut wanted: Vec<Wanted> = decisions
        .iter()
        .enumerate()
        .flat_map(|(r, d)| {
            let ops: &[Op] = match d {
                Decision::Apply { ops, .. } => ops,
                Decision::Fail(_) => &[],
            };
            ops.iter().enumerate().filter_map(move |(o, op)| match op {
                Op::SetPicture { image, .. } => Some(((r, o), image)),
                _ => None,
            })
        })
        .collect();
    let limits = limits(ctx);
    let mut out = Rendered::new();
    let mut rest = wanted.as_mut_slice();
    while !rest.is_empty() {
        let mut sum = 0u64;
        let mut take = 0;
        for (_, image) in rest.iter() {
            let cost = avatar::declared_cost(image).unwrap_or(0);
            if take > 0 && sum.saturating_add(cost) > avatar::DECODE_BUDGET {
                break;
            }
            sum = sum.saturating_add(cost);
            take += 1;
        }
        let (now, later) = rest.split_at_mut(take);
        let made: Vec<_> = now
            .par_iter()
            .map(|(at, image)| (*at, avatar::render(image, &limits).map(Arc::new)))
            .collect();
        out.extend(made);
        rest = later;
    }
    out
}

/// process_new_icon: the user's picture becomes the avatar set, and the image's MD5 is
/// remembered in tool_sync's hidden profile field.
pub(crate) fn set(
    conn: &Connection,
    ctx: &Ctx,
    user: i64,
    avatar: &Avatar,
    md5: &str,
) -> Result<(), RowError> {
    let context = context_of(conn, CONTEXT_USER, user)?
        .ok_or_else(|| inconsistent(format!("user {user} has no context row")))?;
    let f1 = store_icon(conn, ctx, context.id, avatar)?;
    conn.prepare_cached("UPDATE mdl_user SET picture = ?2, timemodified = ?3 WHERE id = ?1")?
        .execute(params![user, f1, ctx.now])?;
    if let Some(field) = ctx.profile_fields.get(HASH_FIELD) {
        conn.prepare_cached(
            "INSERT INTO mdl_user_info_data (userid, fieldid, data, dataformat) VALUES (?1, ?2, ?3, 0)
             ON CONFLICT (userid, fieldid) DO UPDATE SET data = excluded.data",
        )?
        .execute(params![user, field, md5])?;
    }
    Ok(())
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
