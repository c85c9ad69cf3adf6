//! What the servers of `echo` and `http_hello` say: one connection's loop,
//! written once as blocking code (grove, may and std run the same function)
//! and once as async code for tokio, doing the same reads, parsing and writes.

use std::io::{Read, Write};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The request `http_hello`'s client sends, again and again on one connection.
pub const HTTP_REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: grove-bench\r\n\r\n";

/// The one response every `http_hello` server sends.
pub const HTTP_RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nHello world!";

/// Bytes in one `echo` request (and its response).
pub const ECHO_BYTES: usize = 64;

/// Read buffer of a server connection.
const BUF: usize = 8192;

/// The two protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Write back every byte read.
    Echo,
    /// Answer each HTTP/1.1 request with [`HTTP_RESPONSE`], keeping the
    /// connection open until the client closes it or asks to.
    Http,
}

/// What to do with the bytes read so far.
enum Reply {
    /// Write these bytes; `used` bytes of the buffer are consumed.
    Send { used: usize, close: bool },
    /// Not HTTP: drop the connection.
    Drop,
}

impl Protocol {
    /// Serves one connection until the client closes it or an error occurs.
    pub fn serve_blocking<S: Read + Write>(self, mut s: S) {
        let mut buf = vec![0u8; BUF];
        let mut out = Vec::new();
        let mut filled = 0;
        loop {
            match s.read(&mut buf[filled..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => filled += n,
            }
            let (used, close) = match self.reply(&buf[..filled], &mut out) {
                Reply::Send { used, close } => (used, close),
                Reply::Drop => return,
            };
            if s.write_all(&out).is_err() || close {
                return;
            }
            filled = consume(&mut buf, used, filled);
            if filled == buf.len() {
                return;
            }
        }
    }

    /// [`Protocol::serve_blocking`] for a tokio socket.
    pub async fn serve_tokio(self, mut s: tokio::net::TcpStream) {
        let mut buf = vec![0u8; BUF];
        let mut out = Vec::new();
        let mut filled = 0;
        loop {
            match s.read(&mut buf[filled..]).await {
                Ok(0) | Err(_) => return,
                Ok(n) => filled += n,
            }
            let (used, close) = match self.reply(&buf[..filled], &mut out) {
                Reply::Send { used, close } => (used, close),
                Reply::Drop => return,
            };
            if s.write_all(&out).await.is_err() || close {
                return;
            }
            filled = consume(&mut buf, used, filled);
            if filled == buf.len() {
                return;
            }
        }
    }

    /// Puts the answer to `input` in `out`.
    fn reply(self, input: &[u8], out: &mut Vec<u8>) -> Reply {
        out.clear();
        match self {
            Protocol::Echo => {
                out.extend_from_slice(input);
                Reply::Send {
                    used: input.len(),
                    close: false,
                }
            }
            Protocol::Http => match parse_requests(input) {
                Some((used, count, close)) => {
                    for _ in 0..count {
                        out.extend_from_slice(HTTP_RESPONSE);
                    }
                    Reply::Send { used, close }
                }
                None => Reply::Drop,
            },
        }
    }

    /// The request the load client sends.
    pub fn request(self) -> Vec<u8> {
        match self {
            Protocol::Echo => (0..ECHO_BYTES).map(|i| b'a' + (i % 26) as u8).collect(),
            Protocol::Http => HTTP_REQUEST.to_vec(),
        }
    }

    /// The exact response the load client expects.
    pub fn response(self) -> Vec<u8> {
        match self {
            Protocol::Echo => self.request(),
            Protocol::Http => HTTP_RESPONSE.to_vec(),
        }
    }
}

/// Moves the unconsumed bytes to the front; returns how many there are.
fn consume(buf: &mut [u8], used: usize, filled: usize) -> usize {
    buf.copy_within(used..filled, 0);
    filled - used
}

/// Parses the complete requests at the start of `buf`: the bytes they take,
/// how many there are, and whether one asked to close. `None` if the bytes
/// are not HTTP.
pub fn parse_requests(buf: &[u8]) -> Option<(usize, usize, bool)> {
    let (mut used, mut count, mut close) = (0, 0, false);
    while used < buf.len() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf[used..]) {
            Ok(httparse::Status::Complete(n)) => {
                used += n;
                count += 1;
                close |= req.headers.iter().any(|h| {
                    h.name.eq_ignore_ascii_case("connection")
                        && h.value.eq_ignore_ascii_case(b"close")
                });
            }
            Ok(httparse::Status::Partial) => break,
            Err(_) => return None,
        }
    }
    Some((used, count, close))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn http_parses_pipelined_and_partial_requests() {
        let mut two = HTTP_REQUEST.repeat(2);
        two.extend_from_slice(b"GET / HT");
        assert_eq!(
            parse_requests(&two),
            Some((2 * HTTP_REQUEST.len(), 2, false))
        );
        let close = b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
        assert_eq!(parse_requests(close), Some((close.len(), 1, true)));
        assert_eq!(parse_requests(b"\x00\x01 not http\r\n\r\n"), None);
    }

    #[test]
    fn blocking_server_answers_each_protocol() {
        for p in [Protocol::Echo, Protocol::Http] {
            let mut input = p.request();
            input.extend(p.request());
            let mut conn = Duplex {
                input: io::Cursor::new(input),
                output: Vec::new(),
            };
            p.serve_blocking(&mut conn);
            assert_eq!(conn.output, p.response().repeat(2), "{p:?}");
        }
    }

    /// A connection that reads from one buffer and writes to another.
    struct Duplex {
        input: io::Cursor<Vec<u8>>,
        output: Vec<u8>,
    }

    impl Read for &mut Duplex {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            Read::read(&mut self.input, buf)
        }
    }

    impl Write for &mut Duplex {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Write::write(&mut self.output, buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}
