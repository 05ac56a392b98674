//! Where a backend's endpoints come from: the configured URLs, each host resolved to addresses.
//! An IP address is one endpoint for good; a DNS name is looked up again and again, so a headless
//! Kubernetes Service (one A record per ready pod) yields one endpoint per pod as pods come and go.

use std::{
    collections::{BTreeMap, BTreeSet},
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
};

use http::Uri;

/// Looks a host name up: `(host, port)` to addresses. The default asks the system resolver;
/// tests give their own to play DNS changes.
pub type Resolver = Arc<
    dyn Fn(String, u16) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send>>
        + Send
        + Sync,
>;

/// The system resolver (`getaddrinfo`, on a blocking thread), as every other client on the host
/// sees names. It caches nothing itself, so each lookup sees the cluster DNS's current answer.
pub fn system_resolver() -> Resolver {
    Arc::new(|host, port| {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect())
        })
    })
}

/// One configured URL.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) url: Uri,
    pub(crate) scheme: String,
    pub(crate) host: Host,
    pub(crate) port: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Host {
    Ip(IpAddr),
    Name(String),
}

impl Target {
    /// `http://host:port` or `https://…`; the port defaults to the scheme's.
    pub(crate) fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url.trim().parse().map_err(|err| format!("{err}"))?;
        let scheme = match uri.scheme_str() {
            Some(scheme @ ("http" | "https")) => scheme.to_owned(),
            _ => return Err("expected an http:// or https:// URL".to_owned()),
        };
        let host = uri.host().ok_or("the URL names no host")?;
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        // `[::1]` keeps its brackets in a URI.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let host = match bare.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(bare.to_owned()),
        };
        Ok(Self {
            url: uri,
            scheme,
            host,
            port,
        })
    }

    /// The address itself when the host is an IP address: nothing to look up, ever.
    pub(crate) fn fixed(&self) -> Option<SocketAddr> {
        match self.host {
            Host::Ip(ip) => Some(SocketAddr::new(ip, self.port)),
            Host::Name(_) => None,
        }
    }
}

/// The last usable answer for each target. A failed or empty lookup keeps the previous answer:
/// a DNS hiccup must not empty a backend whose pods are fine (health checks take out the ones
/// that really went away).
#[derive(Debug)]
pub(crate) struct Resolved {
    answers: Vec<Option<BTreeSet<SocketAddr>>>,
}

impl Resolved {
    pub(crate) fn new(targets: &[Target]) -> Self {
        Self {
            answers: targets
                .iter()
                .map(|target| target.fixed().map(|addr| BTreeSet::from([addr])))
                .collect(),
        }
    }

    /// Records a lookup of target `index`; returns false when it was not usable.
    pub(crate) fn record(&mut self, index: usize, answer: io::Result<Vec<SocketAddr>>) -> bool {
        match answer {
            Ok(addrs) if !addrs.is_empty() => {
                if let Some(slot) = self.answers.get_mut(index) {
                    *slot = Some(addrs.into_iter().collect());
                }
                true
            }
            _ => false,
        }
    }

    /// Every address, with the target it came from (the first, when two targets share one).
    pub(crate) fn endpoints(&self) -> BTreeMap<SocketAddr, usize> {
        let mut endpoints = BTreeMap::new();
        for (index, answer) in self.answers.iter().enumerate() {
            for addr in answer.iter().flatten() {
                endpoints.entry(*addr).or_insert(index);
            }
        }
        endpoints
    }
}

/// What changes between the endpoints we have and those DNS now gives.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) added: Vec<SocketAddr>,
    pub(crate) removed: Vec<SocketAddr>,
}

pub(crate) fn diff(current: &BTreeSet<SocketAddr>, wanted: &BTreeSet<SocketAddr>) -> Change {
    Change {
        added: wanted.difference(current).copied().collect(),
        removed: current.difference(wanted).copied().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    #[test]
    fn urls_parse_into_ip_or_name_and_port() {
        let target = Target::parse("http://10.0.0.7:50051").expect("valid");
        assert_eq!(target.fixed(), Some(addr("10.0.0.7:50051")));
        let target = Target::parse("http://[::1]:50051").expect("valid");
        assert_eq!(target.fixed(), Some(addr("[::1]:50051")));
        let target = Target::parse("http://menu-service.mesh.svc:50051").expect("valid");
        assert_eq!(target.host, Host::Name("menu-service.mesh.svc".to_owned()));
        assert_eq!(target.port, 50051);
        assert_eq!(Target::parse("http://menu").expect("valid").port, 80);
        assert!(Target::parse("menu:50051").is_err());
        assert!(Target::parse("ftp://menu:21").is_err());
        assert!(Target::parse("http://").is_err());
    }

    #[test]
    fn a_failed_or_empty_lookup_keeps_the_last_answer() {
        let targets = [
            Target::parse("http://menu:50051").expect("valid"),
            Target::parse("http://127.0.0.1:9").expect("valid"),
        ];
        let mut resolved = Resolved::new(&targets);
        assert_eq!(
            resolved.endpoints().keys().copied().collect::<Vec<_>>(),
            [addr("127.0.0.1:9")],
            "IP targets need no lookup"
        );
        assert!(resolved.record(0, Ok(vec![addr("10.0.0.1:50051"), addr("10.0.0.2:50051")])));
        assert!(!resolved.record(0, Err(io::ErrorKind::TimedOut.into())));
        assert!(!resolved.record(0, Ok(vec![])));
        let endpoints = resolved.endpoints();
        assert_eq!(endpoints.len(), 3);
        assert_eq!(endpoints[&addr("10.0.0.2:50051")], 0);
    }

    #[test]
    fn two_urls_for_one_address_are_one_endpoint() {
        let targets = [
            Target::parse("http://localhost:50051").expect("valid"),
            Target::parse("http://127.0.0.1:50051").expect("valid"),
        ];
        let mut resolved = Resolved::new(&targets);
        resolved.record(0, Ok(vec![addr("127.0.0.1:50051")]));
        assert_eq!(resolved.endpoints().len(), 1);
    }

    #[test]
    fn the_diff_names_what_appeared_and_what_went_away() {
        let current = BTreeSet::from([addr("10.0.0.1:1"), addr("10.0.0.2:1")]);
        let wanted = BTreeSet::from([addr("10.0.0.2:1"), addr("10.0.0.3:1")]);
        assert_eq!(
            diff(&current, &wanted),
            Change {
                added: vec![addr("10.0.0.3:1")],
                removed: vec![addr("10.0.0.1:1")],
            }
        );
        assert_eq!(diff(&wanted, &wanted), Change::default());
    }
}
