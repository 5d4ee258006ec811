//! User pictures: the image of an archive entry becomes its user's picture, unless it is the
//! image fed last time (tool_sync's `userpicturehash`, its MD5) or the user has a picture
//! and overwriting is off. The image is checked by its content and its header here, the
//! same for every backend; the backend makes the picture's sizes (Moodle's process_new_icon)
//! when it applies it.

use super::ops::Op;
use super::participants::{self, row};
use super::view::{PictureRec, Read, SiteView, Wanted};
use super::{PlannedChange, Planner, RowDraft, Verdict};
use crate::codes::Code;
use crate::command::{Command, UserPicture};
use crate::config::Config;
use crate::outcome::Action;
use crate::pictures::avatar::{self, Format, ImageLimits};

/// What a picture row will look up, for the view to read ahead.
pub(super) fn wanted(cfg: &Config, cmd: &Command, w: &mut Wanted) {
    if let Command::UserPicture(p) = cmd {
        let by = p.user_by.unwrap_or(cfg.pictures.user_identifier);
        if !p.user.trim().is_empty() {
            w.users.insert((by, p.user.trim().to_string()));
        }
    }
}

pub(super) fn set(
    p: &mut Planner,
    view: &mut dyn SiteView,
    draft: &mut RowDraft,
    pic: &UserPicture,
) -> Read<Verdict> {
    let Some(image) = &pic.attached.image else {
        return Err(row(
            Code::MissingValue,
            "no image: user_picture commands come from a picture archive's entries".into(),
        ));
    };
    // What is not an image says so before anything about its user.
    let format = avatar::format_of(image)?;
    let cfg = p.cfg().pictures.clone();
    let user = participants::user(
        p,
        view,
        pic.user_by.unwrap_or(cfg.user_identifier),
        &pic.user,
    )?;
    let now = match p.overlay().pictures.get(&user) {
        Some(known) => known.clone().unwrap_or_default(),
        None => view.picture(user)?,
    };
    if now.has && now.md5.as_deref() == Some(pic.attached.md5.as_str()) {
        return Ok(Verdict::Nothing(format!(
            "{}: the image is the one fed last time (same MD5); nothing to do",
            pic.user
        )));
    }
    if now.has && !pic.overwrite.unwrap_or(cfg.overwrite) {
        return Ok(Verdict::Nothing(format!(
            "{} already has a picture and [pictures] overwrite is off",
            pic.user
        )));
    }
    // The settings' limits on what an image declares, before anything is sent or decoded.
    avatar::check_declared(
        image,
        &ImageLimits {
            max_side: cfg.max_side,
            max_pixels: cfg.max_megapixels.saturating_mul(1_000_000),
        },
    )?;
    // process_new_icon makes JPEG sizes of a JPEG, PNG ones of the rest.
    let ext = match format {
        Format::Jpeg => "jpg",
        Format::Png | Format::Gif => "png",
    };
    p.overlay().set_picture(
        user,
        Some(PictureRec {
            has: true,
            md5: Some(pic.attached.md5.clone()),
        }),
    );
    draft.changes.push(
        PlannedChange::new(
            if now.has {
                Action::Updated
            } else {
                Action::Created
            },
            "picture",
            user,
            pic.user.clone(),
        )
        .with_fields(vec![format!("f1.{ext}, f2.{ext}, f3.{ext}")]),
    );
    draft.ops.push(Op::SetPicture {
        user,
        image: image.clone(),
        md5: pic.attached.md5.clone(),
    });
    Ok(Verdict::Done)
}
