//! The console's security over plain HTTP: no page without a session, no session from a
//! wrong secret, a stolen cookie worth nothing once its session ended, no POST without its
//! CSRF token, no file verb leaving the data folder, uploads capped, the lock respected.

use crate::console_server::{self, agent, answer, csrf, login, Served};
use std::io::BufRead;
use std::time::{Duration, Instant};

fn form(url: &str, path: &str, cookie: &str, body: &str) -> console_server::Answer {
    answer(
        agent()
            .post(&format!("{url}{path}"))
            .header("Cookie", cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body.as_bytes()),
    )
}

fn get(url: &str, path: &str, cookie: &str) -> console_server::Answer {
    answer(
        agent()
            .get(&format!("{url}{path}"))
            .header("Cookie", cookie)
            .call(),
    )
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn console_refuses_missing_wrong_and_stolen_sessions() {
    let w = console_server::workdir();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;email\njdoe;J;Doe;j@example.edu\n",
    );
    let served = Served::start(&w);
    let url = &served.url;

    // No cookie: pages lead to the login, actions and streams are refused.
    for path in [
        "/",
        "/files",
        "/files/get?path=inbox/userimport.csv",
        "/settings",
        "/report?path=Reports/x.txt",
    ] {
        let a = get(url, path, "");
        assert_eq!((a.status, a.location.as_str()), (303, "/login"), "{path}");
        assert!(!a.body.contains("jdoe"));
    }
    assert_eq!(get(url, "/runs/1/events", "").status, 401);
    assert_eq!(form(url, "/run", "", "tool=users").status, 401);

    // A wrong secret gives no session, and takes its time.
    let started = Instant::now();
    let a = form(url, "/login", "", "secret=correct-horse-battery-stapl");
    assert_eq!(a.status, 401);
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(
        !a.set_cookie.contains("moosync_session=") || a.set_cookie.contains("moosync_session=;")
    );

    // A session cookie is HttpOnly and SameSite=Strict, and opens the pages.
    let a = form(
        url,
        "/login",
        "",
        &format!("secret={}", console_server::SECRET),
    );
    assert!(
        a.set_cookie.contains("HttpOnly") && a.set_cookie.contains("SameSite=Strict"),
        "{}",
        a.set_cookie
    );
    let cookie = a.set_cookie.split(';').next().unwrap().to_string();
    assert_eq!(get(url, "/files", &cookie).status, 200);

    // A made-up handle is nobody's session.
    let forged = format!("moosync_session={}", "ab".repeat(32));
    assert_eq!(get(url, "/files", &forged).location, "/login");

    // The cookie copied elsewhere (the "thief" has it) stops working at logout.
    let stolen = cookie.clone();
    let token = csrf(url, &cookie);
    let a = form(url, "/logout", &cookie, &format!("csrf={token}"));
    assert_eq!(a.status, 303);
    assert_eq!(get(url, "/files", &stolen).location, "/login");
    assert_eq!(
        form(url, "/run", &stolen, &format!("csrf={token}&tool=users")).status,
        401
    );

    // And at the console's restart: sessions live in the console's memory only.
    let cookie = login(url);
    drop(served);
    let served = Served::start(&w);
    assert_eq!(get(&served.url, "/files", &cookie).location, "/login");
}

#[test]
fn console_posts_need_their_sessions_csrf_token() {
    let w = console_server::workdir();
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;email\njdoe;J;Doe;j@example.edu\n",
    );
    let served = Served::start(&w);
    let url = &served.url;
    let cookie = login(url);
    let token = csrf(url, &cookie);
    let other = csrf(url, &login(url));
    assert_ne!(token, other);
    let path = "path=inbox/userimport.csv";
    for body in [
        path.to_string(),
        format!("{path}&csrf="),
        format!("{path}&csrf={other}"),
        format!("{path}&csrf={}", &token[..63]),
    ] {
        let a = form(url, "/files/delete", &cookie, &body);
        assert_eq!(a.status, 403, "{body}: {}", a.body);
        assert!(a.body.contains("CSRF token"), "{}", a.body);
        assert!(w.join("inbox/userimport.csv").exists());
    }
    // Another site's page posting with the user's cookie is refused by its Origin too.
    let a = answer(
        agent()
            .post(&format!("{url}/files/delete"))
            .header("Cookie", &cookie)
            .header("Origin", "http://evil.example")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(format!("{path}&csrf={token}").as_bytes()),
    );
    assert_eq!(a.status, 403);
    assert!(w.join("inbox/userimport.csv").exists());
    // An upload's token comes as a header.
    let a = answer(
        agent()
            .post(&format!("{url}/files/upload?name=x.csv"))
            .header("Cookie", &cookie)
            .send(&b"a\n"[..]),
    );
    assert_eq!(a.status, 403);
    assert!(!w.join("inbox/x.csv").exists());
    // With its token, the delete goes.
    let a = form(
        url,
        "/files/delete",
        &cookie,
        &format!("{path}&csrf={token}"),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    // Shown on the file manager's page (minijinja writes / as &#x2f;).
    assert!(
        a.body
            .contains("id=\"said\">removed inbox&#x2f;userimport.csv"),
        "{}",
        a.body
    );
    assert!(!w.join("inbox/userimport.csv").exists());
}

