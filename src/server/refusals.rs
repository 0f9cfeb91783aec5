//! The HTTP layer's own refusals, answered like every other error. hyper refuses a request it
//! cannot parse before any handler exists (a request line that is not HTTP: 400; headers over
//! its limits: 431; a URI too long: 414) with a bare head and an empty body. A client, a log
//! pipeline or a support ticket then has neither a problem+json body nor a request id to
//! follow. [`Refusals`] wraps a connection's byte stream and rewrites exactly those answers on
//! their way out: the same status, `connection: close` as hyper said, a problem+json body and an
//! `X-Request-Id`.
//!
//! How they are told apart: every answer keyward's own router makes for a 4xx is problem+json
//! (`routes::frame` sees to it), so a 4xx head with no content type and an empty body can only
//! be hyper's.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection's byte stream, with hyper's bare refusals rewritten (see the module's docs).
pub struct Refusals<T> {
    inner: T,
    /// A rewritten answer being written out: its bytes, how many are written, and how many of
    /// hyper's bytes it stands for (reported written once it all is).
    pending: Option<(Vec<u8>, usize, usize)>,
}

impl<T> Refusals<T> {
    pub fn new(inner: T) -> Self {
        Refusals {
            inner,
            pending: None,
        }
    }
}

/// The answer to write instead of `head`, when `head` is one of hyper's bare refusals.
fn rewritten(head: &[u8]) -> Option<Vec<u8>> {
    let rest = head.strip_prefix(b"HTTP/1.1 4")?;
    // The whole head, in this one write (hyper writes it so: the stream is not vectored), and
    // nothing after it: no body.
    if !head.ends_with(b"\r\n\r\n") || head.len() > 512 {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?.to_ascii_lowercase();
    if !text.contains("\r\ncontent-length: 0\r\n") || text.contains("\r\ncontent-type:") {
        return None;
    }
    let code: u16 = std::str::from_utf8(rest.get(..2)?)
        .ok()?
        .parse::<u16>()
        .ok()?
        + 400;
    let status = StatusCode::from_u16(code).ok()?;
    let id = super::auth::next_request_id();
    tracing::info!(request_id = %id, status = code, "refused a request that is not well-formed HTTP");
    let body = super::error::status_problem(status);
    let mut answer = format!(
        "HTTP/1.1 {code} {}\r\ncontent-type: application/problem+json\r\nx-request-id: {id}\r\n\
         x-content-type-options: nosniff\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        status.canonical_reason().unwrap_or("Error"),
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    Some(answer)
}

impl<T: AsyncRead + Unpin> AsyncRead for Refusals<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Refusals<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_none() {
            match rewritten(buf) {
                Some(answer) => this.pending = Some((answer, 0, buf.len())),
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        let (answer, written, stands_for) = this.pending.as_mut().expect("set above");
        while *written < answer.len() {
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &answer[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        let stands_for = *stands_for;
        this.pending = None;
        Poll::Ready(Ok(stands_for))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_refusals_are_rewritten() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 15:59:36 GMT\r\n\r\n";
        let answer = String::from_utf8(rewritten(bare).unwrap()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(answer.contains("content-type: application/problem+json\r\n"));
        assert!(answer.contains("x-request-id: req_"));
        assert!(answer.contains(r#""status":431"#), "{answer}");
        // keyward's own answers are left alone: problem+json, a success, a head cut in two.
        for other in [
            &b"HTTP/1.1 404 Not Found\r\ncontent-type: application/problem+json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
        ] {
            assert!(rewritten(other).is_none(), "{}", String::from_utf8_lossy(other));
        }
    }
}
