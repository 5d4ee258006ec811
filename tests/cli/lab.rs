//! How tests reach the real Moodle lab (`../shared/moodle-lab/setup.sh`, and for the plugin's
//! functions `moodle/install-into-lab.sh`): its address and tokens, a session per token that
//! sends JSON-shaped parameters as Moodle's REST form fields, and unique names so tests need no
//! reset and run in parallel.
//!
//! - `MOODLE_URL` (`http://127.0.0.1:8080`): the site.
//! - `MOODLE_TOKEN`, `MOODLE_PLUGIN_TOKEN`, `MOODLE_LIMITED_TOKEN`: the tokens; each defaults
//!   to the file the lab scripts write under `MOODLE_LAB_DIR` (`/opt/moodle-lab`):
//!   `token.txt`, `token-plugin.txt`, `token-limited.txt`.
//!
//! A lab that cannot be reached fails the test, saying what to run: never a silent skip.

use moosync::backends::moodle::client::{CallError, Client, MoodleError, Token};
use moosync::backends::moodle::form::Params;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

pub const SETUP: &str =
    "run (as root) `bash ../shared/moodle-lab/setup.sh`, then `bash moodle/install-into-lab.sh`; \
     for another lab set MOODLE_URL and MOODLE_LAB_DIR (or the MOODLE_*TOKEN variables)";

/// Whose token a session uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The admin, through the lab's own `moosync` service: core functions only.
    Core,
    /// The admin, through `moosync_plugin`: the core functions and the plugin's.
    Plugin,
    /// A user allowed REST and the `moosync_plugin` service but none of the plugin's
    /// capabilities.
    Limited,
}

impl Who {
    fn source(self) -> (&'static str, &'static str) {
        match self {
            Who::Core => ("MOODLE_TOKEN", "token.txt"),
            Who::Plugin => ("MOODLE_PLUGIN_TOKEN", "token-plugin.txt"),
            Who::Limited => ("MOODLE_LIMITED_TOKEN", "token-limited.txt"),
        }
    }
}

pub fn url() -> String {
    std::env::var("MOODLE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_string())
}

pub fn lab_dir() -> PathBuf {
    PathBuf::from(std::env::var("MOODLE_LAB_DIR").unwrap_or_else(|_| "/opt/moodle-lab".to_string()))
}

/// The token `who` uses: its environment variable, else the file the lab scripts wrote.
pub fn token(who: Who) -> String {
    let (var, file) = who.source();
    if let Ok(t) = std::env::var(var) {
        if !t.trim().is_empty() {
            return t.trim().to_string();
        }
    }
    let path = lab_dir().join(file);
    match std::fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => t.trim().to_string(),
        Ok(_) => panic!("{} is empty; {SETUP}", path.display()),
        Err(e) => panic!(
            "no {var} and {} cannot be read ({e}); {SETUP}",
            path.display()
        ),
    }
}

/// One token's conversation with the lab.
pub struct Session {
    client: Client,
}

impl Session {
    /// A session for `who`; the first session of the process checks that the lab answers.
    pub fn connect(who: Who) -> Session {
        static REACHABLE: OnceLock<Result<(), String>> = OnceLock::new();
        let session = Session {
            client: Client::new(
                &url(),
                Token::new(token(who)),
                4,
                Duration::from_secs(300),
                0,
                100,
            ),
        };
        let checked = REACHABLE.get_or_init(|| {
            let core = Session {
                client: Client::new(
                    &url(),
                    Token::new(token(Who::Core)),
                    1,
                    Duration::from_secs(30),
                    0,
                    100,
                ),
            };
            match core
                .client
                .call_once("core_webservice_get_site_info", &Params::new())
            {
                Ok(v) if v.get("siteurl").is_some() => Ok(()),
                Ok(v) => Err(format!("it answered {v}")),
                Err(e) => Err(describe(&e)),
            }
        });
        if let Err(why) = checked {
            panic!(
                "the Moodle lab at {} cannot be reached: {why}; {SETUP}",
                url()
            );
        }
        session
    }

    /// Calls `function` with `params` (a JSON object, sent as PHP form fields); Moodle's own
    /// refusal is the error. A transport fault fails the test.
    #[track_caller]
    pub fn call(&self, function: &str, params: Value) -> Result<Value, MoodleError> {
        match self.client.call_once(function, &form(&params)) {
            Ok(v) => Ok(v),
            Err(CallError::Moodle(e)) => Err(e),
            Err(e) => panic!("{function} at {}: {}; {SETUP}", url(), describe(&e)),
        }
    }

    /// Calls `function`, which must succeed.
    #[track_caller]
    pub fn ok(&self, function: &str, params: Value) -> Value {
        match self.call(function, params) {
            Ok(v) => v,
            Err(e) => panic!("{function} refused: {}", e.describe()),
        }
    }

    /// The names of the functions the session's service offers.
    pub fn functions(&self) -> Vec<String> {
        self.ok("core_webservice_get_site_info", serde_json::json!({}))["functions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["name"].as_str().map(str::to_string))
            .collect()
    }
}

fn describe(e: &CallError) -> String {
    match e {
        CallError::Moodle(m) => m.describe(),
        CallError::Transport(t) => t.clone(),
        CallError::Refused(f) => f.message.clone(),
    }
}

/// A JSON object as PHP form fields: `{"a":[{"b":1}]}` is `a[0][b]=1`; true and false are 1
/// and 0; null is left out.
pub fn form(params: &Value) -> Params {
    fn walk(prefix: String, v: &Value, out: &mut Vec<(String, String)>) {
        let key = |k: &str| {
            if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}[{k}]")
            }
        };
        match v {
            Value::Object(m) => m.iter().for_each(|(k, x)| walk(key(k), x, out)),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| walk(key(&i.to_string()), x, out)),
            Value::String(s) => out.push((prefix, s.clone())),
            Value::Number(n) => out.push((prefix, n.to_string())),
            Value::Bool(b) => out.push((prefix, if *b { "1" } else { "0" }.to_string())),
            Value::Null => {}
        }
    }
    let mut out = Vec::new();
    walk(String::new(), params, &mut out);
    let mut form = Params::new();
    for (k, v) in out {
        form.push(k, v);
    }
    form
}

/// A name no other test, and no earlier run, has used: lower-case letters and digits, starting
/// with `tag` (usernames, shortnames, idnumbers).
pub fn unique(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{tag}{}x{}x{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}
