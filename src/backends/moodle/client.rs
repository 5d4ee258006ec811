//! One Moodle site's REST endpoint: form-encoded POSTs to `webservice/rest/server.php`, JSON
//! answers, Moodle's errors (HTTP 200 with `exception`) told apart from transport faults, and
//! retries only where a call is safe to repeat. The token goes in the body, never in a URL or a
//! message, and every text made of a reply is redacted of the request's secrets first.

use super::form::{escape_into, Params};
use super::redact::Redaction;
use crate::codes::{Code, Failure};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The web-service token. Debug and Display never show it.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(secret: String) -> Token {
        Token(secret)
    }

    /// The token itself, for the redaction of replies only.
    pub(super) fn as_secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// An error object Moodle returned (`exception`, `errorcode`, `message`, maybe `debuginfo`).
#[derive(Debug, Clone, PartialEq)]
pub struct MoodleError {
    pub exception: String,
    pub errorcode: String,
    pub message: String,
    pub debuginfo: Option<String>,
}

impl MoodleError {
    /// "invalidparameter: Invalid parameter value detected (Username already exists: x)".
    pub fn describe(&self) -> String {
        let mut s = format!("{}: {}", self.errorcode, self.message);
        if let Some(d) = self.debuginfo.as_deref().filter(|d| !d.is_empty()) {
            s.push_str(&format!(" ({})", d.lines().next().unwrap_or(d)));
        }
        s
    }

    /// Errors that no row can fix: the token, the service, the site. The file stops.
    pub fn stops_the_file(&self) -> Option<Failure> {
        let code = match self.errorcode.as_str() {
            "sitemaintenance" => Code::RemoteMaintenance,
            "invalidtoken"
            | "accessexception"
            | "servicerequireslogin"
            | "nopermissions"
            | "wsaccessusersuspended"
            | "wsaccessuserdeleted"
            | "wsaccessusernologin"
            | "wsaccessuserunconfirmed"
            | "wsaccessuserexpired" => Code::RemoteAccess,
            _ if self.exception == "required_capability_exception"
                || self.exception == "webservice_access_exception" =>
            {
                Code::RemoteAccess
            }
            _ => return None,
        };
        let hint = match code {
            Code::RemoteMaintenance => {
                "it runs again once the site is back"
            }
            _ if self.errorcode == "invalidtoken" => {
                "check the token ([target] token_env or token_file)"
            }
            _ => "give the token's service the function, or its user the capability (moosync check-target lists what is missing)",
        };
        Some(Failure::new(
            code,
            format!("Moodle answered {}; {hint}", self.describe()),
        ))
    }
}

#[derive(Debug, Clone)]
pub enum CallError {
    /// Moodle ran the call and refused it.
    Moodle(MoodleError),
    /// No answer to go by: connection refused or reset, time-out, HTTP 5xx. The call may or
    /// may not have taken effect.
    Transport(String),
    /// An answer that is not Moodle's JSON (an HTML page, a proxy's error). Stops the file.
    Refused(Failure),
}

/// Whether a call may simply be sent again after a transport fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Reads, and writes that set values (sending them twice is the same as once).
    Safe,
    /// Creates and deletes: the caller checks what happened before sending again.
    Never,
}

/// The most bytes one answer may hold. A call carries at most `batch_size` items and its
/// answer about one record per item: a full user record with a long description is 2 to 6
/// KiB of JSON, so 32 KiB an item is five times what Moodle sends. The lists read whole get
/// 8 MiB besides: a course's participants by id and roles take about 100 bytes each (80,000
/// of them), a batch of cohorts' member ids less. With the default 100 items that is 11 MiB
/// (512 MiB was allowed before), so four answers in flight stay far inside the memory moosync
/// promises. A site too large to list its courses in one answer is looked up course by course.
pub fn reply_limit(batch_size: usize) -> u64 {
    const MIB: u64 = 1024 * 1024;
    8 * MIB + (batch_size as u64).saturating_mul(32 * 1024)
}

pub struct Client {
    agent: ureq::Agent,
    endpoint: String,
    site: String,
    token: Token,
    retries: u32,
    /// See `reply_limit`.
    reply_limit: u64,
    backoff: Duration,
    calls: AtomicU64,
    writes: AtomicU64,
}

