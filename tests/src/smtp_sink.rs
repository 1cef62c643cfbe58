//! A small SMTP server for tests (RFC 5321's commands a relay client uses): it keeps
//! every message it accepts, and can be told to answer "busy" (451) or "refused" (550)
//! to recipients, as real relays do.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// How the sink answers recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 250: accepted.
    Accept,
    /// 451: try again later.
    Busy,
    /// 550: no such mailbox.
    Refuse,
}

/// One message received.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The message as sent (headers and body, dot-unstuffed).
    pub raw: String,
}

impl Mail {
    /// A header's value (the first with that name, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next().unwrap_or("");
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = found.as_mut()
                && (line.starts_with(' ') || line.starts_with('\t'))
            {
                v.push_str(line.trim_start());
                continue;
            }
            if found.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                found = Some(v.trim().to_owned());
            }
        }
        found
    }

    /// The message with quoted-printable bodies decoded: what a reader could see.
    pub fn readable(&self) -> String {
        let mut out = String::new();
        let bytes = self.raw.replace("=\r\n", "");
        let mut chars = bytes.as_bytes().iter().copied().peekable();
        let mut buf = Vec::new();
        while let Some(b) = chars.next() {
            if b == b'=' {
                let hi = chars.next();
                let lo = chars.next();
                if let (Some(hi), Some(lo)) = (hi, lo)
                    && let Ok(v) = u8::from_str_radix(&format!("{}{}", hi as char, lo as char), 16)
                {
                    buf.push(v);
                    continue;
                }
                buf.push(b'=');
                buf.extend(hi);
                buf.extend(lo);
            } else {
                buf.push(b);
            }
        }
        out.push_str(&String::from_utf8_lossy(&buf));
        out
    }
}

/// A running sink on 127.0.0.1.
#[derive(Clone)]
pub struct SmtpSink {
    /// Where it listens.
    pub addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    mode: Arc<Mutex<Mode>>,
    /// Recipients answered with 451 or 550 so far.
    turned_away: Arc<Mutex<u32>>,
}

impl SmtpSink {
    /// Starts a sink accepting everything.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = Self {
            addr: listener.local_addr().unwrap(),
            mails: Arc::default(),
            mode: Arc::new(Mutex::new(Mode::Accept)),
            turned_away: Arc::default(),
        };
        let serving = sink.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let sink = serving.clone();
                tokio::spawn(async move {
                    let _ = sink.session(socket).await;
                });
            }
        });
        sink
    }

    /// Changes how recipients are answered.
    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Every message received so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// How many messages were received (without copying them).
    pub fn count(&self) -> usize {
        self.mails.lock().unwrap().len()
    }

    /// Messages received for `address`.
    pub fn mails_to(&self, address: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// How many recipients were answered 451 or 550.
    pub fn turned_away(&self) -> u32 {
        *self.turned_away.lock().unwrap()
    }

    /// Every link (`http://...`) in the messages received so far, oldest first.
    pub fn links(&self) -> Vec<String> {
        let mut out = Vec::new();
        for mail in self.mails() {
            let text = mail.readable();
            let mut rest = text.as_str();
            while let Some(at) = rest.find("http") {
                let tail = &rest[at..];
                let end = tail
                    .find(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
                    .unwrap_or(tail.len());
                let link = tail[..end].replace("&amp;", "&");
                if !out.contains(&link) {
                    out.push(link);
                }
                rest = &tail[end..];
            }
        }
        out
    }

    /// Serves [`SmtpSink::links`] as plain text at `http://<address>/links` (for the
    /// browser suite, which follows links from emails); returns the address.
    pub async fn serve_links(&self) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sink = self.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let body = sink.links().join("\n");
                let mut request = [0u8; 1024];
                let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\naccess-control-allow-origin: *\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        addr
    }

    /// Points a node's `[email]` at this sink (no TLS: it is on loopback).
    pub fn configure(&self, config: &mut kindred_server::Config) {
        config.email.smtp_host = Some("127.0.0.1".to_owned());
        config.email.smtp_port = Some(self.addr.port());
        config.email.security = kindred_server::config::SmtpSecurity::None;
        config.email.from = "Kindred test <kindred@test.example>".to_owned();
    }

    async fn session(&self, socket: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 sink ESMTP\r\n").await?;
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_owned();
            let upper = command.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") {
                b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
            } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
                b"250 ok\r\n"
            } else if upper.starts_with("MAIL FROM:") {
                to.clear();
                b"250 ok\r\n"
            } else if upper.starts_with("RCPT TO:") {
                let mode = *self.mode.lock().unwrap();
                match mode {
                    Mode::Accept => {
                        let address = command[8..].trim().trim_matches(['<', '>']).to_owned();
                        to.push(address);
                        b"250 ok\r\n"
                    }
                    Mode::Busy => {
                        *self.turned_away.lock().unwrap() += 1;
                        b"451 4.3.0 busy, try again later\r\n"
                    }
                    Mode::Refuse => {
                        *self.turned_away.lock().unwrap() += 1;
                        b"550 5.1.1 no such mailbox here\r\n"
                    }
                }
            } else if upper == "DATA" {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut raw = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                    raw.push_str(unstuffed);
                }
                self.mails.lock().unwrap().push(Mail {
                    to: std::mem::take(&mut to),
                    raw,
                });
                b"250 ok\r\n"
            } else if upper.starts_with("RSET") {
                to.clear();
                b"250 ok\r\n"
            } else if upper.starts_with("QUIT") {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                b"502 not here\r\n"
            };
            write.write_all(reply).await?;
        }
    }
}

/// A clock tests can move forward (batching waits, retry waits) without waiting.
#[derive(Debug, Default)]
pub struct MovableClock {
    ahead_ms: std::sync::atomic::AtomicI64,
}

impl MovableClock {
    /// Moves the clock `ms` forward.
    pub fn advance(&self, ms: i64) {
        self.ahead_ms
            .fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl kindred_server::Clock for MovableClock {
    fn now(&self) -> kindred_protocol::Timestamp {
        let ahead = self.ahead_ms.load(std::sync::atomic::Ordering::SeqCst);
        kindred_server::SkewedClock(ahead).now()
    }
}
