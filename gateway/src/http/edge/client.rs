//! Who a request counts against, for the rate limits and the socket caps: its subject, or the
//! address it comes from (behind trusted proxies, the nearest untrusted one).

use std::{net::IpAddr, sync::Arc};

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, request::Parts},
};

use crate::auth::Caller;

/// Who a request counts against: `sub:<subject>` or `ip:<address>`. Cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Client(Arc<str>);

impl Client {
    pub fn subject(subject: &str) -> Self {
        Self(format!("sub:{subject}").into())
    }

    pub fn address(address: Option<IpAddr>) -> Self {
        match address {
            Some(address) => Self(format!("ip:{address}").into()),
            None => Self("ip:unknown".into()),
        }
    }

    /// The caller's subject, or the address when anonymous.
    pub fn of(caller: &Caller, address: Option<IpAddr>) -> Self {
        match caller.principal() {
            Some(principal) => Self::subject(&principal.subject),
            None => Self::address(address),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Set by `admit` on every request; routers built without it (unit tests) see one
        // unknown client.
        Ok(parts
            .extensions
            .get::<Client>()
            .cloned()
            .unwrap_or_else(|| Client::address(None)))
    }
}

/// The address a request comes from: the peer's, or, when the peer is a trusted proxy, the
/// nearest untrusted address in `X-Forwarded-For` (read from the right: only the proxies we
/// trust appended to it; anything left of them is whatever the client wrote).
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(address) if trusted.contains(&address) => continue,
            Ok(address) => return Some(address),
            // A garbled hop: nothing left of it can be believed.
            Err(_) => return Some(peer),
        }
    }
    Some(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().expect("header"));
        headers
    }

    #[test]
    fn x_forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let client: IpAddr = "203.0.113.7".parse().expect("ip");
        let stranger: IpAddr = "198.51.100.9".parse().expect("ip");
        // From a stranger the header is the stranger's own invention.
        assert_eq!(
            client_address(Some(stranger), &forwarded("203.0.113.7"), &[proxy]),
            Some(stranger)
        );
        // From the proxy: the nearest untrusted hop, whatever the client prepended.
        assert_eq!(
            client_address(Some(proxy), &forwarded("1.2.3.4, 203.0.113.7"), &[proxy]),
            Some(client)
        );
        assert_eq!(
            client_address(Some(proxy), &forwarded("garbage, 10.0.0.1"), &[proxy]),
            Some(proxy)
        );
        assert_eq!(
            client_address(Some(proxy), &HeaderMap::new(), &[proxy]),
            Some(proxy)
        );
    }
}
