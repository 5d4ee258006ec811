//! A headless Chromium driven through chromedriver (Debian's `chromium` and
//! `chromium-driver`), spoken to in the W3C WebDriver protocol: JSON over HTTP, through ureq,
//! which moosync already uses. The async WebDriver crates would bring tokio and hyper into a
//! cold CI build for the dozen calls these tests make.
//!
//! A missing browser fails the test saying what to install; it is never skipped.

use serde_json::{json, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
    downloads: tempfile::TempDir,
}

/// The folder screenshots are kept in, as the tests' artifacts.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/web-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Browser {
    pub fn start() -> Browser {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: the console's browser tests need Debian's packages: apt-get install -y chromium chromium-driver (tests/with-lab.sh installs them)"
            );
        }
        let mut driver = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        // "ChromeDriver was started successfully on port 12345."
        let mut port = None;
        let out = driver.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(out).lines();
        let started = Instant::now();
        while port.is_none() && started.elapsed() < Duration::from_secs(20) {
            match lines.next() {
                Some(Ok(l)) if l.contains("started successfully") => {
                    port = l
                        .split("on port ")
                        .nth(1)
                        .and_then(|p| p.trim_end_matches('.').trim().parse::<u16>().ok())
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
        let port = port.expect("chromedriver said its port");
        // Its later output is not read: drain it so it never blocks.
        std::thread::spawn(move || for _ in lines {});
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir().unwrap();
        let downloads = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--window-size=1400,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "download.default_directory": downloads.path().display().to_string(),
                    "download.prompt_for_download": false,
                }
            }
        }}});
        let mut b = Browser {
            driver,
            base,
            session: String::new(),
            agent,
            _profile: profile,
            downloads,
        };
        // chromedriver may take a moment to answer.
        let started = Instant::now();
        let answer = loop {
            match b.call("POST", "/session", Some(caps.clone())) {
                Ok(v) => break v,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("chromedriver gave no session: {e}"),
            }
        };
        b.session = answer["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        // Downloads go to our folder, without asking (headless Chromium's own setting).
        let _ = b.cmd(
            "POST",
            "/goog/cdp/execute",
            json!({"cmd": "Browser.setDownloadBehavior", "params": {"behavior": "allow", "downloadPath": b.downloads.path().display().to_string()}}),
        );
        b
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let answer = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, b) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(b.unwrap_or(json!({})).to_string().as_bytes()),
        };
        let mut answer = answer.map_err(|e| e.to_string())?;
        let text = answer
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        if v["value"]["error"].is_string() {
            return Err(format!("{} {}", v["value"]["error"], v["value"]["message"]));
        }
        Ok(v["value"].clone())
    }

    fn cmd(&self, method: &str, path: &str, body: Value) -> Result<Value, String> {
        let path = format!("/session/{}{path}", self.session);
        self.call(method, &path, Some(body))
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({ "url": url })).unwrap();
    }

    pub fn url(&self) -> String {
        self.cmd("GET", "/url", json!({}))
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    fn find_now(&self, css: &str) -> Option<String> {
        let v = self
            .cmd(
                "POST",
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .ok()?;
        v.as_object()?.values().next()?.as_str().map(str::to_string)
    }

    /// The element matching `css`, waiting up to 20 s for it.
    #[track_caller]
    pub fn find(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(e) = self.find_now(css) {
                return e;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no {css} on {}:\n{}",
                self.url(),
                self.text("body")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn exists(&self, css: &str) -> bool {
        self.find_now(css).is_some()
    }

    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/click"), json!({}))
            .unwrap();
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            json!({ "text": text }),
        )
        .unwrap();
    }

    /// The visible text of the first element matching `css`.
    pub fn text(&self, css: &str) -> String {
        match self.find_now(css) {
            Some(e) => self
                .cmd("GET", &format!("/element/{e}/text"), json!({}))
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            None => String::new(),
        }
    }

    /// Waits up to `limit` for the text of `css` to satisfy `ok`; returns it.
    #[track_caller]
    pub fn wait_text(&self, css: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let t = self.text(css);
            if ok(&t) {
                return t;
            }
            assert!(
                started.elapsed() < limit,
                "{css} never showed what was awaited; it shows {t:?} on {}\n{}",
                self.url(),
                self.text("body")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs a script in the page and gives its value.
    pub fn script(&self, js: &str) -> Value {
        self.cmd("POST", "/execute/sync", json!({"script": js, "args": []}))
            .unwrap()
    }

    pub fn accept_alert(&self) {
        let started = Instant::now();
        while self.cmd("POST", "/alert/accept", json!({})).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no confirm dialog came"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A PNG of the page, kept under target/web-screenshots/.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine as _;
        let v = self.cmd("GET", "/screenshot", json!({})).unwrap();
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// A file the browser saved whose name holds `part`, waiting for it to be whole.
    #[track_caller]
    pub fn downloaded(&self, part: &str) -> (String, Vec<u8>) {
        let started = Instant::now();
        loop {
            let found = std::fs::read_dir(self.downloads.path())
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|n| n.contains(part) && !n.ends_with(".crdownload"));
            if let Some(n) = found {
                return (
                    n.clone(),
                    std::fs::read(self.downloads.path().join(n)).unwrap(),
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no download named like {part}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call("DELETE", &format!("/session/{}", self.session), None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
