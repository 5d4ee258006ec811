//! Draft files and user pictures: `POST {base}/webservice/upload.php` (moodle.md §2.7,
//! recordings 082 and 085) and `core_user_update_picture` (§2.6, 083). Every draft belongs to
//! the token's user, the admin; a user's picture is the id of its `f1` file (`user.picture`),
//! which its image URLs carry as `rev` (084).

use super::errors;
use super::http::{Reply, Request};
use super::params::{def, req, v, Field, Ty, V};
use super::recordings::recording;
use super::service::{self, Logged, Shared, TOKEN};
use super::users::{Site, ADMIN_ID, GUEST_ID};
use super::{Call, Drop};
use serde_json::{json, Value};
use std::collections::HashMap;

/// User N's context id is `USER_CONTEXT_BASE + N`, except the admin's: 5, as recorded (082).
pub const USER_CONTEXT_BASE: i64 = 1_000_000;

/// The name `calls()`, `drop_next` and `fail_next_5xx` know upload.php by.
pub const UPLOAD: &str = "webservice_upload";

const JSON_UTF8: &str = "application/json; charset=utf-8";

pub fn user_context(id: i64) -> i64 {
    if id == ADMIN_ID {
        5
    } else {
        USER_CONTEXT_BASE + id
    }
}

#[derive(Debug, Clone)]
pub struct DraftFile {
    pub filename: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Files {
    /// The admin's draft areas by item id.
    pub drafts: HashMap<i64, Vec<DraftFile>>,
    /// MD5 hex of each user's current picture, by user id (valid while `picture` != 0).
    pub pictures: HashMap<i64, String>,
    next_draft: i64,
    next_file: i64,
}

impl Files {
    /// A new `mdl_files` id.
    fn file_id(&mut self) -> i64 {
        self.next_file = self.next_file.max(40) + 1;
        self.next_file
    }

    /// A new unused draft item id (Moodle picks them at random).
    fn new_draft(&mut self) -> i64 {
        if self.next_draft == 0 {
            self.next_draft = 329_636_129;
        }
        while self.drafts.contains_key(&self.next_draft) {
            self.next_draft += 7919;
        }
        self.next_draft
    }
}

/// One part of a `multipart/form-data` body: its field name, filename (file parts) and bytes.
struct Part {
    name: String,
    filename: Option<String>,
    bytes: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// A `name="value"` parameter of a header (quotes optional).
fn header_param(header: &str, key: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The parts of a multipart body (RFC 7578); an unusable body has none, as PHP sees it.
fn multipart(content_type: &str, body: &[u8]) -> Vec<Part> {
    let Some(boundary) = content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
        .then(|| header_param(content_type, "boundary"))
        .flatten()
    else {
        return Vec::new();
    };
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let Some(mut at) = find(body, &delimiter, 0) else {
        return parts;
    };
    loop {
        at += delimiter.len();
        if body[at..].starts_with(b"--") {
            return parts;
        }
        let Some(head_end) = find(body, b"\r\n\r\n", at) else {
            return parts;
        };
        let head = String::from_utf8_lossy(&body[at..head_end]);
        let start = head_end + 4;
        let mut close = b"\r\n".to_vec();
        close.extend_from_slice(&delimiter);
        let Some(end) = find(body, &close, start) else {
            return parts;
        };
        let disposition = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("content-disposition")
                    .then_some(v.trim())
            })
            .unwrap_or("");
        if let Some(name) = header_param(disposition, "name") {
            parts.push(Part {
                name,
                filename: header_param(disposition, "filename"),
                bytes: body[start..end].to_vec(),
            });
        }
        at = end + 2;
    }
}

/// An exception the way upload.php reports it (core_renderer_ajax, 085).
fn ajax_error(errorcode: &str, message: &str) -> String {
    let mut body = recording("085").response.clone();
    body["errorcode"] = json!(errorcode);
    body["error"] = json!(message);
    body.to_string()
}

/// PHP's `serialize((object) ['source' => $name])`, as 082's `source`.
fn source(filename: &str) -> String {
    format!(
        "O:8:\"stdClass\":1:{{s:6:\"source\";s:{}:\"{filename}\";}}",
        filename.len()
    )
}

/// Stores the file parts in the admin's draft area `itemid` (0: a new one); 082's answer.
fn store(site: &mut Site, itemid: i64, files: &[&Part]) -> Value {
    let admin = site.get(ADMIN_ID).expect("the admin exists");
    let author = format!("{} {}", admin.get("firstname"), admin.get("lastname"));
    let itemid = if itemid == 0 && !files.is_empty() {
        site.files.new_draft()
    } else {
        itemid
    };
    let mut answer = Vec::new();
    for part in files {
        let raw = part.filename.as_deref().unwrap_or("");
        let filename = raw.rsplit(['/', '\\']).next().unwrap_or(raw).to_string();
        let area = site.files.drafts.entry(itemid).or_default();
        if area.iter().any(|f| f.filename == filename) {
            answer.push(json!({
                "filename": filename,
                "errortype": "filenameexist",
                "error": format!("File name already exists: {filename}"),
            }));
            continue;
        }
        area.push(DraftFile {
            filename: filename.clone(),
            bytes: part.bytes.clone(),
        });
        site.files.file_id();
        answer.push(json!({
            "component": "user",
            "contextid": user_context(ADMIN_ID),
            "userid": ADMIN_ID.to_string(),
            "filearea": "draft",
            "filename": filename,
            "filepath": "/",
            "itemid": itemid,
            "license": "unknown",
            "author": author,
            "source": source(&filename),
            "filesize": part.bytes.len(),
        }));
    }
    Value::Array(answer)
}

/// `webservice/upload.php`: token, then the files; errors in the AJAX shape, HTTP 200.
pub fn handle_upload(shared: &Shared, req: &Request) -> Reply {
    if req.method != "POST" {
        return Reply::send(405, "text/plain", "Method Not Allowed");
    }
    let parts = multipart(req.header("content-type").unwrap_or(""), &req.body);
    let field = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())
            .map(|p| String::from_utf8_lossy(&p.bytes).into_owned())
    };
    let token = field("token");
    let files: Vec<&Part> = parts
        .iter()
        .filter(|p| p.filename.as_deref().is_some_and(|f| !f.is_empty()))
        .collect();

    let mut ctl = shared.control.lock().unwrap();
    let delay = ctl.delay;
    if ctl.record_calls {
        let params = parts
            .iter()
            .filter(|p| p.name != "token")
            .map(|p| match &p.filename {
                Some(f) => (p.name.clone(), format!("{f} ({} bytes)", p.bytes.len())),
                None => (p.name.clone(), String::from_utf8_lossy(&p.bytes).into()),
            })
            .collect();
        ctl.calls.push(Logged::Upload(Call {
            function: UPLOAD.into(),
            params,
            raw_body: String::from_utf8_lossy(&req.body).into_owned(),
            token: token.clone().unwrap_or_default(),
        }));
    }
    if service::take(&mut ctl.fail_5xx, UPLOAD).is_some() {
        drop(ctl);
        service::pause(shared, delay);
        return Reply::send(503, "text/plain", String::new());
    }
    let gate = match token.as_deref() {
        None => Err(ajax_error(
            "missingparam",
            "A required parameter (token) was missing",
        )),
        Some(t) if t != TOKEN => Err(recording("085").response.to_string()),
        Some(_) if ctl.maintenance => Err(ajax_error(
            "sitemaintenance",
            "The site is undergoing maintenance and is currently not available",
        )),
        Some(_) => Ok(()),
    };
    let mut fault = None;
    if gate.is_ok() {
        ctl.write_calls += 1;
        fault = service::take(&mut ctl.drops, UPLOAD);
    }
    drop(ctl);
    let answer = gate.map(|()| {
        if fault == Some(Drop::BeforeApply) {
            return String::new();
        }
        let itemid = field("itemid")
            .and_then(|i| i.trim().parse::<i64>().ok())
            .unwrap_or(0);
        store(&mut shared.site.lock().unwrap(), itemid, &files).to_string()
    });
    service::pause(shared, delay);
    if fault.is_some() {
        return Reply::Hangup;
    }
    let body = answer.unwrap_or_else(|e| e);
    Reply::send(recording("085").http_status, JSON_UTF8, body)
}

