//! What a handler reads of a request and what it answers, over tiny_http (which parses HTTP):
//! the query, a form body, a cookie, and replies with the console's security headers.

use std::collections::HashMap;
use std::io::Read;
use tiny_http::{Header, Request, Response, StatusCode};

/// The parts of a request the handlers use.
pub struct Incoming {
    pub method: tiny_http::Method,
    pub path: String,
    pub query: HashMap<String, String>,
}

impl Incoming {
    pub fn of(rq: &Request) -> Incoming {
        let (path, query) = match rq.url().split_once('?') {
            Some((p, q)) => (p, q),
            None => (rq.url(), ""),
        };
        Incoming {
            method: rq.method().clone(),
            path: path.to_string(),
            query: parse_form(query.as_bytes()),
        }
    }

    pub fn q(&self, key: &str) -> &str {
        self.query.get(key).map(String::as_str).unwrap_or("")
    }
}

/// `a=1&b=x%20y` (a query or an urlencoded body) as a map; a repeated key keeps its last value.
pub fn parse_form(bytes: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

/// A header's value, if the request has it.
pub fn header<'a>(rq: &'a Request, name: &'static str) -> Option<&'a str> {
    rq.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

/// The value of one cookie. Ours are random hex handles, so the pairs of the Cookie header
/// are only split; no other cookie is read.
pub fn cookie<'a>(rq: &'a Request, name: &'static str) -> Option<&'a str> {
    header(rq, "Cookie")?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A form body (urlencoded), read up to `max` bytes; a larger one is refused.
pub fn read_form(rq: &mut Request, max: u64) -> Result<HashMap<String, String>, Reply> {
    let mut body = Vec::new();
    rq.as_reader()
        .take(max + 1)
        .read_to_end(&mut body)
        .map_err(|e| Reply::text(400, &format!("cannot read the form: {e}")))?;
    if body.len() as u64 > max {
        return Err(Reply::text(413, "the form is too large"));
    }
    Ok(parse_form(&body))
}

/// An answer, before the security headers every answer gets.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

pub enum Body {
    Bytes(Vec<u8>),
    File(std::fs::File, usize),
}

impl Reply {
    pub fn html(text: String) -> Reply {
        Reply::with(200, "text/html; charset=utf-8", text.into_bytes())
    }

    pub fn text(status: u16, text: &str) -> Reply {
        Reply::with(
            status,
            "text/plain; charset=utf-8",
            text.as_bytes().to_vec(),
        )
    }

    pub fn with(status: u16, content_type: &str, body: Vec<u8>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body: Body::Bytes(body),
        }
    }

    /// See other: where a form's POST lands.
    pub fn redirect(to: &str) -> Reply {
        Reply {
            status: 303,
            headers: vec![("Location", to.to_string())],
            body: Body::Bytes(Vec::new()),
        }
    }

    /// A file to save, never shown inline (a report or a tryback holds personal data).
    pub fn download(file: std::fs::File, len: usize, name: &str, content_type: &str) -> Reply {
        Reply {
            status: 200,
            headers: vec![
                ("Content-Type", content_type.to_string()),
                ("Content-Disposition", attachment(name)),
            ],
            body: Body::File(file, len),
        }
    }

    pub fn header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }
}

/// `attachment; filename="…"` with a name that cannot break the header.
fn attachment(name: &str) -> String {
    let plain: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("attachment; filename=\"{plain}\"")
}

/// The headers every answer carries: no framing, no sniffing, no referrer to other sites, scripts and
/// styles from the console only, nothing cached.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
];

fn tiny_header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

/// Sends the reply; a client that left is no error of ours.
pub fn send(rq: Request, reply: Reply) {
    let mut headers: Vec<Header> = SECURITY_HEADERS
        .iter()
        .filter_map(|(n, v)| tiny_header(n, v))
        .collect();
    headers.extend(reply.headers.iter().filter_map(|(n, v)| tiny_header(n, v)));
    let status = StatusCode(reply.status);
    let _ = match reply.body {
        Body::Bytes(b) => {
            let len = b.len();
            rq.respond(Response::new(status, headers, &b[..], Some(len), None))
        }
        Body::File(f, len) => rq.respond(Response::new(status, headers, f, Some(len), None)),
    };
}
