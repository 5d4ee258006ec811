//! User pictures sent to Moodle as the plan decided them: the image goes to the token user's
//! draft area (`webservice/upload.php`), then `core_user_update_picture` makes it the user's
//! picture; Moodle renders its own sizes. Moodle does not say which image a user has, so the
//! MD5 of the last image sent for each user of the site is kept in the ledger (remote.db),
//! from which the view answers: the same image fed again is not sent.

use super::calls::{self, Ctx, Item};
use super::client::{CallError, Retry};
use super::directory::Directory;
use super::form::Params;
use super::pool;
use crate::codes::{Code, Failure};
use crate::pictures::avatar;
use crate::plan::{Applied, BatchApplied, Op, Ref};
use serde_json::Value;

/// One picture to send: its row, its user's id, the image and its MD5.
struct Upload<'a> {
    row: usize,
    user: i64,
    image: &'a [u8],
    md5: &'a str,
}

pub fn send(
    ctx: &Ctx,
    dir: &mut Directory,
    wave: &[&Item],
    out: &mut BatchApplied,
) -> Result<(), Failure> {
    let uploads: Vec<Upload> = wave
        .iter()
        .filter_map(|i| match i.op {
            Op::SetPicture { user, image, md5 } => Some(Upload {
                row: i.row,
                user: match user {
                    Ref::Id(id) => *id,
                    Ref::New(n) => out.created.get(n).copied().unwrap_or(0),
                },
                image,
                md5,
            }),
            _ => None,
        })
        .collect();
    if uploads.is_empty() {
        return Ok(());
    }
    calls::require(ctx.functions, "core_user_update_picture")?;
    // Two calls per image, not batchable: images go several at once.
    let done = pool::map(&uploads, ctx.cfg.target.parallel, |u| {
        // The plan checked the image: what Moodle is told it is.
        let (extension, mimetype) = avatar::format_of(u.image)
            .map(|f| f.file_type())
            .unwrap_or(("png", "image/png"));
        let draft = ctx
            .client
            .upload(&format!("{}.{extension}", u.user), mimetype, u.image)?;
        let mut q = Params::new();
        q.push("draftitemid", draft.to_string())
            .push("userid", u.user.to_string());
        ctx.client.call("core_user_update_picture", &q, Retry::Safe)
    });
    let site = ctx.client.site().to_string();
    for (u, answer) in uploads.iter().zip(done) {
        let failed = match answer {
            Ok(v) if v.get("success").and_then(Value::as_bool) == Some(true) => {
                ctx.ledger.record_picture(&site, u.user, u.md5)?;
                dir.set_has_picture(u.user);
                continue;
            }
            Ok(_) => Failure::new(
                Code::RemoteRejected,
                "Moodle did not take the image (core_user_update_picture answered success = false): it could not read it, or user pictures are off on the site",
            ),
            Err(e) => match e.stops_the_file() {
                Some(stop) => return Err(stop),
                None => match e {
                    CallError::Moodle(m) => Failure::new(
                        Code::RemoteRejected,
                        format!("Moodle refused the picture: {}", m.describe()),
                    ),
                    _ => unreachable!("transport faults stop the file"),
                },
            },
        };
        out.rows[u.row] = Applied::Failed(failed);
    }
    Ok(())
}
