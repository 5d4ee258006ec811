//! Mail to the administrators (`[mail]`): one plain-text message, by SMTP or a sendmail program.
//!
//! Failures come back as text saying what failed and which setting to check; they never stop a
//! run, and the SMTP password never appears in them.

use crate::config::{MailConfig, MailTransport, TlsMode};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SendmailTransport, SmtpTransport, Transport};
use std::time::Duration;

/// True when `[mail] to` names someone to mail.
pub fn enabled(cfg: &MailConfig) -> bool {
    cfg.to.iter().any(|a| !a.trim().is_empty())
}

/// This machine's name as lettre greets the server with it (EHLO), or "localhost".
pub fn hostname() -> String {
    match ClientId::default() {
        ClientId::Domain(name) if !name.is_empty() => name,
        _ => "localhost".into(),
    }
}

/// The port used: `smtp_port`, or the usual one for the TLS mode when it is 0.
pub fn smtp_port(cfg: &MailConfig) -> u16 {
    match (cfg.smtp_port, cfg.tls) {
        (0, TlsMode::None) => 25,
        (0, TlsMode::Starttls) => 587,
        (0, TlsMode::Tls) => 465,
        (port, _) => port,
    }
}

fn tls_label(tls: TlsMode) -> &'static str {
    match tls {
        TlsMode::None => "none",
        TlsMode::Starttls => "starttls",
        TlsMode::Tls => "tls",
    }
}

/// How mail leaves, in words: "smtp to mail.example.org:587 (tls = starttls)" or
/// "sendmail (/usr/sbin/sendmail)".
pub fn describe(cfg: &MailConfig) -> String {
    match cfg.transport {
        MailTransport::Smtp => format!(
            "smtp to {}:{} (tls = {})",
            cfg.smtp_host,
            smtp_port(cfg),
            tls_label(cfg.tls)
        ),
        MailTransport::Sendmail => format!("sendmail ({})", cfg.sendmail_command),
    }
}

/// Sends one plain-text (UTF-8) message from `[mail] from` to every `[mail] to`.
pub fn send(cfg: &MailConfig, subject: &str, body: &str) -> Result<(), String> {
    let message = build(cfg, subject, body)?;
    match cfg.transport {
        MailTransport::Smtp => send_smtp(cfg, &message),
        MailTransport::Sendmail => send_sendmail(cfg, &message),
    }
}

/// Sends as [`send`] does, and keeps the outcome in state.db for `status` and the console: a
/// failure is recorded (`what`: "run summary", "alarm", "test message"), a mail that goes
/// clears the failures before it.
pub fn send_recorded(
    cfg: &MailConfig,
    state: &crate::state::State,
    what: &str,
    subject: &str,
    body: &str,
) -> Result<(), String> {
    let sent = send(cfg, subject, body);
    // Bookkeeping only: a state.db that cannot take it never changes what the mail did.
    let _ = match &sent {
        Ok(()) => state.clear_mail_failures(),
        Err(e) => state.record_mail_failure(what, e),
    };
    sent
}

/// Why `text` is not an address mail can go to or come from, or None: `name@example.org` or
/// `Name <name@example.org>`, the address one Moodle would accept (its `validate_email`).
/// The settings are checked with it when loaded, and messages built with it.
pub fn address_problem(text: &str) -> Option<String> {
    let text = text.trim();
    let mailbox = match text.parse::<Mailbox>() {
        Ok(m) => m,
        Err(e) => return Some(format!("is not a valid address ({e})")),
    };
    let address = mailbox.email.to_string();
    (!crate::command::moodle_rules::is_valid_email(&address)).then(|| {
        format!(
            "is not an address Moodle accepts ({address:?}: a name, @, and a domain with a dot)"
        )
    })
}

fn mailbox(key: &str, text: &str) -> Result<Mailbox, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!(
            "[mail] {key} is empty; set it to an address such as \"moosync@example.org\""
        ));
    }
    if let Some(why) = address_problem(text) {
        return Err(format!("[mail] {key}: {text:?} {why}; write \"name@example.org\" or \"Name <name@example.org>\""));
    }
    text.parse::<Mailbox>()
        .map_err(|e| format!("[mail] {key}: {text:?}: {e}"))
}

fn build(cfg: &MailConfig, subject: &str, body: &str) -> Result<Message, String> {
    if cfg.to.is_empty() {
        return Err("[mail] to names nobody; set [mail] to and from".into());
    }
    let mut builder = Message::builder()
        .from(mailbox("from", &cfg.from)?)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN);
    for to in &cfg.to {
        builder = builder.to(mailbox("to", to)?);
    }
    builder
        .body(body.to_string())
        .map_err(|e| format!("could not build the message: {e}; check [mail] from and to"))
}