#[test]
fn console_file_verbs_never_leave_the_data_folder() {
    let w = console_server::workdir();
    let outside = tempfile::tempdir().unwrap();
    let secret_file = outside.path().join("outside.txt");
    std::fs::write(&secret_file, "OUTSIDE-CONTENT").unwrap();
    std::os::unix::fs::symlink(&secret_file, w.join("Reports/link.txt")).unwrap();
    std::os::unix::fs::symlink(w.join("moosync.toml"), w.join("Trybacks/settings.csv")).unwrap();
    std::fs::create_dir_all(w.join("inbox/.claimed")).unwrap();
    std::fs::write(w.join("inbox/.claimed/held.csv"), "CLAIMED-CONTENT").unwrap();
    let served = Served::start(&w);
    let url = &served.url;
    let cookie = login(url);
    let token = csrf(url, &cookie);
    let bad = [
        "../moosync.toml".to_string(),
        "moosync.toml".into(),
        "state.db".into(),
        "/etc/passwd".into(),
        secret_file.display().to_string(),
        "inbox/../moosync.toml".into(),
        "Reports/../../outside.txt".into(),
        "Reports/link.txt".into(),
        "Trybacks/settings.csv".into(),
        "inbox/.claimed/held.csv".into(),
        "inbox/".into(),
        "".into(),
    ];
    for p in &bad {
        for path in [
            format!("/files/get?path={}", enc(p)),
            format!("/report?path={}", enc(p)),
            format!("/report/errors.csv?path={}", enc(p)),
            format!("/preview?path={}", enc(p)),
            format!("/settings/script?name={}", enc(p)),
        ] {
            let a = get(url, &path, &cookie);
            assert_ne!(a.status, 200, "{path}: {}", a.body);
            for leaked in ["OUTSIDE-CONTENT", "CLAIMED-CONTENT", "root:x:0", "[web]"] {
                assert!(!a.body.contains(leaked), "{path} leaked {leaked}");
            }
        }
        for verb in ["/files/delete", "/files/retry"] {
            let a = form(url, verb, &cookie, &format!("csrf={token}&path={}", enc(p)));
            assert_eq!(a.status, 400, "{verb} {p}: {}", a.body);
        }
    }
    // Uploads: a plain name only.
    for name in [
        "../x.csv",
        "a/b.csv",
        ".hidden.csv",
        "x\n.csv",
        "..",
        "semi;colon.csv",
        "/tmp/x.csv",
    ] {
        let a = answer(
            agent()
                .post(&format!("{url}/files/upload?name={}", enc(name)))
                .header("Cookie", &cookie)
                .header("X-CSRF-Token", &token)
                .send(&b"username\nx\n"[..]),
        );
        assert_eq!(a.status, 400, "{name:?}: {}", a.body);
    }
    assert!(
        secret_file.exists()
            && w.join("moosync.toml").exists()
            && w.join("inbox/.claimed/held.csv").exists()
    );
    assert_eq!(
        std::fs::read_dir(w.join("inbox")).unwrap().count(),
        1,
        "only .claimed"
    );
    assert!(!w.root().parent().unwrap().join("x.csv").exists());
}

