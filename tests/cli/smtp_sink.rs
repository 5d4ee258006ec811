//! A small, real SMTP server for tests: plain text on 127.0.0.1, an ephemeral port, one
//! background thread per connection. It speaks enough SMTP for lettre (EHLO/HELO, optional
//! AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and records every message.
//!
//! ```ignore
//! let sink = SmtpSink::start();                 // or SmtpSink::start_with(SinkOptions { .. })
//! // ... point [mail] at 127.0.0.1:sink.port() with tls = "none", send ...
//! let got = sink.wait_for(1, Duration::from_secs(10));
//! assert_eq!(got[0].to, ["a@example.org"]);
//! ```
//!
//! The server stops when the `SmtpSink` is dropped.

#![allow(dead_code)] // not every test uses every accessor

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// One message as the server received it.
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// The envelope sender (MAIL FROM), without the angle brackets.
    pub from: String,
    /// The envelope recipients (RCPT TO), in order.
    pub to: Vec<String>,
    /// The message as sent after DATA: headers and body, CRLF line ends, dots un-stuffed,
    /// without the final ".".
    pub data: String,
    /// The credentials of a successful AUTH on this connection, if any.
    pub auth: Option<Login>,
}

impl Received {
    /// The value of the first header of that name (unfolded), if any.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut fields: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            match fields.last_mut() {
                Some(last) if line.starts_with([' ', '\t']) => {
                    last.push(' ');
                    last.push_str(line.trim());
                }
                _ => fields.push(line.to_string()),
            }
        }
        fields.iter().find_map(|f| {
            let (n, v) = f.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    /// The body: everything after the blank line that ends the headers.
    pub fn body(&self) -> &str {
        self.data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("")
    }
}

/// Credentials received with AUTH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub mechanism: String,
    pub username: String,
    pub password: String,
    /// The client's last AUTH line as sent (base64 holding the password).
    pub wire: String,
}

/// How the server behaves.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// AUTH mechanisms to advertise in the EHLO reply, e.g. "PLAIN LOGIN"; None: no AUTH.
    pub auth: Option<&'static str>,
    /// Refuse every AUTH with a 535 reply that (carelessly) quotes the password it got, plain
    /// and base64 as received, so a test can check the client keeps it out of its messages.
    pub reject_auth_quoting_password: bool,
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<Received>>,
    logins: Mutex<Vec<Login>>,
    arrived: Condvar,
}

pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    accept: Option<thread::JoinHandle<()>>,
}

impl SmtpSink {
    /// A server without AUTH.
    pub fn start() -> SmtpSink {
        SmtpSink::start_with(SinkOptions::default())
    }

    /// A server advertising and accepting `AUTH PLAIN LOGIN`.
    pub fn start_with_auth() -> SmtpSink {
        SmtpSink::start_with(SinkOptions {
            auth: Some("PLAIN LOGIN"),
            ..SinkOptions::default()
        })
    }

    pub fn start_with(options: SinkOptions) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP sink");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (shared, stop) = (shared.clone(), stop.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (shared, options) = (shared.clone(), options.clone());
                    thread::spawn(move || {
                        let _ = Session::new(&stream, &shared, &options).run(&stream);
                    });
                }
            })
        };
        SmtpSink {
            addr,
            shared,
            stop,
            accept: Some(accept),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The messages received so far.
    pub fn messages(&self) -> Vec<Received> {
        self.shared.messages.lock().unwrap().clone()
    }

    /// Every AUTH the server saw, accepted or not.
    pub fn logins(&self) -> Vec<Login> {
        self.shared.logins.lock().unwrap().clone()
    }

    /// The messages once at least `n` have arrived; panics after `timeout`.
    #[track_caller]
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut got = self.shared.messages.lock().unwrap();
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "SMTP sink: {} message(s) after {timeout:?}, wanted {n}",
                got.len()
            );
            got = self.shared.arrived.wait_timeout(got, left).unwrap().0;
        }
        got.clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// A port on 127.0.0.1 with nothing listening (bound to :0, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().unwrap().port()
}

struct Session<'a> {
    reader: BufReader<TcpStream>,
    shared: &'a Shared,
    options: &'a SinkOptions,
    current: Received,
    auth: Option<Login>,
}

