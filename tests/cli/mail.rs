//! `moosync check-mail` against a real SMTP server (the test sink) and a fake sendmail.

use crate::smtp_sink::{closed_port, SinkOptions, SmtpSink};
use crate::workdir::Workdir;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// `[mail]` for the sink: plain SMTP on 127.0.0.1, two recipients, plus `extra` lines.
fn smtp_settings(port: u16, extra: &str) -> String {
    format!(
        "[mail]\n\
         smtp_host = \"127.0.0.1\"\n\
         smtp_port = {port}\n\
         tls = \"none\"\n\
         timeout_seconds = 5\n\
         from = \"Moosync <moosync@example.org>\"\n\
         to = [\"a@example.org\", \"b@example.net\"]\n\
         {extra}\n"
    )
}

#[test]
fn check_mail_delivers_one_message_to_every_recipient() {
    let sink = SmtpSink::start();
    let w = Workdir::new();
    w.settings(&smtp_settings(sink.port(), ""));
    let out = w.moosync(&["check-mail"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "mail sent to a@example.org, b@example.net\n");
    let got = sink.wait_for(1, WAIT);
    assert_eq!(got.len(), 1, "{got:#?}");
    let m = &got[0];
    assert_eq!(m.from, "moosync@example.org");
    assert_eq!(m.to, ["a@example.org", "b@example.net"]);
    assert!(m.auth.is_none());
    let subject = m.header("Subject").expect("a subject");
    assert!(
        subject.starts_with("moosync: test message from ") && subject.len() > 27,
        "{subject}"
    );
    let from = m.header("From").unwrap();
    assert!(from.contains("<moosync@example.org>"), "{from}");
    let to = m.header("To").unwrap();
    assert!(
        to.contains("a@example.org") && to.contains("b@example.net"),
        "{to}"
    );
    let ct = m.header("Content-Type").unwrap();
    assert!(ct.starts_with("text/plain") && ct.contains("utf-8"), "{ct}");
    let body = m.body();
    let data = w.join("").display().to_string();
    assert!(
        body.contains(&format!("Data folder: {}", data.trim_end_matches('/'))),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "Sent by: smtp to 127.0.0.1:{} (tls = none)",
            sink.port()
        )),
        "{body}"
    );
}