pub const UPDATE_PICTURE: &[Field] = &[
    req("draftitemid", v(Ty::Int)),
    def("delete", v(Ty::Bool), "0"),
    def("userid", v(Ty::Int), "0"),
];

/// JPEG, PNG or GIF by the first bytes: what GD would accept as a new icon.
fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
        || bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.starts_with(b"GIF87a")
        || bytes.starts_with(b"GIF89a")
}

/// `profileimageurl` (f1) and `profileimageurlsmall` (f2) of a user: pluginfile.php with
/// `rev` = picture when there is one (084), else the theme's default image (081).
pub fn image_urls(base: &str, id: i64, picture: &str) -> (String, String) {
    let prefix = match picture {
        "" | "0" => format!("{base}/theme/image.php/boost/core/1795587339/u/"),
        _ => format!(
            "{base}/pluginfile.php/{}/user/icon/boost/",
            user_context(id)
        ),
    };
    let rev = match picture {
        "" | "0" => String::new(),
        p => format!("?rev={p}"),
    };
    (format!("{prefix}f1{rev}"), format!("{prefix}f2{rev}"))
}

/// `core_user_update_picture`: the user must exist and be active (`require_active_user`
/// with suspended and nologin checked); then the draft's first file becomes the picture, or
/// `delete` clears it. `success` is false when nothing changed (083, moodle.md §2.6).
pub fn update_picture(site: &mut Site, p: &V, base: &str) -> Result<String, Value> {
    let int = |k: &str| p.str(k).unwrap_or("0").trim().parse::<i64>().unwrap_or(0);
    let id = match int("userid") {
        0 => ADMIN_ID,
        id => id,
    };
    let user = match site.get(id) {
        Some(u) if !u.deleted => u,
        _ => return Err(errors::invalid_user()),
    };
    if user.get("confirmed") != "1" {
        let message = format!("Could not confirm {}", user.get("username"));
        return Err(errors::exception(
            "moodle_exception",
            "usernotconfirmed",
            &message,
        ));
    }
    if id == GUEST_ID {
        return Err(errors::exception(
            "moodle_exception",
            "guestsarenotallowed",
            "The guest user is not allowed to do this",
        ));
    }
    if user.get("suspended") == "1" || user.get("auth") == "nologin" {
        return Err(errors::exception(
            "moodle_exception",
            "suspended",
            "Suspended account",
        ));
    }
    let old = user.get("picture").to_string();
    let new = if p.str("delete") == Some("1") {
        site.files.pictures.remove(&id);
        "0".to_string()
    } else {
        let first = site.files.drafts.get(&int("draftitemid"));
        match first.and_then(|area| area.first()) {
            Some(f) if is_image(&f.bytes) => {
                let md5 = super::users::md5_hex_bytes(&f.bytes);
                site.files.pictures.insert(id, md5);
                site.files.file_id().to_string()
            }
            _ => old.clone(),
        }
    };
    if new == old {
        return Ok(json!({"success": false, "warnings": []}).to_string());
    }
    site.update(id, |u| u.set("picture", new.clone()));
    let (url, _) = image_urls(base, id, &new);
    Ok(json!({"success": true, "profileimageurl": url, "warnings": []}).to_string())
}