impl<'a> Session<'a> {
    fn new(stream: &TcpStream, shared: &'a Shared, options: &'a SinkOptions) -> Session<'a> {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        Session {
            reader: BufReader::new(stream.try_clone().expect("clone the connection")),
            shared,
            options,
            current: Received::default(),
            auth: None,
        }
    }

    fn line(&mut self) -> std::io::Result<Option<String>> {
        let mut buf = Vec::new();
        if self.reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&buf);
        Ok(Some(text.trim_end_matches(['\r', '\n']).to_string()))
    }

    fn run(mut self, mut out: &TcpStream) -> std::io::Result<()> {
        out.write_all(b"220 sink.test ESMTP moosync test sink\r\n")?;
        while let Some(line) = self.line()? {
            let upper = line.to_ascii_uppercase();
            let verb = upper.split(' ').next().unwrap_or("");
            let reply: String = match verb {
                "EHLO" => {
                    let mut r = String::from("250-sink.test greets you\r\n250-8BITMIME\r\n");
                    if let Some(mechs) = self.options.auth {
                        r.push_str(&format!("250-AUTH {mechs}\r\n"));
                    }
                    r.push_str("250 HELP\r\n");
                    r
                }
                "HELO" => "250 sink.test\r\n".into(),
                "AUTH" => self.auth(&line, out)?,
                "MAIL" => {
                    self.current = Received {
                        from: angle(&line),
                        auth: self.auth.clone(),
                        ..Received::default()
                    };
                    "250 2.1.0 OK\r\n".into()
                }
                "RCPT" => {
                    self.current.to.push(angle(&line));
                    "250 2.1.5 OK\r\n".into()
                }
                "DATA" => {
                    out.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")?;
                    let mut data = String::new();
                    loop {
                        let Some(l) = self.line()? else {
                            return Ok(());
                        };
                        if l == "." {
                            break;
                        }
                        data.push_str(l.strip_prefix('.').unwrap_or(&l));
                        data.push_str("\r\n");
                    }
                    let mut msg = std::mem::take(&mut self.current);
                    msg.data = data;
                    msg.auth = self.auth.clone();
                    self.shared.messages.lock().unwrap().push(msg);
                    self.shared.arrived.notify_all();
                    "250 2.0.0 queued\r\n".into()
                }
                "RSET" => {
                    self.current = Received::default();
                    "250 2.0.0 OK\r\n".into()
                }
                "NOOP" => "250 2.0.0 OK\r\n".into(),
                "QUIT" => {
                    out.write_all(b"221 2.0.0 bye\r\n")?;
                    return Ok(());
                }
                _ => "502 5.5.2 command not recognized\r\n".into(),
            };
            out.write_all(reply.as_bytes())?;
        }
        Ok(())
    }

    /// AUTH PLAIN [initial] or AUTH LOGIN; returns the final reply.
    fn auth(&mut self, line: &str, mut out: &TcpStream) -> std::io::Result<String> {
        let Some(offered) = self.options.auth else {
            return Ok("502 5.5.1 AUTH not offered\r\n".into());
        };
        let mut words = line.split_whitespace().skip(1);
        let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
        if !offered.split(' ').any(|m| m == mechanism) {
            return Ok("504 5.5.4 mechanism not offered\r\n".into());
        }
        let initial = words.next().map(str::to_string);
        let mut login = match mechanism.as_str() {
            "PLAIN" => {
                let answer = match initial {
                    Some(a) => a,
                    None => {
                        out.write_all(b"334 \r\n")?;
                        self.line()?.unwrap_or_default()
                    }
                };
                let decoded = String::from_utf8_lossy(&base64_decode(&answer)).into_owned();
                let mut parts = decoded.split('\0').skip(1);
                Login {
                    mechanism,
                    username: parts.next().unwrap_or("").into(),
                    password: parts.next().unwrap_or("").into(),
                    wire: answer.clone(),
                }
            }
            _ => {
                // LOGIN: "Username:" and "Password:", base64.
                out.write_all(b"334 VXNlcm5hbWU6\r\n")?;
                let user = self.line()?.unwrap_or_default();
                out.write_all(b"334 UGFzc3dvcmQ6\r\n")?;
                let pass = self.line()?.unwrap_or_default();
                Login {
                    mechanism,
                    username: String::from_utf8_lossy(&base64_decode(&user)).into_owned(),
                    password: String::from_utf8_lossy(&base64_decode(&pass)).into_owned(),
                    wire: pass,
                }
            }
        };
        login.wire = login.wire.trim().to_string();
        self.shared.logins.lock().unwrap().push(login.clone());
        if self.options.reject_auth_quoting_password {
            return Ok(format!(
                "535 5.7.8 authentication failed for {} with password {} ({})\r\n",
                login.username, login.password, login.wire
            ));
        }
        self.auth = Some(login);
        Ok("235 2.7.0 authenticated\r\n".into())
    }
}

/// The address between `<` and `>` of `MAIL FROM:<a> ...` / `RCPT TO:<b>`.
fn angle(line: &str) -> String {
    match (line.find('<'), line.find('>')) {
        (Some(a), Some(b)) if a < b => line[a + 1..b].to_string(),
        _ => line
            .split_once(':')
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default(),
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for v in text.trim().bytes().filter_map(value) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn sink_decodes_base64() {
    assert_eq!(base64_decode("AHVzZXIAcGFzcw=="), b"\0user\0pass");
    assert_eq!(base64_decode("VXNlcm5hbWU6"), b"Username:");
}