/// The SMTP password: from the variable `password_env`, else the file `password_file`.
fn password(cfg: &MailConfig) -> Result<String, String> {
    if !cfg.password_env.is_empty() {
        match std::env::var(&cfg.password_env) {
            Ok(p) => return Ok(p),
            Err(_) if cfg.password_file.is_some() => {}
            Err(std::env::VarError::NotPresent) => {
                return Err(format!(
                    "[mail] password_env names {}, which is not set in moosync's environment",
                    cfg.password_env
                ))
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(format!(
                    "[mail] password_env: the variable {} is not valid UTF-8",
                    cfg.password_env
                ))
            }
        }
    }
    match &cfg.password_file {
        Some(path) => std::fs::read_to_string(path)
            .map(|p| p.trim_end_matches(['\r', '\n']).to_string())
            .map_err(|e| {
                format!(
                    "[mail] password_file {}: cannot read it ({}); check the path and that moosync's user may read it",
                    path.display(),
                    e.kind()
                )
            }),
        None => Err(
            "[mail] username is set but neither password_env nor password_file is; set one".into(),
        ),
    }
}

fn send_smtp(cfg: &MailConfig, message: &Message) -> Result<(), String> {
    let host = cfg.smtp_host.trim();
    let port = smtp_port(cfg);
    let tls = tls_label(cfg.tls);
    let place = format!("{host}:{port} (tls = {tls})");
    if host.is_empty() {
        return Err("[mail] smtp_host is empty; set it to the mail server's name".into());
    }
    let builder = match cfg.tls {
        TlsMode::None => Ok(SmtpTransport::builder_dangerous(host)),
        TlsMode::Starttls => SmtpTransport::starttls_relay(host),
        TlsMode::Tls => SmtpTransport::relay(host),
    };
    let mut builder = builder.map_err(|e| {
        format!("cannot set up TLS for {place}: {e}; check [mail] smtp_host and tls")
    })?;
    if cfg.smtp_port != 0 {
        builder = builder.port(cfg.smtp_port);
    }
    builder = builder.timeout(Some(Duration::from_secs(cfg.timeout_seconds.max(1))));
    let mut secret = String::new();
    if !cfg.username.is_empty() {
        secret = password(cfg)?;
        builder = builder.credentials(Credentials::new(cfg.username.clone(), secret.clone()));
    }
    let transport = builder.build();
    transport.send(message).map(|_| ()).map_err(|e| {
        let text = format!("SMTP to {place} failed: {}", smtp_failure(&e, cfg));
        scrub(&text, &cfg.username, &secret)
    })
}

/// The first I/O error kind among an error's causes.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

/// What went wrong and what to check, by the kind of SMTP failure.
fn smtp_failure(e: &lettre::transport::smtp::Error, cfg: &MailConfig) -> String {
    use std::io::ErrorKind;
    let text = chain(e);
    let lower = text.to_ascii_lowercase();
    let kind = io_kind(e);
    // lettre's read timeout shows as WouldBlock ("Resource temporarily unavailable") on Linux.
    if e.is_timeout() || matches!(kind, Some(ErrorKind::TimedOut | ErrorKind::WouldBlock)) {
        return format!(
            "no answer within {} s (timeout_seconds); check [mail] smtp_host, smtp_port and that a firewall lets moosync reach the server",
            cfg.timeout_seconds.max(1)
        );
    }
    let hint = if kind == Some(ErrorKind::ConnectionRefused) {
        "nothing answers on that port: check [mail] smtp_host and smtp_port (0 = the usual port of the TLS mode: 25, 587 or 465)".into()
    } else if lower.contains("lookup address") {
        "check [mail] smtp_host: the name does not resolve".into()
    } else if lower.contains("starttls is not supported") {
        "the server does not offer STARTTLS: check [mail] tls and smtp_port (tls = \"tls\" for port 465; \"none\" only for a relay on a trusted network)".into()
    } else if e.is_tls()
        || ["tls", "ssl", "certificate", "handshake", "corrupt message"]
            .iter()
            .any(|w| lower.contains(w))
    {
        "the TLS handshake failed: check [mail] tls matches the port (starttls: usually 587, tls: usually 465) and smtp_host is the name on the server's certificate".into()
    } else if lower.contains("no compatible authentication mechanism") {
        "the server offers no AUTH PLAIN or LOGIN (many offer it only after TLS): check [mail] tls, or leave username empty if the server needs no login".into()
    } else if let Some(code) = e.status() {
        let code = code.to_string();
        if code.starts_with("53") || code == "454" {
            "the server refused the login: check [mail] username and the password".into()
        } else if code.starts_with('5') {
            "the server refused the message: check [mail] from and to, and that the server relays for moosync".into()
        } else {
            "the server is busy or refused for now: try again later".into()
        }
    } else {
        "check [mail] smtp_host, smtp_port and tls".to_string()
    };
    format!("{text}; {hint}")
}