impl Client {
    pub fn new(
        url: &str,
        token: Token,
        parallel: usize,
        timeout: Duration,
        retries: u32,
        batch_size: usize,
    ) -> Client {
        let site = url.trim_end_matches('/').to_string();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(15))))
            // Moodle answers its errors with 200; a status is a transport matter here.
            .http_status_as_error(false)
            .max_idle_connections_per_host(parallel.max(1))
            .user_agent(concat!("moosync/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client {
            agent,
            endpoint: format!("{site}/webservice/rest/server.php"),
            site,
            token,
            retries,
            reply_limit: reply_limit(batch_size),
            backoff: Duration::from_millis(200),
            calls: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    pub fn site(&self) -> &str {
        &self.site
    }

    pub fn token(&self) -> &Token {
        &self.token
    }

    /// HTTP requests sent so far, and how many of them were writes.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.calls.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
        )
    }

    /// Calls `function`; a `Safe` call is retried with backoff after a transport fault.
    pub fn call(&self, function: &str, params: &Params, retry: Retry) -> Result<Value, CallError> {
        let mut attempt = 0;
        loop {
            match self.call_once(function, params) {
                Err(CallError::Transport(why))
                    if retry == Retry::Safe && attempt < self.retries =>
                {
                    attempt += 1;
                    std::thread::sleep(self.backoff * 2u32.pow(attempt.min(6) - 1));
                    let _ = why;
                }
                other => return other,
            }
        }
    }

    /// One request, no retry.
    pub fn call_once(&self, function: &str, params: &Params) -> Result<Value, CallError> {
        self.call_within(function, params, None)
    }

    /// One request, no retry, allowed `timeout` instead of `[target] timeout_seconds`: for
    /// a call Moodle takes long over (a course copy is a backup and a restore).
    pub fn call_within(
        &self,
        function: &str,
        params: &Params,
        timeout: Option<Duration>,
    ) -> Result<Value, CallError> {
        let mut body = String::with_capacity(64 + params.len() * 32);
        body.push_str("wstoken=");
        escape_into(&self.token.0, &mut body);
        body.push_str("&wsfunction=");
        escape_into(function, &mut body);
        body.push_str("&moodlewsrestformat=json");
        // Reads answer texts as stored, not formatted for display (`&` not `&amp;`), so
        // they compare with the file's values.
        if !is_write(function) {
            body.push_str("&moodlewssettingraw=1");
        }
        params.encode_into(&mut body);
        let redaction = Redaction::of(&self.token, params);
        self.calls.fetch_add(1, Ordering::Relaxed);
        if is_write(function) {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        let mut request = self
            .agent
            .post(&self.endpoint)
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(t) = timeout {
            request = request.config().timeout_global(Some(t)).build();
        }
        let sent = request.send(body.as_bytes());
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return Err(CallError::Transport(redaction.text(&e.to_string()))),
        };
        let status = response.status().as_u16();
        let (content_type, bytes) = self.read_answer(&mut response, function, &redaction)?;
        if status >= 500 {
            return Err(CallError::Transport(format!(
                "HTTP {status} from {}",
                self.endpoint
            )));
        }
        if status != 200 {
            let why = match status {
                403 => "web services or the REST protocol are disabled on the site (Site administration > Server > Web services)".to_string(),
                404 => "no Moodle web service there; check [target] url".to_string(),
                _ => format!("unexpected HTTP {status}"),
            };
            return Err(CallError::Refused(Failure::new(
                Code::RemoteAccess,
                format!("{} answered HTTP {status}: {why}", self.endpoint),
            )));
        }
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let bytes = e.into_bytes();
                return Err(CallError::Refused(Failure::new(
                    Code::RemoteBadAnswer,
                    format!(
                        "{} answered {function} with {} bytes of {content_type} that are not UTF-8 text, so not Moodle's JSON (it began: {}); is [target] url a Moodle site, or does a proxy or a PHP error page answer in its place?",
                        self.endpoint,
                        bytes.len(),
                        redaction.text(&shown_safely(&bytes))
                    ),
                )));
            }
        };
        let value: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) => {
                // Redacted whole before it is cut, so no part of a secret is left at the cut.
                let start: String = redaction.text(&text).chars().take(120).collect();
                return Err(CallError::Refused(Failure::new(
                    Code::RemoteBadAnswer,
                    format!(
                        "{} did not answer {function} with JSON (it began {:?}); is [target] url a Moodle site?",
                        self.endpoint, start
                    ),
                )));
            }
        };
        if let Some(e) = moodle_error(&value) {
            return Err(CallError::Moodle(redaction.error(e)));
        }
        let mut value = value;
        redaction.warnings(&mut value);
        Ok(value)
    }
}

