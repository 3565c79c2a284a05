//! `watchme healthcheck`: asks the local server's probe and exits 0 when it
//! answers 2xx, 1 otherwise. It is the container image's health check (the
//! runtime image has no shell and no curl), so it needs nothing but the
//! binary: a plain HTTP/1.1 request over TCP, to the configured bind
//! address (`0.0.0.0` and `::` become loopback). With TLS configured the
//! server speaks HTTPS only, so the check falls back to a TCP connect.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::Config;

/// How long the check may take in all.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The address to ask: the bind address, with an unspecified IP as loopback.
fn target(bind: SocketAddr) -> SocketAddr {
    match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bind.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bind.port()),
        _ => bind,
    }
}

/// Checks `/health/live` (or `/health/ready` when `ready`).
///
/// # Errors
/// Why the server is not healthy: unreachable, slow, or a non-2xx answer.
pub async fn check(config: &Config, ready: bool) -> Result<(), String> {
    let addr = target(config.server.bind);
    let path = if ready { "/health/ready" } else { "/health/live" };
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.map_err(|e| format!("{addr}: {e}"))?;
        if config.security.tls.is_some() {
            return Ok(());
        }
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nUser-Agent: watchme-healthcheck\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
        let mut head = vec![0u8; 64];
        let n = stream.read(&mut head).await.map_err(|e| e.to_string())?;
        let line = String::from_utf8_lossy(&head[..n]);
        match line.split_whitespace().nth(1) {
            Some(code) if code.starts_with('2') => Ok(()),
            Some(code) => Err(format!("{path} answered {code}")),
            None => Err(format!("{path}: no HTTP answer")),
        }
    };
    tokio::time::timeout(TIMEOUT, attempt).await.map_err(|_| format!("{addr}{path}: no answer within {TIMEOUT:?}"))?
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn an_unspecified_bind_address_is_asked_on_loopback() {
        assert_eq!(target("0.0.0.0:8080".parse().unwrap()).to_string(), "127.0.0.1:8080");
        assert_eq!(target("[::]:8080".parse().unwrap()).to_string(), "[::1]:8080");
        assert_eq!(target("10.0.0.5:9000".parse().unwrap()).to_string(), "10.0.0.5:9000");
    }
}