/// An error and its causes, without repeating text already included.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// Removes the password from text that may quote the server: as typed, and base64-encoded as
/// AUTH LOGIN and AUTH PLAIN send it.
fn scrub(text: &str, user: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_string();
    }
    let plain = base64(format!("\0{user}\0{secret}").as_bytes());
    text.replace(&plain, "[credentials]")
        .replace(&base64(secret.as_bytes()), "[password]")
        .replace(secret, "[password]")
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn send_sendmail(cfg: &MailConfig, message: &Message) -> Result<(), String> {
    let command = cfg.sendmail_command.trim();
    if command.is_empty() {
        return Err(
            "[mail] sendmail_command is empty; set it to the program, e.g. \"/usr/sbin/sendmail\""
                .into(),
        );
    }
    SendmailTransport::new_with_command(command)
        .send(message)
        .map_err(|e| {
            format!(
                "the sendmail program {command} failed: {}; check [mail] sendmail_command (a program path, no arguments) and the mail system's log",
                chain(&e).trim_end()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> MailConfig {
        MailConfig {
            from: "moosync@example.org".into(),
            to: vec!["admin@example.org".into()],
            ..MailConfig::default()
        }
    }

    fn closed_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    #[test]
    fn enabled_needs_someone_to_mail() {
        assert!(!enabled(&MailConfig::default()));
        assert!(!enabled(&MailConfig {
            to: vec![" ".into()],
            ..cfg()
        }));
        assert!(enabled(&cfg()));
    }

    #[test]
    fn usual_port_follows_the_tls_mode() {
        let mut c = cfg();
        for (tls, port) in [
            (TlsMode::None, 25),
            (TlsMode::Starttls, 587),
            (TlsMode::Tls, 465),
        ] {
            c.tls = tls;
            assert_eq!(smtp_port(&c), port);
        }
        c.smtp_port = 2525;
        assert_eq!(smtp_port(&c), 2525);
        assert_eq!(describe(&c), "smtp to localhost:2525 (tls = tls)");
    }

    #[test]
    fn bad_addresses_name_the_setting() {
        let e = send(
            &MailConfig {
                from: "not an address".into(),
                ..cfg()
            },
            "s",
            "b",
        )
        .unwrap_err();
        assert!(
            e.contains("[mail] from") && e.contains("not an address"),
            "{e}"
        );
        let e = send(
            &MailConfig {
                to: vec!["admin@example.org".into(), "bob@".into()],
                ..cfg()
            },
            "s",
            "b",
        )
        .unwrap_err();
        assert!(e.contains("[mail] to") && e.contains("bob@"), "{e}");
        let e = send(
            &MailConfig {
                to: vec![],
                ..cfg()
            },
            "s",
            "b",
        )
        .unwrap_err();
        assert!(e.contains("set [mail] to and from"), "{e}");
    }

    #[test]
    fn unreachable_server_names_host_port_and_mode_never_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "Sw0rdf1sh-Secret\n").unwrap();
        let port = closed_port();
        let c = MailConfig {
            smtp_host: "127.0.0.1".into(),
            smtp_port: port,
            tls: TlsMode::None,
            username: "moosync".into(),
            password_file: Some(file),
            timeout_seconds: 5,
            ..cfg()
        };
        let e = send(&c, "s", "b").unwrap_err();
        assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
        assert!(e.contains("tls = none"), "{e}");
        assert!(!e.contains("Sw0rdf1sh"), "{e}");
        assert_eq!(password(&c).unwrap(), "Sw0rdf1sh-Secret");
    }

    #[test]
    fn missing_password_source_says_which() {
        let c = MailConfig {
            username: "moosync".into(),
            password_env: "MOOSYNC_TEST_SURELY_UNSET_PASSWORD".into(),
            ..cfg()
        };
        let e = send(&c, "s", "b").unwrap_err();
        assert!(e.contains("MOOSYNC_TEST_SURELY_UNSET_PASSWORD"), "{e}");
        let c = MailConfig {
            username: "moosync".into(),
            password_file: Some("/nonexistent/moosync-pw".into()),
            ..cfg()
        };
        let e = send(&c, "s", "b").unwrap_err();
        assert!(
            e.contains("[mail] password_file /nonexistent/moosync-pw"),
            "{e}"
        );
    }

    #[test]
    fn scrub_hides_the_password() {
        assert_eq!(
            scrub("535 bad pw hunter2", "u", "hunter2"),
            "535 bad pw [password]"
        );
        // What AUTH PLAIN ("\0u\0secret") and AUTH LOGIN send, echoed back.
        assert_eq!(
            scrub("535 bad AHUAc2VjcmV0 c2VjcmV0", "u", "secret"),
            "535 bad [credentials] [password]"
        );
        assert_eq!(scrub("no secret", "u", ""), "no secret");
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn missing_sendmail_program_is_reported() {
        let c = MailConfig {
            transport: MailTransport::Sendmail,
            sendmail_command: "/nonexistent/sendmail".into(),
            ..cfg()
        };
        let e = send(&c, "s", "b").unwrap_err();
        assert!(
            e.contains("/nonexistent/sendmail") && e.contains("sendmail_command"),
            "{e}"
        );
    }
}
