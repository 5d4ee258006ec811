//! Who may use the console: one secret (from `[web] secret_env` or `secret_file`, never from
//! moosync.toml, never logged), then a session.
//!
//! A session is a random handle kept by the server (the cookie holds nothing to forge or
//! decode), HttpOnly and SameSite=Strict. It ends at logout, after `[web] session_minutes`
//! unused, after `MAX_AGE` in any case, and when the console stops: a cookie copied from a
//! browser is worth nothing once any of these happened. Each session has its own CSRF token,
//! which every POST must carry. On loopback, binding a session to the client's address adds
//! nothing (every client is 127.0.0.1), so the protection is the handle's short life.

use crate::codes::{Code, Failure};
use crate::config::WebConfig;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

pub const COOKIE: &str = "moosync_session";
/// However much it is used, a session ends after this.
pub const MAX_AGE: Duration = Duration::from_secs(12 * 3600);
/// A secret shorter than this is refused: it guards the whole data folder.
pub const SECRET_MIN: usize = 16;

/// The login secret, held only to compare.
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// Reads the secret where the settings say; `serve` cannot start without one.
    pub fn load(cfg: &WebConfig) -> Result<Secret, Failure> {
        let bad = |m: String| Failure::new(Code::ConfigInvalid, m);
        let text = if !cfg.secret_env.is_empty() {
            std::env::var(&cfg.secret_env).map_err(|_| {
                bad(format!(
                    "[web] secret_env names {}, which is not set in moosync's environment",
                    cfg.secret_env
                ))
            })?
        } else if let Some(file) = &cfg.secret_file {
            std::fs::read_to_string(file).map_err(|e| {
                bad(format!(
                    "[web] secret_file: cannot read {}: {e}",
                    file.display()
                ))
            })?
        } else {
            return Err(bad("the console needs a login secret: set [web] secret_env (an environment variable's name) or [web] secret_file (an absolute path) in moosync.toml".into()));
        };
        // A file's last line break is not part of the secret.
        let text = text.trim_end_matches(['\n', '\r']);
        if text.chars().count() < SECRET_MIN {
            return Err(bad(format!(
                "the console's login secret ([web] secret_env or secret_file) must have at least {SECRET_MIN} characters"
            )));
        }
        Ok(Secret(text.as_bytes().to_vec()))
    }

    pub fn matches(&self, given: &str) -> bool {
        self.0.ct_eq(given.as_bytes()).into()
    }

    #[cfg(test)]
    pub fn of(text: &str) -> Secret {
        Secret(text.as_bytes().to_vec())
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub csrf: String,
    created: Instant,
    used: Instant,
}

/// The sessions of this console process.
pub struct Sessions {
    idle: Duration,
    all: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes as hex: a session handle or a CSRF token.
pub fn token() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the system's random source");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Sessions {
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            idle,
            all: Mutex::new(HashMap::new()),
        }
    }

    fn all(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.all.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session (a new handle: one a visitor planted before the login is never used).
    pub fn start(&self, now: Instant) -> (String, Session) {
        let s = Session {
            csrf: token(),
            created: now,
            used: now,
        };
        let handle = token();
        let mut all = self.all();
        all.retain(|_, s| self.alive(s, now));
        all.insert(handle.clone(), s.clone());
        (handle, s)
    }

    fn alive(&self, s: &Session, now: Instant) -> bool {
        now.saturating_duration_since(s.used) < self.idle
            && now.saturating_duration_since(s.created) < MAX_AGE
    }

    /// The live session of this handle, marked used; an expired one ends here.
    pub fn check(&self, handle: &str, now: Instant) -> Option<Session> {
        let mut all = self.all();
        let alive = all.get(handle).map(|s| self.alive(s, now))?;
        if !alive {
            all.remove(handle);
            return None;
        }
        let s = all.get_mut(handle)?;
        s.used = now;
        Some(s.clone())
    }

    pub fn end(&self, handle: &str) {
        self.all().remove(handle);
    }
}

/// Whether a POST's token is its session's.
pub fn csrf_ok(session: &Session, given: &str) -> bool {
    !given.is_empty() && session.csrf.as_bytes().ct_eq(given.as_bytes()).into()
}

/// The Set-Cookie of a session: the browser sends it back only to this console, never to a
/// script, never on a request another site started.
pub fn cookie(handle: &str) -> String {
    format!("{COOKIE}={handle}; Path=/; HttpOnly; SameSite=Strict")
}

/// The Set-Cookie that ends it in the browser.
pub fn cookie_cleared() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_ends_unused_at_logout_and_at_its_age() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let (h, s) = sessions.start(t0);
        assert_eq!(h.len(), 64);
        assert_ne!(h, s.csrf);
        assert!(sessions.check(&h, t0 + Duration::from_secs(59)).is_some());
        // Used at 59 s: alive until 119 s.
        assert!(sessions.check(&h, t0 + Duration::from_secs(118)).is_some());
        assert!(sessions.check(&h, t0 + Duration::from_secs(179)).is_none());
        // Gone for good, even if asked at an earlier time.
        assert!(sessions.check(&h, t0).is_none());

        let (h2, _) = sessions.start(t0);
        sessions.end(&h2);
        assert!(sessions.check(&h2, t0).is_none());

        let busy = Sessions::new(Duration::from_secs(3600));
        let (h3, _) = busy.start(t0);
        let mut t = t0;
        while t < t0 + MAX_AGE - Duration::from_secs(1800) {
            t += Duration::from_secs(1800);
            assert!(busy.check(&h3, t).is_some());
        }
        assert!(busy.check(&h3, t0 + MAX_AGE).is_none());
        assert!(busy.check("0".repeat(64).as_str(), t0).is_none());
    }

    #[test]
    fn secrets_and_tokens_compare_whole() {
        let s = Secret::of("correct horse battery");
        assert!(s.matches("correct horse battery"));
        assert!(!s.matches("correct horse batter"));
        assert!(!s.matches(""));
        let sessions = Sessions::new(Duration::from_secs(60));
        let (_, session) = sessions.start(Instant::now());
        assert!(csrf_ok(&session, &session.csrf.clone()));
        assert!(!csrf_ok(&session, ""));
        assert!(!csrf_ok(&session, &session.csrf[..63]));
        assert_ne!(token(), token());
    }
}