#[test]
fn check_mail_logs_in_with_the_password_from_the_environment_and_never_prints_it() {
    let secret = "Tr0ub4dor-and-3-SECRET";
    let sink = SmtpSink::start_with_auth();
    let w = Workdir::new();
    w.settings(&smtp_settings(
        sink.port(),
        "username = \"moosync-bot\"\npassword_env = \"MOOSYNC_TEST_SMTP_PASSWORD\"",
    ));
    let out = w.moosync_env(&["check-mail"], &[("MOOSYNC_TEST_SMTP_PASSWORD", secret)]);
    out.expect_code(0);
    let got = sink.wait_for(1, WAIT);
    let login = got[0].auth.as_ref().expect("the message came after AUTH");
    assert_eq!(login.mechanism, "PLAIN");
    assert_eq!(login.username, "moosync-bot");
    assert_eq!(login.password, secret);
    assert!(
        !out.stdout.contains(secret) && !out.stderr.contains(secret),
        "{}{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn a_refused_login_is_reported_without_the_password_even_when_the_server_quotes_it() {
    for mechanism in ["LOGIN", "PLAIN"] {
        let secret = "quoted-by-a-careless-server-42";
        let sink = SmtpSink::start_with(SinkOptions {
            auth: Some(mechanism),
            reject_auth_quoting_password: true,
        });
        let w = Workdir::new();
        // The password file ends with a newline, which is not part of the password.
        std::fs::write(w.join("smtp-password"), format!("{secret}\n")).unwrap();
        w.settings(&smtp_settings(
            sink.port(),
            &format!(
                "username = \"moosync-bot\"\npassword_file = '{}'",
                w.join("smtp-password").display()
            ),
        ));
        let out = w.moosync(&["check-mail"]);
        out.expect_code(2);
        let logins = sink.logins();
        assert_eq!(logins.len(), 1, "{logins:?}");
        assert_eq!(logins[0].mechanism, mechanism);
        assert_eq!(logins[0].password, secret);
        assert!(sink.messages().is_empty());
        assert!(
            out.stderr.contains("mail not sent")
                && out.stderr.contains("535")
                && out.stderr.contains("check [mail] username"),
            "{}",
            out.stderr
        );
        for shown in [secret, logins[0].wire.as_str()] {
            assert!(
                !out.stdout.contains(shown) && !out.stderr.contains(shown),
                "{mechanism}: {shown:?} in\n{}{}",
                out.stdout,
                out.stderr
            );
        }
    }
}

#[test]
fn an_unreachable_server_fails_quickly_naming_host_port_and_tls() {
    let port = closed_port();
    let w = Workdir::new();
    w.settings(&smtp_settings(port, ""));
    let started = Instant::now();
    let out = w.moosync(&["check-mail"]);
    out.expect_code(2);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        out.stderr.contains(&format!("127.0.0.1:{port}"))
            && out.stderr.contains("tls = none")
            && out.stderr.contains("smtp_host"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn nobody_to_mail_asks_for_to_and_from() {
    let w = Workdir::new();
    w.settings("[mail]\nsmtp_host = \"127.0.0.1\"\n");
    let out = w.moosync(&["check-mail"]);
    out.expect_code(2);
    assert!(
        out.stderr.contains("set [mail] to and from"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_bad_recipient_names_the_setting() {
    let sink = SmtpSink::start();
    let w = Workdir::new();
    let settings = smtp_settings(sink.port(), "").replace("\"b@example.net\"", "\"b at example\"");
    w.settings(&settings);
    let out = w.moosync(&["check-mail"]);
    out.expect_code(2);
    assert!(
        out.stderr.contains("[mail] to") && out.stderr.contains("b at example"),
        "{}",
        out.stderr
    );
    assert!(sink.messages().is_empty());
}

#[cfg(unix)]
fn fake_sendmail(w: &Workdir, script: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = w.join("fake-sendmail");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[cfg(unix)]
#[test]
fn sendmail_gets_the_envelope_as_arguments_and_the_message_on_stdin() {
    let w = Workdir::new();
    let program = fake_sendmail(
        &w,
        "#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/sendmail-args\"\ncat > \"$(dirname \"$0\")/sendmail-message\"\n",
    );
    w.settings(&format!(
        "[mail]\ntransport = \"sendmail\"\nsendmail_command = '{}'\nfrom = \"moosync@example.org\"\nto = [\"a@example.org\"]\n",
        program.display()
    ));
    let out = w.moosync(&["check-mail"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "mail sent to a@example.org\n");
    let args = std::fs::read_to_string(w.join("sendmail-args")).unwrap();
    assert_eq!(args.trim(), "-i -f moosync@example.org -- a@example.org");
    let message = std::fs::read_to_string(w.join("sendmail-message")).unwrap();
    assert!(
        message.contains("Subject: moosync: test message from ")
            && message.contains(&format!("Sent by: sendmail ({})", program.display())),
        "{message}"
    );
}

#[cfg(unix)]
#[test]
fn a_failing_sendmail_is_reported_with_its_error_output() {
    let w = Workdir::new();
    let program = fake_sendmail(
        &w,
        "#!/bin/sh\ncat > /dev/null\necho 'no relay for example.org' >&2\nexit 75\n",
    );
    w.settings(&format!(
        "[mail]\ntransport = \"sendmail\"\nsendmail_command = '{}'\nfrom = \"moosync@example.org\"\nto = [\"a@example.org\"]\n",
        program.display()
    ));
    let out = w.moosync(&["check-mail"]);
    out.expect_code(2);
    assert!(
        out.stderr.contains("no relay for example.org") && out.stderr.contains("sendmail_command"),
        "{}",
        out.stderr
    );
}
