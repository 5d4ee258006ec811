//! A small fluent builder: lays out a data folder, drops files, runs the real moosync binary,
//! and reads back reports, trybacks and the embedded store.

use std::path::PathBuf;
use std::process::Command;

pub struct Workdir {
    dir: tempfile::TempDir,
    /// The umask every moosync this runs starts with; None: the test's own.
    umask: Option<libc::mode_t>,
}

pub struct Output {
    /// The exit code; -1 when a signal ended the process (see `signal`).
    pub code: i32,
    /// The signal that ended the process (an abort, a crash), if one did.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.signal, None,
            "moosync was ended by a signal\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Workdir {
    /// A data folder made by `moosync init`.
    pub fn new() -> Workdir {
        let w = Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
            umask: None,
        };
        w.moosync(&["init"]).expect_code(0);
        w
    }

    /// A data folder made by `moosync init`, every moosync run with this umask (from `init`
    /// on), as a careless operator's shell would have it.
    pub fn with_umask(umask: libc::mode_t) -> Workdir {
        let w = Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
            umask: Some(umask),
        };
        w.moosync(&["init"]).expect_code(0);
        w
    }

    /// The folder itself, before `init` ran (tests of `init`'s own work).
    pub fn root(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The moosync binary with `--data` and the environment every test runs it with.
    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_moosync"));
        c.arg("--data")
            .arg(self.dir.path())
            .env_remove("MOOSYNC_DATA")
            // Dates without an offset are local time: pin the zone so results are stable.
            .env("TZ", "UTC");
        if let Some(mask) = self.umask {
            use std::os::unix::process::CommandExt;
            // SAFETY: umask is async-signal-safe and touches no memory.
            unsafe {
                c.pre_exec(move || {
                    libc::umask(mask);
                    Ok(())
                });
            }
        }
        c
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Replaces moosync.toml; keys not given keep their defaults.
    pub fn settings(&self, toml: &str) -> &Self {
        std::fs::write(self.join("moosync.toml"), toml).unwrap();
        self
    }

    pub fn drop_file(&self, name: &str, bytes: impl AsRef<[u8]>) -> &Self {
        std::fs::write(self.join("inbox").join(name), bytes).unwrap();
        self
    }

    pub fn script(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.join("scripts").join(name), text).unwrap();
        self
    }

    pub fn moosync(&self, args: &[&str]) -> Output {
        let out = self.command().args(args).output().expect("moosync runs");
        Output {
            code: out.status.code().unwrap_or(-1),
            signal: std::os::unix::process::ExitStatusExt::signal(&out.status),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Like [`Workdir::moosync`], with extra environment variables for the child only.
    pub fn moosync_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let out = self
            .command()
            .args(args)
            .envs(env.iter().copied())
            .output()
            .expect("moosync runs");
        Output {
            code: out.status.code().unwrap_or(-1),
            signal: std::os::unix::process::ExitStatusExt::signal(&out.status),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The moosync command for this data folder, to spawn by hand (to read its output as it
    /// comes, or close it early).
    pub fn command_with(&self, args: &[&str]) -> Command {
        let mut c = self.command();
        c.args(args);
        c
    }

    /// Like [`Workdir::moosync`], but a run still going after `limit` is killed and the test
    /// fails: for inputs that once made moosync wait for ever (a FIFO).
    pub fn moosync_within(&self, args: &[&str], limit: std::time::Duration) -> Output {
        use std::io::Read;
        let mut child = Command::new(env!("CARGO_BIN_EXE_moosync"))
            .arg("--data")
            .arg(self.dir.path())
            .args(args)
            .env_remove("MOOSYNC_DATA")
            .env("TZ", "UTC")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("moosync runs");
        let drain = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = r.read_to_string(&mut text);
                text
            })
        };
        let stdout = drain(Box::new(child.stdout.take().unwrap()));
        let stderr = drain(Box::new(child.stderr.take().unwrap()));
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!("moosync {args:?} was still running after {limit:?}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        Output {
            code: status.code().unwrap_or(-1),
            signal: std::os::unix::process::ExitStatusExt::signal(&status),
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        }
    }

    pub fn run(&self) -> Output {
        self.moosync(&["run", "--quiet"])
    }

    /// The files (not folders) of an area, oldest first (names of one second share a stamp).
    pub fn files(&self, area: &str) -> Vec<PathBuf> {
        let mut v: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(self.join(area))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_type().unwrap().is_file())
                    .map(|e| (e.metadata().unwrap().modified().unwrap(), e.path()))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v.into_iter().map(|(_, p)| p).collect()
    }

    /// The newest text report, with time stamps and the temp folder redacted.
    pub fn report(&self) -> String {
        let last = self
            .files("Reports")
            .into_iter()
            .rfind(|p| p.extension().is_some_and(|e| e == "txt"))
            .expect("a report");
        self.redact(&std::fs::read_to_string(last).unwrap())
    }

    pub fn report_jsonl(&self) -> Vec<serde_json::Value> {
        let last = self
            .files("Reports")
            .into_iter()
            .rfind(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .expect("a report");
        std::fs::read_to_string(last)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The newest tryback's bytes.
    pub fn tryback(&self) -> Option<Vec<u8>> {
        self.files("Trybacks")
            .into_iter()
            .next_back()
            .map(|p| std::fs::read(p).unwrap())
    }

    pub fn redact(&self, text: &str) -> String {
        let dir = self.dir.path().display().to_string();
        let text = text.replace(&dir, "[DATA]");
        regex_lite_replace(&text)
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.join("moodle.db")).unwrap()
    }

    /// One column of the account with this username, as text.
    pub fn user_field(&self, username: &str, column: &str) -> Option<String> {
        use rusqlite::OptionalExtension;
        self.db()
            .query_row(
                &format!("SELECT CAST({column} AS TEXT) FROM mdl_user WHERE username = ?1"),
                [username],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
            .unwrap()
            .flatten()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

/// Replaces `20261125-061503` and `2026-11-25 06:15:03` stamps (no regex crate needed).
fn regex_lite_replace(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let digits = |s: &[u8]| s.iter().all(|c| c.is_ascii_digit());
    while i < b.len() {
        if i + 15 <= b.len()
            && digits(&b[i..i + 8])
            && b[i + 8] == b'-'
            && digits(&b[i + 9..i + 15])
        {
            out.push_str("[STAMP]");
            i += 15;
        } else if i + 19 <= b.len()
            && digits(&b[i..i + 4])
            && b[i + 4] == b'-'
            && digits(&b[i + 5..i + 7])
            && b[i + 7] == b'-'
            && digits(&b[i + 8..i + 10])
            && b[i + 10] == b' '
            && digits(&b[i + 11..i + 13])
            && b[i + 13] == b':'
        {
            out.push_str("[TIME]");
            i += 19;
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// insta settings for the top-level snapshots/ folder.
pub fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}
