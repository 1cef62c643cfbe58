//! Which addresses this node will dial. Only `http(s)` URLs without credentials, ever; and
//! an address a node gave in its own announcement (learnt by gossip, not from an admin)
//! only when it is on the public internet, unless `federation.dial_private_addresses` is
//! on: otherwise any node of the federation could make this one connect to services on
//! its own machine or network.

use std::net::IpAddr;

use thiserror::Error;

use crate::net::is_public;

/// Where an address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// From a pairing (an admin pasted the invite, or redeemed this node's).
    Pairing,
    /// From a node's own announcement on the shared log.
    Announcement,
}

/// Why an address is not dialled.
#[derive(Debug, Error, PartialEq, Eq)]
pub(crate) enum AddressError {
    /// Not a URL.
    #[error("{0:?} is not a web address")]
    NotAUrl(String),
    /// Not http or https.
    #[error("only http:// and https:// addresses are dialled, not {0}:")]
    Scheme(String),
    /// A user name or password in the URL.
    #[error("addresses with a user name or password are not dialled")]
    Credentials,
    /// No host.
    #[error("the address has no host")]
    NoHost,
    /// Loopback, private or link-local, learnt from an announcement.
    #[error(
        "{0} is a loopback or private-network address, which this node only dials when federation.dial_private_addresses is on"
    )]
    Private(String),
    /// The name did not resolve.
    #[error("cannot resolve {0}")]
    Unresolved(String),
}

/// Checks `address` before dialling it; resolves its host to check where it points.
pub(crate) async fn check(
    address: &str,
    source: Source,
    allow_private: bool,
) -> Result<(), AddressError> {
    let url = url::Url::parse(address).map_err(|_| AddressError::NotAUrl(address.to_owned()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AddressError::Scheme(url.scheme().to_owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AddressError::Credentials);
    }
    let host = url.host().ok_or(AddressError::NoHost)?;
    if source == Source::Pairing || allow_private {
        return Ok(());
    }
    let ips: Vec<IpAddr> = match host {
        url::Host::Ipv4(ip) => vec![IpAddr::V4(ip)],
        url::Host::Ipv6(ip) => vec![IpAddr::V6(ip)],
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name == "localhost" || name.ends_with(".localhost") {
                return Err(AddressError::Private(name));
            }
            let port = url.port_or_known_default().unwrap_or(443);
            tokio::net::lookup_host((name.as_str(), port))
                .await
                .map_err(|_| AddressError::Unresolved(name.clone()))?
                .map(|a| a.ip())
                .collect()
        }
    };
    match ips.iter().find(|ip| !is_public(ip)) {
        Some(ip) => Err(AddressError::Private(ip.to_string())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn addresses_by_source() {
        let announced = |a: &'static str| check(a, Source::Announcement, false);
        let cases: Vec<(&str, Result<(), AddressError>)> = vec![
            ("https://93.184.215.14", Ok(())),
            (
                "javascript:alert(1)",
                Err(AddressError::Scheme("javascript".into())),
            ),
            (
                "ftp://93.184.215.14",
                Err(AddressError::Scheme("ftp".into())),
            ),
            (
                "https://user:pw@93.184.215.14",
                Err(AddressError::Credentials),
            ),
            (
                "http://127.0.0.1:7070",
                Err(AddressError::Private("127.0.0.1".into())),
            ),
            (
                "http://localhost:7070",
                Err(AddressError::Private("localhost".into())),
            ),
            (
                "http://10.1.2.3",
                Err(AddressError::Private("10.1.2.3".into())),
            ),
            (
                "http://192.168.0.9",
                Err(AddressError::Private("192.168.0.9".into())),
            ),
            (
                "http://169.254.169.254",
                Err(AddressError::Private("169.254.169.254".into())),
            ),
            ("http://[::1]", Err(AddressError::Private("::1".into()))),
            (
                "http://[fd00::1]",
                Err(AddressError::Private("fd00::1".into())),
            ),
            (
                "http://[::ffff:127.0.0.1]",
                Err(AddressError::Private("::ffff:127.0.0.1".into())),
            ),
            ("not a url", Err(AddressError::NotAUrl("not a url".into()))),
        ];
        for (address, expected) in cases {
            assert_eq!(announced(address).await, expected, "{address}");
        }
        // From a pairing, or with the setting on, private addresses are fine; schemes and
        // credentials never are.
        assert_eq!(
            check("http://127.0.0.1:7070", Source::Pairing, false).await,
            Ok(())
        );
        assert_eq!(
            check("http://127.0.0.1:7070", Source::Announcement, true).await,
            Ok(())
        );
        assert_eq!(
            check("javascript:x", Source::Pairing, true).await,
            Err(AddressError::Scheme("javascript".into()))
        );
    }
}