impl Client {
    /// The answer's content type and body, at most `reply_limit` bytes of it: a larger one
    /// stops the file (MS-R008) instead of taking the memory.
    fn read_answer(
        &self,
        response: &mut ureq::http::Response<ureq::Body>,
        function: &str,
        redaction: &Redaction,
    ) -> Result<(String, Vec<u8>), CallError> {
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no declared content type")
            .to_string();
        match response
            .body_mut()
            .with_config()
            .limit(self.reply_limit)
            .read_to_vec()
        {
            Ok(bytes) => Ok((content_type, bytes)),
            Err(ureq::Error::BodyExceedsLimit(limit)) => {
                Err(CallError::Refused(Failure::new(
                    Code::RemoteTooLarge,
                    format!(
                        "{} answered {function} with more than {} MiB ({content_type}), the most moosync takes for one call of [target] batch_size items; check what answers at [target] url, or lower batch_size",
                        self.site,
                        limit / (1024 * 1024)
                    ),
                )))
            }
            Err(e) => Err(CallError::Transport(redaction.text(&e.to_string()))),
        }
    }

    /// Puts one file in the token user's draft area (`webservice/upload.php`, multipart),
    /// returning the draft item id to pass on. Sending it twice only makes a second draft.
    pub fn upload(&self, filename: &str, mimetype: &str, bytes: &[u8]) -> Result<i64, CallError> {
        let mut attempt = 0;
        loop {
            match self.upload_once(filename, mimetype, bytes) {
                Err(CallError::Transport(_)) if attempt < self.retries => {
                    attempt += 1;
                    std::thread::sleep(self.backoff * 2u32.pow(attempt.min(6) - 1));
                }
                other => return other,
            }
        }
    }

    fn upload_once(&self, filename: &str, mimetype: &str, bytes: &[u8]) -> Result<i64, CallError> {
        // A boundary that cannot occur in the image: long, and checked.
        let mut boundary = String::from("moosync-boundary-7f3a9c1e5b2d4086");
        while bytes
            .windows(boundary.len())
            .any(|w| w == boundary.as_bytes())
        {
            boundary.push('x');
        }
        let mut body = Vec::with_capacity(bytes.len() + 512);
        for (name, value) in [
            ("token", self.token.0.as_str()),
            ("filearea", "draft"),
            ("itemid", "0"),
        ] {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
            );
        }
        let safe_name: String = filename
            .chars()
            .filter(|c| *c != '"' && *c != '\r' && *c != '\n')
            .collect();
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file_1\"; filename=\"{safe_name}\"\r\nContent-Type: {mimetype}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(1, Ordering::Relaxed);
        let sent = self
            .agent
            .post(&format!("{}/webservice/upload.php", self.site))
            .header(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            )
            .send(&body[..]);
        let redaction = Redaction::of_token(&self.token);
        let mut response =
            sent.map_err(|e| CallError::Transport(redaction.text(&e.to_string())))?;
        let status = response.status().as_u16();
        let (_, bytes) = self.read_answer(&mut response, "webservice/upload.php", &redaction)?;
        if status >= 500 {
            return Err(CallError::Transport(format!(
                "HTTP {status} from webservice/upload.php"
            )));
        }
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| {
            CallError::Refused(Failure::new(
                Code::RemoteBadAnswer,
                format!(
                    "{}/webservice/upload.php did not answer with JSON (HTTP {status})",
                    self.site
                ),
            ))
        })?;
        // upload.php has its own error shape: {error, errorcode, …}.
        if let Some(code) = v.get("errorcode").and_then(Value::as_str) {
            let message = v.get("error").and_then(Value::as_str).unwrap_or("");
            return Err(CallError::Moodle(MoodleError {
                exception: "upload".into(),
                errorcode: code.to_string(),
                message: redaction.text(message),
                debuginfo: None,
            }));
        }
        // A file the site refused (too large, a name taken) comes back as its own error.
        if let Some(kind) = v
            .get(0)
            .and_then(|f| f.get("errortype"))
            .and_then(Value::as_str)
        {
            let message = v[0].get("error").and_then(Value::as_str).unwrap_or("");
            return Err(CallError::Moodle(MoodleError {
                exception: "upload".into(),
                errorcode: kind.to_string(),
                message: redaction.text(message),
                debuginfo: None,
            }));
        }
        v.get(0)
            .and_then(|f| f.get("itemid"))
            .and_then(|i| i.as_i64().or_else(|| i.as_str().and_then(|s| s.parse().ok())))
            .ok_or_else(|| {
                CallError::Refused(Failure::new(
                    Code::RemoteBadAnswer,
                    "webservice/upload.php answered without a draft item id; is the service allowed to upload files (\"Can upload files\")?",
                ))
            })
    }
}

