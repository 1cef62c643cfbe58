//! Who a request comes from. Directly connected clients are their socket address; behind a
//! reverse proxy listed in `server.trusted_proxies`, the address the proxy reports in the
//! one header `server.proxy_header` names (`X-Forwarded-For` by default, or `Forwarded`,
//! RFC 7239). Headers from anyone else, and the other header, are ignored, so a client
//! cannot pick the address it is throttled as.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::config::ProxyHeader;
use crate::node::Node;

/// The client's address as the node counts it for limits and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddress(pub(crate) IpAddr);

impl FromRequestParts<Node> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, node: &Node) -> Result<Self, Self::Rejection> {
        // Every listener is served with connect info; a request without it (an in-process
        // call) counts as the unspecified address.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        let server = &node.config().server;
        Ok(Self(client_address(
            peer,
            &parts.headers,
            &server.trusted_proxies,
            server.proxy_header,
        )))
    }
}

/// The client address for a request that arrived from `peer`.
///
/// Only when `peer` is a trusted proxy are the forwarding headers read, right to left
/// (each proxy appends the address it received from): the first hop that is not itself a
/// trusted proxy is the client. Only `header` is read: a proxy that sets one passes the
/// other through from the client unchanged. A hop that is not an address (`unknown`, an
/// obfuscated name) stops the walk at the proxy that reported it.
pub(crate) fn client_address(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: ProxyHeader,
) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |a: &IpAddr| trusted.iter().any(|net| net.contains(a));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_hops(headers, header);
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(address) = hop.map(|a| a.to_canonical()) else {
            return client;
        };
        client = address;
        if !is_trusted(&address) {
            return address;
        }
    }
    client
}

/// The `for` hops, left to right, from `header`; `None` for a hop that is not an address.
fn forwarded_hops(headers: &HeaderMap, header: ProxyHeader) -> Vec<Option<IpAddr>> {
    let lines = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().map(str::to_owned).unwrap_or_default())
            .collect()
    };
    if header == ProxyHeader::Forwarded {
        return lines("forwarded")
            .iter()
            .flat_map(|line| line.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.trim().split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| node_address(value.trim()))
                })
            })
            .collect();
    }
    lines("x-forwarded-for")
        .iter()
        .flat_map(|line| line.split(','))
        .map(|hop| node_address(hop.trim()))
        .collect()
}

/// An address from a `Forwarded` node (RFC 7239 section 6: quoted, bracketed IPv6, an
/// optional port) or an `X-Forwarded-For` entry.
fn node_address(value: &str) -> Option<IpAddr> {
    let value = value.trim_matches('"');
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    if let Ok(address) = value.parse() {
        return Some(address);
    }
    // IPv4 with a port.
    let (host, port) = value.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_static(value));
        }
        h
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec![
            "10.0.0.0/8".parse().unwrap(),
            "127.0.0.1/32".parse().unwrap(),
        ];
        let xff = |v| headers(&[("x-forwarded-for", v)]);
        let fwd = |v| headers(&[("forwarded", v)]);
        let x = ProxyHeader::XForwardedFor;
        let f = ProxyHeader::Forwarded;
        for (peer, headers, header, expected) in [
            // A client cannot choose its address by sending the header itself.
            ("203.0.113.5", xff("198.51.100.1"), x, "203.0.113.5"),
            ("127.0.0.1", HeaderMap::new(), x, "127.0.0.1"),
            ("127.0.0.1", xff("198.51.100.1"), x, "198.51.100.1"),
            // The client's own header is on the left; the proxy appends the real one.
            ("127.0.0.1", xff("6.6.6.6, 198.51.100.1"), x, "198.51.100.1"),
            (
                "127.0.0.1",
                xff("198.51.100.1, 10.1.2.3"),
                x,
                "198.51.100.1",
            ),
            ("127.0.0.1", xff("10.9.9.9, 10.1.2.3"), x, "10.9.9.9"),
            ("127.0.0.1", xff("garbage"), x, "127.0.0.1"),
            ("127.0.0.1", xff("6.6.6.6, unknown"), x, "127.0.0.1"),
            ("::ffff:127.0.0.1", xff("198.51.100.1"), x, "198.51.100.1"),
            (
                "127.0.0.1",
                fwd("for=198.51.100.1;proto=https"),
                f,
                "198.51.100.1",
            ),
            (
                "127.0.0.1",
                fwd("for=\"[2001:db8::17]:4711\""),
                f,
                "2001:db8::17",
            ),
            (
                "127.0.0.1",
                fwd("for=\"192.0.2.43:47011\", For=198.51.100.9"),
                f,
                "198.51.100.9",
            ),
            ("127.0.0.1", fwd("for=_hidden"), f, "127.0.0.1"),
        ] {
            assert_eq!(
                client_address(ip(peer), &headers, &trusted, header),
                ip(expected),
                "{peer} {headers:?}"
            );
        }
        // Only the configured header counts: the client sets the other one itself.
        let both = headers(&[
            ("forwarded", "for=6.6.6.6"),
            ("x-forwarded-for", "198.51.100.2"),
        ]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &both, &trusted, x),
            ip("198.51.100.2")
        );
        let both = headers(&[
            ("forwarded", "for=198.51.100.2"),
            ("x-forwarded-for", "6.6.6.6"),
        ]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &both, &trusted, f),
            ip("198.51.100.2")
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), &xff("198.51.100.1"), &[], x),
            ip("127.0.0.1")
        );
    }
}
