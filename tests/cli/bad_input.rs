//! The bad-input corpus: every case under tests/bad-input/<case>/ is run on a data folder of
//! its own, and its `expect.toml` says the exit code, the error code shown, and where the input
//! ends up. No case may end moosync by a signal or keep it waiting. See tests/bad-input/README.md.

use crate::fault_proxy::{FaultProxy, Odd};
use crate::lab::{self, Who};
use crate::workdir::Workdir;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    args: Vec<String>,
    exit: i32,
    code: String,
    ends_in: String,
    file: String,
    make: Option<String>,
    /// Accounts made (by a users file) before the case runs: a picture needs its user.
    #[serde(default)]
    users: Vec<String>,
    /// A file of this folder that replaces `scripts/<its name>`.
    script: Option<String>,
    /// A file of this folder that replaces `moosync.toml`.
    settings: Option<String>,
    /// An output folder of the data folder replaced by a file, so nothing can be written in it.
    unwritable: Option<String>,
    /// The site the run talks to: a stand-in Moodle answering every call oddly
    /// (`"not-utf8"`, `"oversized"`), or `"unreachable"` (a port nobody listens on).
    moodle: Option<String>,
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-input")
}

/// Puts the case's input at `to`: its file, or what its recipe makes.
fn lay_out(case: &Path, expect: &Expect, to: &Path, w: &Workdir) {
    match expect.make.as_deref() {
        None => {
            std::fs::copy(case.join(&expect.file), to).unwrap();
        }
        Some("fifo") => crate::input::mkfifo(to),
        Some("link") => {
            let target = w.join("outside.csv");
            std::fs::write(&target, "username;firstname;lastname\nann;Ann;A\n").unwrap();
            std::os::unix::fs::symlink(target, to).unwrap();
        }
        Some("huge-header") => {
            let mut text = String::from("username;firstname;lastname");
            for i in 0..200_000 {
                text.push_str(&format!(";profile_field_c{i}"));
            }
            text.push_str("\njdoe;Jane;Doe\n");
            std::fs::write(to, text).unwrap();
        }
        Some(other) => panic!("{}: no recipe {other:?}", case.display()),
    }
}

/// Whether something (a file, a folder, a link, a FIFO) is at `path`.
fn there(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Names in an area that end with `_<file>`: how Rejected/ and Archives/ name an input.
fn kept_in(w: &Workdir, area: &str, file: &str) -> Vec<String> {
    std::fs::read_dir(w.join(area))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(&format!("_{file}")))
        .collect()
}

fn reports(w: &Workdir) -> String {
    std::fs::read_dir(w.join("Reports"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect()
}

fn check(case: &Path) {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(case.join("expect.toml")).unwrap();
    let expect: Expect = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let w = Workdir::new();
    if !expect.users.is_empty() {
        let mut file = String::from("username;firstname;lastname\n");
        for u in &expect.users {
            file.push_str(&format!("{u};{u};{u}\n"));
        }
        w.drop_file("userimport.csv", file);
        w.run().expect_code(0);
        for report in std::fs::read_dir(w.join("Reports")).unwrap() {
            std::fs::remove_file(report.unwrap().path()).unwrap();
        }
    }
    let given = expect.args.iter().any(|a| a == "{input}");
    let input = if given {
        let outside = w.join("given");
        std::fs::create_dir_all(&outside).unwrap();
        outside.join(&expect.file)
    } else {
        w.join("inbox").join(&expect.file)
    };
    if let Some(script) = &expect.script {
        std::fs::copy(case.join(script), w.join("scripts").join(script)).unwrap();
    }
    let mut settings = match &expect.settings {
        Some(file) => std::fs::read_to_string(case.join(file)).unwrap(),
        None => String::new(),
    };
    // The lab Moodle behind the fault proxy, which gives the odd answer; kept alive until
    // the run is over.
    let _site = expect.moodle.as_deref().map(|how| {
        lab::Session::connect(Who::Core);
        let site = FaultProxy::start(&lab::url());
        let url = match how {
            "unreachable" => {
                // A port that was just free: nothing listens there.
                let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                format!("http://{}", free.local_addr().unwrap())
            }
            "not-utf8" | "oversized" => {
                let odd = match how {
                    "not-utf8" => Odd::NotUtf8,
                    _ => Odd::Oversized(64 << 20),
                };
                site.answer_next("core_webservice_get_site_info", odd, usize::MAX);
                site.url()
            }
            other => panic!("{name}: no odd Moodle {other:?}"),
        };
        std::fs::write(w.join("token"), lab::token(Who::Core)).unwrap();
        settings.push_str(&format!(
            "\n[target]\nkind = \"moodle\"\nurl = \"{url}\"\ntoken_file = \"{}\"\nretries = 0\ntimeout_seconds = 5\n",
            w.join("token").display()
        ));
        site
    });
    if !settings.is_empty() {
        w.settings(&settings);
    }
    if let Some(area) = &expect.unwritable {
        std::fs::remove_dir_all(w.join(area)).unwrap();
        std::fs::write(w.join(area), "a file where a folder should be").unwrap();
    }
    lay_out(case, &expect, &input, &w);
    let shown = input.to_str().unwrap().to_string();
    let args: Vec<&str> = expect
        .args
        .iter()
        .map(|a| if a == "{input}" { &shown } else { a.as_str() })
        .collect();
    let out = w.moosync_within(&args, Duration::from_secs(120));
    let said = format!("stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    assert_eq!(out.signal, None, "{name}: ended by a signal\n{said}");
    assert_eq!(out.code, expect.exit, "{name}: exit code\n{said}");
    if !expect.code.is_empty() {
        assert!(
            out.stdout.contains(&expect.code)
                || out.stderr.contains(&expect.code)
                || reports(&w).contains(&expect.code),
            "{name}: {} shown nowhere\n{said}",
            expect.code
        );
    }
    let (rejected, archived) = (
        kept_in(&w, "Rejected", &expect.file),
        kept_in(&w, "Archives", &expect.file),
    );
    let waiting = there(&w.join("inbox").join(&expect.file));
    let now = format!("Rejected {rejected:?}, Archives {archived:?}, waiting in inbox/ {waiting}");
    let ok = match expect.ends_in.as_str() {
        "Rejected" => rejected.len() == 1 && archived.is_empty() && !waiting,
        "Archives" => archived.len() == 1 && rejected.is_empty() && !waiting,
        "inbox" => waiting && rejected.is_empty() && archived.is_empty(),
        "left" => given && there(&input) && rejected.is_empty() && archived.is_empty(),
        other => panic!("{name}: ends_in {other:?} is not Rejected, Archives, inbox or left"),
    };
    assert!(ok, "{name}: expected in {}; {now}\n{said}", expect.ends_in);
}

#[test]
fn every_bad_input_case_ends_as_its_expect_toml_says() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expect.toml").is_file())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no case under {}", corpus().display());
    for case in &cases {
        check(case);
    }
}