/// The first bytes of an answer as text a terminal shows safely: printable ASCII as it is,
/// anything else escaped (`\xe9`), so a binary or mis-encoded answer cannot garble a report.
fn shown_safely(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(80)];
    let more = if bytes.len() > head.len() { "…" } else { "" };
    format!("\"{}\"{more}", head.escape_ascii())
}

/// Whether a function changes the site: everything but Moodle's `get`, `search` and site-info
/// reads. Counted apart, so a re-run can show that it wrote nothing.
pub fn is_write(function: &str) -> bool {
    !(function.contains("_get_") || function.contains("_search_"))
}

/// The error object of an answer, if it is one.
pub fn moodle_error(v: &Value) -> Option<MoodleError> {
    let o = v.as_object()?;
    let exception = o.get("exception")?.as_str()?.to_string();
    let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
    Some(MoodleError {
        exception,
        errorcode: text("errorcode").unwrap_or_default(),
        message: text("message").unwrap_or_default(),
        debuginfo: text("debuginfo"),
    })
}

impl CallError {
    /// The failure when this error stops the file, `None` when it concerns the items sent.
    pub fn stops_the_file(&self) -> Option<Failure> {
        match self {
            CallError::Moodle(e) => e.stops_the_file(),
            CallError::Transport(why) => Some(Failure::new(
                Code::RemoteUnreachable,
                format!("Moodle could not be reached ({why})"),
            )),
            CallError::Refused(f) => Some(f.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_told_apart_from_answers() {
        let e: Value = serde_json::from_str(
            r#"{"exception":"moodle_exception","errorcode":"invalidtoken","message":"Invalid token - token not found"}"#,
        )
        .unwrap();
        let got = moodle_error(&e).unwrap();
        assert_eq!(got.errorcode, "invalidtoken");
        assert_eq!(got.stops_the_file().unwrap().code, Code::RemoteAccess);
        let ok: Value = serde_json::from_str(r#"[{"id":5,"username":"x"}]"#).unwrap();
        assert!(moodle_error(&ok).is_none());
        let row: Value = serde_json::from_str(
            r#"{"exception":"invalid_parameter_exception","errorcode":"invalidparameter","message":"Invalid parameter value detected"}"#,
        )
        .unwrap();
        assert!(moodle_error(&row).unwrap().stops_the_file().is_none());
    }

    #[test]
    fn odd_bytes_are_shown_escaped_and_cut() {
        assert_eq!(shown_safely(b"donn\xe9es\n"), "\"donn\\xe9es\\n\"");
        let long = shown_safely(&[b'a'; 200]);
        assert!(long.ends_with("\"…") && long.len() < 90, "{long}");
        assert_eq!(reply_limit(100), 8 * 1024 * 1024 + 3200 * 1024);
    }

    #[test]
    fn the_token_never_shows() {
        let t = Token::new("f00dface".into());
        assert_eq!(format!("{t:?}"), "Token([redacted])");
        assert_eq!(
            Redaction::of_token(&t).text("bad wstoken=f00dface here"),
            "bad wstoken=[token] here"
        );
    }
}
