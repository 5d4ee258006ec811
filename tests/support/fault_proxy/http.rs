//! A small HTTP/1.1 server on 127.0.0.1 (an ephemeral port), one thread per connection,
//! keep-alive by default, request bodies by Content-Length or chunked. Enough for a REST
//! client's connection pool; dropping the `Server` stops accepting, closes every connection
//! and joins every thread, so no test leaks a listener.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

pub struct Request {
    pub method: String,
    pub target: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }
}

pub enum Reply {
    Send {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// Close the connection without answering (a crash or network cut).
    Hangup,
}

impl Reply {
    pub fn send(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Send {
            status,
            content_type,
            body: body.into(),
        }
    }
}

pub type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

#[derive(Default)]
struct Connections {
    next: u64,
    open: HashMap<u64, TcpStream>,
    threads: Vec<JoinHandle<()>>,
}

pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    conns: Arc<Mutex<Connections>>,
}

impl Server {
    pub fn bind() -> TcpListener {
        TcpListener::bind("127.0.0.1:0").expect("fake Moodle: bind 127.0.0.1:0")
    }

    pub fn start(listener: TcpListener, handler: Handler) -> Server {
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(Connections::default()));
        let (stop2, conns2) = (stop.clone(), conns.clone());
        let accept = thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let Ok(registered) = stream.try_clone() else {
                    continue;
                };
                let mut c = conns2.lock().unwrap();
                c.threads.retain(|t| !t.is_finished());
                let id = c.next;
                c.next += 1;
                c.open.insert(id, registered);
                let (handler, conns3) = (handler.clone(), conns2.clone());
                c.threads.push(thread::spawn(move || {
                    let _ = serve(stream, &handler);
                    conns3.lock().unwrap().open.remove(&id);
                }));
            }
        });
        Server {
            addr,
            stop,
            accept: Some(accept),
            conns,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl std::ops::Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        let threads = {
            let mut c = self.conns.lock().unwrap();
            for s in c.open.values() {
                let _ = s.shutdown(Shutdown::Both);
            }
            std::mem::take(&mut c.threads)
        };
        for t in threads {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, handler: &Handler) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let req = match read_request(&mut reader, &mut writer) {
            Ok(Some(req)) => req,
            Ok(None) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                write_response(&mut writer, 400, "text/plain", b"Bad Request", false)?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let keep_alive = match req.header("connection").map(|v| v.to_ascii_lowercase()) {
            Some(v) if v.contains("close") => false,
            Some(v) if v.contains("keep-alive") => true,
            _ => req.version != "HTTP/1.0",
        };
        match handler(&req) {
            Reply::Hangup => {
                let _ = writer.shutdown(Shutdown::Both);
                return Ok(());
            }
            Reply::Send {
                status,
                content_type,
                body,
            } => {
                write_response(&mut writer, status, content_type, &body, keep_alive)?;
                if !keep_alive {
                    return Ok(());
                }
            }
        }
    }
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// One line without its CRLF; `None` at a clean end of stream.
fn read_line(r: &mut BufReader<TcpStream>) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    if r.by_ref().take(64 * 1024).read_until(b'\n', &mut buf)? == 0 {
        return Ok(None);
    }
    if !buf.ends_with(b"\n") {
        return Err(bad("line too long or cut"));
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

fn read_request(r: &mut BufReader<TcpStream>, w: &mut TcpStream) -> io::Result<Option<Request>> {
    // Tolerate blank lines between requests (RFC 9112 §2.2).
    let line = loop {
        match read_line(r)? {
            None => return Ok(None),
            Some(l) if l.is_empty() => continue,
            Some(l) => break l,
        }
    };
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("bad request line"));
    };
    let mut headers = Vec::new();
    loop {
        let l = read_line(r)?.ok_or_else(|| bad("headers cut"))?;
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').ok_or_else(|| bad("bad header"))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let mut req = Request {
        method: method.into(),
        target: target.into(),
        version: version.into(),
        headers,
        body: Vec::new(),
    };
    if req
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        req.body = read_chunked(r)?;
    } else if let Some(len) = req.header("content-length") {
        let len: usize = len.parse().map_err(|_| bad("bad content-length"))?;
        req.body = vec![0; len];
        r.read_exact(&mut req.body)?;
    }
    Ok(Some(req))
}

fn read_chunked(r: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(r)?.ok_or_else(|| bad("chunk cut"))?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| bad("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the blank line.
            while !read_line(r)?.ok_or_else(|| bad("trailers cut"))?.is_empty() {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        if !read_line(r)?.is_some_and(|l| l.is_empty()) {
            return Err(bad("chunk not followed by CRLF"));
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Moodle's headers (webservice/rest/locallib.php `send_headers`) plus framing.
fn write_response(
    w: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
    keep_alive: bool,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: private, must-revalidate, pre-check=0, post-check=0, max-age=0\r\n\
         Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\nPragma: no-cache\r\nAccept-Ranges: none\r\n\
         Access-Control-Allow-Origin: *\r\nConnection: {}\r\n\r\n",
        reason(status),
        body.len(),
        if keep_alive { "keep-alive" } else { "close" },
    );
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    w.write_all(&out)?;
    w.flush()
}
