//! `cargo xtask latency-proxy UPSTREAM [--latency-ms N]`: an async HTTP/1.1 proxy that adds a
//! fixed latency to every request, for `bench-resolve`.
//!
//! It listens on `127.0.0.1` (an ephemeral port, printed as the first line of stdout:
//! `127.0.0.1:PORT`), waits the latency, then forwards each request to `UPSTREAM` (`host:port`)
//! over one keep-alive upstream connection per client connection, and relays the answer byte
//! for byte (`Content-Length` and chunked bodies). `GET /_proxy/requests` answers the number of
//! requests forwarded so far (not counted itself). One task per connection on tokio, so
//! hundreds of concurrent connections cost no threads — unlike the Python proxy it replaces,
//! whose per-connection threads and GIL dominated the benchmark.

use anyhow::{bail, Context, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Largest request or response head accepted.
const MAX_HEAD: usize = 64 << 10;

/// One HTTP/1.1 message head: its raw bytes and what framing it announces.
struct Head {
    raw: Vec<u8>,
    first_line: String,
    content_length: Option<u64>,
    chunked: bool,
    close: bool,
}

async fn read_head<R: AsyncBufReadExt + Unpin>(r: &mut R) -> Result<Option<Head>> {
    let mut raw = Vec::new();
    loop {
        let before = raw.len();
        let n = r.read_until(b'\n', &mut raw).await?;
        if n == 0 {
            if before == 0 {
                return Ok(None);
            }
            bail!("connection closed inside a message head");
        }
        if raw.len() > MAX_HEAD {
            bail!("message head larger than {MAX_HEAD} bytes");
        }
        let line = &raw[before..];
        if line == b"\r\n" || line == b"\n" {
            if before == 0 {
                // Stray empty line between messages.
                raw.clear();
                continue;
            }
            break;
        }
    }
    let text = String::from_utf8_lossy(&raw).to_string();
    let mut lines = text.lines();
    let first_line = lines.next().unwrap_or_default().to_string();
    let (mut content_length, mut chunked, mut close) = (None, false, false);
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase());
        match k.as_str() {
            "content-length" => content_length = v.parse().ok(),
            "transfer-encoding" => chunked = v.contains("chunked"),
            "connection" => close = v.contains("close"),
            _ => {}
        }
    }
    Ok(Some(Head {
        raw,
        first_line,
        content_length,
        chunked,
        close,
    }))
}

/// Copies a message body framed as `head` says from `r` to `w`.
async fn relay_body<R, W>(head: &Head, r: &mut R, w: &mut W, no_body: bool) -> Result<()>
where
    R: AsyncBufReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    if no_body {
        return Ok(());
    }
    if head.chunked {
        loop {
            let mut size_line = Vec::new();
            r.read_until(b'\n', &mut size_line).await?;
            w.write_all(&size_line).await?;
            let text = String::from_utf8_lossy(&size_line);
            let hex = text.trim().split(';').next().unwrap_or("0");
            let size = u64::from_str_radix(hex, 16).context("bad chunk size")?;
            if size == 0 {
                // Trailers until the empty line.
                loop {
                    let mut l = Vec::new();
                    r.read_until(b'\n', &mut l).await?;
                    w.write_all(&l).await?;
                    if l == b"\r\n" || l == b"\n" || l.is_empty() {
                        return Ok(());
                    }
                }
            }
            let mut chunk = r.take(size + 2);
            tokio::io::copy(&mut chunk, w).await?;
        }
    }
    if let Some(n) = head.content_length {
        let mut body = r.take(n);
        tokio::io::copy(&mut body, w).await?;
    }
    Ok(())
}

async fn connection(
    client: TcpStream,
    upstream: Arc<String>,
    latency: Duration,
    count: Arc<AtomicU64>,
) -> Result<()> {
    client.set_nodelay(true)?;
    let (cr, mut cw) = client.into_split();
    let mut cr = BufReader::new(cr);
    let mut up: Option<(
        BufReader<tokio::net::tcp::OwnedReadHalf>,
        tokio::net::tcp::OwnedWriteHalf,
    )> = None;
    // A TLS handshake (clients that try HTTPS first, like skopeo with --tls-verify=false):
    // answer as a plain HTTP server does, so the client falls back to HTTP at once.
    if cr.fill_buf().await?.first() == Some(&0x16) {
        cw.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await?;
        return Ok(());
    }
    while let Some(req) = read_head(&mut cr).await? {
        if req.first_line.starts_with("GET /_proxy/requests ") {
            let body = count.load(Ordering::SeqCst).to_string();
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            cw.write_all(resp.as_bytes()).await?;
            continue;
        }
        count.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(latency).await;
        if up.is_none() {
            let s = TcpStream::connect(upstream.as_str())
                .await
                .with_context(|| format!("connecting to {upstream}"))?;
            s.set_nodelay(true)?;
            let (r, w) = s.into_split();
            up = Some((BufReader::new(r), w));
        }
        let (ur, uw) = up.as_mut().expect("connected above");
        uw.write_all(&req.raw).await?;
        relay_body(&req, &mut cr, uw, false).await?;
        let head_request = req.first_line.starts_with("HEAD ");
        let Some(resp) = read_head(ur).await? else {
            bail!("upstream closed the connection");
        };
        cw.write_all(&resp.raw).await?;
        let status: u16 = resp
            .first_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let no_body =
            head_request || status == 204 || status == 304 || (100..200).contains(&status);
        if !no_body && !resp.chunked && resp.content_length.is_none() {
            // Body until the upstream closes.
            tokio::io::copy(ur, &mut cw).await?;
            return Ok(());
        }
        relay_body(&resp, ur, &mut cw, no_body).await?;
        if resp.close {
            up = None;
        }
        if req.close {
            break;
        }
    }
    Ok(())
}

/// Runs the proxy until the process is killed.
pub fn run(args: &[String]) -> Result<()> {
    let upstream = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .context("usage: cargo xtask latency-proxy UPSTREAM_HOST:PORT [--latency-ms N]")?
        .clone();
    let latency_ms: u64 = match args.iter().position(|a| a == "--latency-ms") {
        Some(i) => args
            .get(i + 1)
            .context("--latency-ms needs a number")?
            .parse()
            .context("--latency-ms needs a number")?,
        None => 20,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("{}", listener.local_addr()?);
        use std::io::Write;
        std::io::stdout().flush()?;
        let upstream = Arc::new(upstream);
        let count = Arc::new(AtomicU64::new(0));
        let latency = Duration::from_millis(latency_ms);
        loop {
            let (sock, _) = listener.accept().await?;
            let (upstream, count) = (upstream.clone(), count.clone());
            tokio::spawn(async move {
                if let Err(e) = connection(sock, upstream, latency, count).await {
                    eprintln!("latency-proxy: {e:#}");
                }
            });
        }
    })
}
