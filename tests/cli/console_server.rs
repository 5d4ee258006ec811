//! `moosync serve` on a data folder, on a free loopback port, stopped when dropped; and a
//! plain HTTP client for the tests that speak to it without a browser.

use crate::workdir::Workdir;
use std::io::BufRead;
use std::process::{Child, Stdio};
use std::time::Duration;

pub const SECRET: &str = "correct-horse-battery-staple";

pub struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl Served {
    /// Serves `w` (its settings must take the secret from `MOOSYNC_TEST_SECRET`).
    pub fn start(w: &Workdir) -> Served {
        let mut child = w
            .command_with(&["serve", "--listen", "127.0.0.1:0"])
            .env("MOOSYNC_TEST_SECRET", SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("moosync serve starts");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("serve says where it listens").unwrap();
        // "moosync console on http://127.0.0.1:PORT/ for DIR"
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .trim_end_matches('/')
            .to_string();
        std::thread::spawn(move || for _ in lines {});
        Served { child, url }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A data folder whose console secret is `SECRET`, read from the environment.
pub fn workdir() -> Workdir {
    let w = Workdir::new();
    w.settings("[web]\nsecret_env = \"MOOSYNC_TEST_SECRET\"\n");
    w
}

/// An HTTP client that follows no redirect and takes every status as an answer.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Status, headers we look at, and the body as text.
pub struct Answer {
    pub status: u16,
    pub location: String,
    pub set_cookie: String,
    pub body: String,
}

pub fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = r.expect("the console answers");
    let h = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (location, set_cookie) = (h("location"), h("set-cookie"));
    Answer {
        status: r.status().as_u16(),
        location,
        set_cookie,
        body: r.body_mut().read_to_string().unwrap_or_default(),
    }
}

/// Logs in; returns the session cookie (`moosync_session=…`).
pub fn login(url: &str) -> String {
    let a = answer(
        agent()
            .post(&format!("{url}/login"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(format!("secret={SECRET}").as_bytes()),
    );
    assert_eq!(a.status, 303, "{}", a.body);
    a.set_cookie
        .split(';')
        .next()
        .expect("a session cookie")
        .to_string()
}

/// The CSRF token of the session, as its pages carry it.
pub fn csrf(url: &str, cookie: &str) -> String {
    let a = answer(
        agent()
            .get(&format!("{url}/run"))
            .header("Cookie", cookie)
            .call(),
    );
    let meta = "name=\"csrf\" content=\"";
    let at = a.body.find(meta).expect("the csrf meta") + meta.len();
    let token = &a.body[at..at + 64];
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    token.to_string()
}
