//! User pictures over REST: the image goes to the token user's draft area
//! (`webservice/upload.php`), then `core_user_update_picture` makes it the user's picture;
//! Moodle renders its own sizes. Moodle does not say which image a user has, so the MD5 of
//! the last image sent for each user of the site is kept in the ledger (remote.db): the
//! same image fed again is not sent.

use super::calls::{self, Ctx};
use super::client::{CallError, Retry};
use super::directory::Directory;
use super::field_of as user_field;
use super::form::Params;
use super::ledger::Ledger;
use super::pool;
use crate::codes::{Code, Failure};
use crate::command::UserPicture;
use crate::outcome::{Action, Change, Outcome};
use crate::pictures::avatar;
use serde_json::Value;
use std::sync::Arc;

struct Upload {
    user: i64,
    image: Arc<Vec<u8>>,
    filename: String,
    mimetype: &'static str,
    md5: String,
    change: Change,
}

/// Applies picture rows; one outcome per row.
pub fn apply(
    ctx: &Ctx,
    dir: &mut Directory,
    rows: &[&UserPicture],
) -> Result<Vec<Outcome>, Failure> {
    let t = &ctx.cfg.target;
    let default_by = ctx.cfg.pictures.user_identifier;
    let key = |p: &UserPicture| (user_field(p.user_by.unwrap_or(default_by)), p.user.clone());
    dir.fetch(
        ctx.client,
        t.parallel,
        t.batch_size,
        rows.iter().map(|p| key(p)),
    )?;
    let site = ctx.client.site().to_string();
    let sent = ctx.ledger;
    let plans: Vec<Result<Upload, Outcome>> = rows
        .iter()
        .map(|p| plan(ctx, dir, sent, &site, p, key(p)))
        .collect();
    if ctx.dry_run {
        return Ok(plans
            .into_iter()
            .map(|p| match p {
                Ok(u) => Outcome::Applied(vec![u.change]),
                Err(o) => o,
            })
            .collect());
    }
    if plans.iter().any(Result::is_ok) {
        calls::require(ctx.functions, "core_user_update_picture")?;
    }
    // Two calls per image, not batchable: images go several at once.
    let done = pool::map(&plans, t.parallel, |p| {
        let Ok(u) = p else { return Ok(None) };
        let draft = ctx.client.upload(&u.filename, u.mimetype, &u.image)?;
        let mut q = Params::new();
        q.push("draftitemid", draft.to_string())
            .push("userid", u.user.to_string());
        let v = ctx
            .client
            .call("core_user_update_picture", &q, Retry::Safe)?;
        Ok::<_, CallError>(Some(v))
    });
    let mut out = Vec::with_capacity(plans.len());
    for (p, answer) in plans.into_iter().zip(done) {
        out.push(match (p, answer) {
            (Err(o), _) => o,
            (Ok(u), Ok(v)) => {
                if v.as_ref().and_then(|v| v.get("success")).and_then(Value::as_bool) == Some(true) {
                    sent.record_picture(&site, u.user, &u.md5)?;
                    dir.set_has_picture(u.user);
                    Outcome::Applied(vec![u.change])
                } else {
                    Outcome::Failed(Failure::new(
                        Code::RemoteRejected,
                        "Moodle did not take the image (core_user_update_picture answered success = false): it could not read it, or user pictures are off on the site",
                    ))
                }
            }
            (Ok(_), Err(e)) => match e.stops_the_file() {
                Some(stop) => return Err(stop),
                None => match e {
                    CallError::Moodle(m) => Outcome::Failed(Failure::new(
                        Code::RemoteRejected,
                        format!("Moodle refused the picture: {}", m.describe()),
                    )),
                    _ => unreachable!("transport faults stop the file"),
                },
            },
        });
    }
    Ok(out)
}

fn plan(
    ctx: &Ctx,
    dir: &Directory,
    sent: &Ledger,
    site: &str,
    p: &UserPicture,
    (field, value): (super::directory::Field, String),
) -> Result<Upload, Outcome> {
    let failed = |f: Failure| Outcome::Failed(f);
    let Some(image) = p.attached.image.clone() else {
        return Err(failed(Failure::new(
            Code::MissingValue,
            "no image: user_picture commands come from a picture archive's entries",
        )));
    };
    // What is not an image says so before anything about its user.
    let format = avatar::format_of(&image).map_err(failed)?;
    let limit = ctx.cfg.pictures.max_megapixels.saturating_mul(1_000_000);
    match avatar::declared_pixels(&image) {
        Some(px) if px <= limit => {}
        Some(px) => {
            return Err(failed(Failure::new(
                Code::ImageTooLarge,
                format!(
                    "the image declares {px} pixels, over [pictures] max_megapixels ({})",
                    ctx.cfg.pictures.max_megapixels
                ),
            )))
        }
        None => {
            return Err(failed(Failure::new(
                Code::ImageCorrupt,
                "the image's header cannot be read; save it again as a JPEG or PNG",
            )))
        }
    }
    let account = match dir.find(field, &value).unwrap_or_default().as_slice() {
        [a] if !a.deleted => (*a).clone(),
        [] | [_] => {
            return Err(failed(Failure::new(
                Code::NotFound,
                format!("no account has {} '{value}'", field.name()),
            )))
        }
        many => {
            return Err(failed(Failure::new(
                Code::AmbiguousMatch,
                format!("{} accounts have {} '{value}'", many.len(), field.name()),
            )))
        }
    };
    let label = account.username.clone();
    if account.has_picture
        && sent.picture_md5(site, account.id).as_deref() == Some(p.attached.md5.as_str())
    {
        return Err(Outcome::Applied(vec![Change::new(
            Action::Unchanged,
            "user_picture",
            account.id,
            label,
        )]));
    }
    if account.has_picture && !p.overwrite.unwrap_or(ctx.cfg.pictures.overwrite) {
        return Err(Outcome::Skipped(format!(
            "{} already has a picture and [pictures] overwrite is off",
            account.label()
        )));
    }
    let action = if account.has_picture {
        Action::Updated
    } else {
        Action::Created
    };
    let (extension, mimetype) = format.file_type();
    Ok(Upload {
        user: account.id,
        filename: format!("{}.{extension}", account.username),
        mimetype,
        md5: p.attached.md5.clone(),
        image,
        change: Change::new(action, "user_picture", account.id, label),
    })
}
