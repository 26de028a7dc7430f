//! Who is on the other end: the connection's peer, or, when the peer is a trusted
//! proxy (`WOWLOGS_TRUSTED_PROXIES`), the client it names in `X-Forwarded-For`. A
//! client talking to a service directly cannot choose the address it is recorded under.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;
use std::sync::Arc;

/// The address a request is recorded under (in request extensions, from [`crate::serve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

/// An entry of `WOWLOGS_TRUSTED_PROXIES` that is no address or network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("WOWLOGS_TRUSTED_PROXIES: `{0}` is not an address or a network (10.0.0.0/8, ::1)")]
pub struct NotANetwork(pub String);

impl TrustedProxies {
    /// Comma-separated addresses and networks (`127.0.0.1, 172.16.0.0/12`).
    pub fn parse(list: &str) -> Result<Self, NotANetwork> {
        let nets = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| NotANetwork(entry.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies(Arc::new(nets)))
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client behind `peer`: the peer itself, unless it is a trusted proxy; then the
    /// nearest address in `X-Forwarded-For` that is not a trusted proxy (what each proxy
    /// appended, read from the right; whatever the client wrote itself is further left).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
        let hops: Vec<IpAddr> =
            forwarded.flat_map(|v| v.split(',')).filter_map(|hop| hop.trim().parse().ok()).collect();
        hops.into_iter().rev().find(|hop| !self.trusts(*hop)).unwrap_or(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn only_a_trusted_proxy_may_name_the_client() {
        let trusted = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(trusted.client(ip("10.1.2.3"), &forwarded("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(
            trusted.client(ip("198.51.100.7"), &forwarded("203.0.113.9")),
            ip("198.51.100.7"),
            "a client's own header is not believed"
        );
        assert_eq!(
            trusted.client(ip("127.0.0.1"), &forwarded("6.6.6.6, 203.0.113.9, 10.0.0.2")),
            ip("203.0.113.9"),
            "what the client wrote (leftmost) is skipped"
        );
        assert_eq!(trusted.client(ip("127.0.0.1"), &HeaderMap::new()), ip("127.0.0.1"));
        assert!(TrustedProxies::parse("not-a-net").is_err());
    }
}