#[test]
fn console_caps_uploads_and_respects_the_run_lock() {
    let w = console_server::workdir();
    w.settings("[web]\nsecret_env = \"MOOSYNC_TEST_SECRET\"\nupload_max_mb = 1\n");
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;email\njdoe;J;Doe;j@example.edu\n",
    );
    let served = Served::start(&w);
    let url = &served.url;
    let cookie = login(url);
    let token = csrf(url, &cookie);
    let upload = |name: &str, body: Vec<u8>| {
        answer(
            agent()
                .post(&format!("{url}/files/upload?name={name}"))
                .header("Cookie", &cookie)
                .header("X-CSRF-Token", &token)
                .send(&body[..]),
        )
    };
    let a = upload("big.csv", vec![b'x'; (1 << 20) + 1]);
    assert_eq!(a.status, 413, "{}", a.body);
    assert!(a.body.contains("larger than 1 MiB"), "{}", a.body);
    assert!(!w.join("inbox/big.csv").exists());
    let a = upload("fits.csv", vec![b'x'; 1 << 20]);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body, "added inbox/fits.csv");

    // Another run holds the lock (this test, as `moosync run` would).
    let lock = moosync::runlock::take(&moosync::filearea::FileArea::new(w.root())).unwrap();
    let a = upload("late.csv", b"username\nx\n".to_vec());
    assert_eq!(a.status, 409, "{}", a.body);
    assert!(
        a.body.contains("another run holds the lock") && a.body.contains("try again when it ends"),
        "{}",
        a.body
    );
    let a = form(
        url,
        "/files/delete",
        &cookie,
        &format!("csrf={token}&path=inbox/fits.csv"),
    );
    assert_eq!(a.status, 409);
    assert!(w.join("inbox/fits.csv").exists());

    // A run started from the console gets exit 3's answer, told in its events.
    let a = form(
        url,
        "/run",
        &cookie,
        &format!("csrf={token}&tool=users&dry_run=0"),
    );
    assert_eq!(a.status, 303);
    let run = a.location.clone();
    assert!(run.starts_with("/runs/"), "{run}");
    let mut events = agent()
        .get(&format!("{url}{run}/events"))
        .header("Cookie", &cookie)
        .call()
        .unwrap();
    assert_eq!(
        events
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap(),
        "text/event-stream; charset=utf-8"
    );
    // The events as they come, up to the run's end.
    let mut text = String::new();
    let mut lines = std::io::BufReader::new(events.body_mut().as_reader()).lines();
    while !text.contains(r#""kind":"end""#) {
        let line = lines
            .next()
            .expect("the stream goes on to the end")
            .unwrap();
        text.push_str(&line);
        text.push('\n');
    }
    assert!(text.contains("another run holds the lock (pid "), "{text}");
    let end = text
        .lines()
        .find(|l| l.contains(r#""kind":"end""#))
        .unwrap();
    let end: serde_json::Value = serde_json::from_str(end.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(end["code"], 3, "{text}");
    assert_eq!(
        end["verdict"],
        "not run: another run holds the data folder's lock (exit 3); try again when it ends"
    );
    let page = get(url, &run, &cookie);
    assert_eq!(page.status, 200);
    assert!(w.join("inbox/userimport.csv").exists(), "nothing was run");
    drop(lock);
}

#[test]
fn console_shows_a_broken_script_in_red_and_hides_passwords() {
    let w = console_server::workdir();
    w.script("users.rhai", "fn row(r) { let x = ; }\n");
    w.drop_file(
        "userimport.csv",
        "username;firstname;lastname;email;password\njdoe;J;Doe;j@example.edu;Pw-In-Feed-1!\n",
    );
    let served = Served::start(&w);
    let url = &served.url;
    let cookie = login(url);
    let page = get(url, "/", &cookie);
    assert_eq!(page.status, 200);
    let at = page
        .body
        .find("alert bad script-error")
        .expect("a red alert");
    assert!(
        page.body[at..].contains("Script users.rhai does not compile"),
        "{}",
        page.body
    );
    assert!(
        page.body[at..].contains("MS-S001 users.rhai:1:"),
        "{}",
        page.body
    );
    let out = w.moosync(&["status"]);
    assert!(
        out.stdout.contains(
            "script users.rhai does not compile (its files wait in inbox/): MS-S001 users.rhai:1:"
        ),
        "{}",
        out.stdout
    );
    for path in [
        "/",
        "/files",
        "/run",
        "/problems",
        "/settings",
        "/preview?path=inbox/userimport.csv",
    ] {
        let a = get(url, path, &cookie);
        assert!(!a.body.contains("Pw-In-Feed-1!"), "{path} shows a password");
    }
    // The file itself, downloaded, is the admin's own business.
    assert!(get(url, "/files/get?path=inbox/userimport.csv", &cookie)
        .body
        .contains("Pw-In-Feed-1!"));
}

#[test]
fn console_listens_on_loopback_with_a_secret_only() {
    let w = Workdir::new();
    let out = w.moosync(&["serve", "--listen", "127.0.0.1:0"]);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("the console needs a login secret: set [web] secret_env"),
        "{}",
        out.stderr
    );
    let w = console_server::workdir();
    let out = w.moosync_env(
        &["serve", "--listen", "0.0.0.0:0"],
        &[("MOOSYNC_TEST_SECRET", console_server::SECRET)],
    );
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("0.0.0.0:0 is not a loopback address: set [web] allow_remote = true"),
        "{}",
        out.stderr
    );
    let out = w.moosync_env(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("MOOSYNC_TEST_SECRET", "short")],
    );
    out.expect_code(2);
    assert!(
        out.stderr.contains("must have at least 16 characters"),
        "{}",
        out.stderr
    );
    // A page of another site that points its name at 127.0.0.1 is not answered.
    let served = Served::start(&w);
    let a = answer(
        agent()
            .get(&format!("{}/login", served.url))
            .header("Host", "evil.example")
            .call(),
    );
    assert_eq!(a.status, 421);
}

use crate::workdir::Workdir;
