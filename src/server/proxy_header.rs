//! The shell side of the PROXY protocol: reads the header a trusted load
//! balancer puts before the SMTP conversation, within its time bound, through
//! the pure parser in `smtp::proxy`. Nothing is sent to the client before the
//! header is complete, so the banner goes out only after it.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_lite::{AsyncReadExt, FutureExt};
use glommio::timer::Timer;
use ipnet::IpNet;

use crate::smtp::proxy::{self, Parsed, ProxyError};
use crate::tls::Stream;

/// Why a trusted peer's connection was dropped before the banner.
#[derive(Debug, thiserror::Error)]
pub enum HeaderFailure {
    /// The header is malformed or not a PROXY header at all.
    #[error("bad PROXY header: {0}")]
    Invalid(#[from] ProxyError),
    /// The peer closed or the read failed.
    #[error("connection lost before the PROXY header: {0}")]
    Lost(std::io::Error),
    /// `[timeouts] proxy_header` passed first.
    #[error("no complete PROXY header within {0:?}")]
    Timeout(Duration),
}

/// What the header said.
#[derive(Debug)]
pub struct Received {
    /// The real client; `None` for a LOCAL header (the balancer's own health
    /// check), which speaks for itself.
    pub client: Option<SocketAddr>,
    /// Octets the peer sent after the header (SMTP that came early).
    pub rest: Vec<u8>,
}

/// True when `peer` is one of `[server] proxy_protocol_from`.
pub fn is_trusted(trusted: &[IpNet], peer: IpAddr) -> bool {
    let peer = peer.to_canonical();
    trusted.iter().any(|net| net.contains(&peer))
}

/// Reads the PROXY header at the start of `stream`.
pub async fn read(stream: &mut Stream, limit: Duration) -> Result<Received, HeaderFailure> {
    let read = async {
        let mut buf = vec![0u8; proxy::V2_MAX];
        let mut filled = 0;
        loop {
            let n = stream
                .read(&mut buf[filled..])
                .await
                .map_err(HeaderFailure::Lost)?;
            if n == 0 {
                return Err(HeaderFailure::Lost(
                    std::io::ErrorKind::UnexpectedEof.into(),
                ));
            }
            filled += n;
            match proxy::parse(&buf[..filled])? {
                Parsed::Incomplete => continue,
                Parsed::Complete { header, consumed } => {
                    return Ok(Received {
                        client: header.source(),
                        rest: buf[consumed..filled].to_vec(),
                    });
                }
            }
        }
    };
    let timeout = async {
        Timer::new(limit).await;
        Err(HeaderFailure::Timeout(limit))
    };
    read.or(timeout).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_is_by_cidr_and_sees_through_v4_mapped_addresses() {
        let trusted: Vec<IpNet> = vec![
            "127.0.0.3/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        assert!(is_trusted(&trusted, "127.0.0.3".parse().unwrap()));
        assert!(is_trusted(&trusted, "::ffff:10.1.2.3".parse().unwrap()));
        assert!(!is_trusted(&trusted, "127.0.0.55".parse().unwrap()));
        assert!(!is_trusted(&[], "127.0.0.3".parse().unwrap()));
    }
}
