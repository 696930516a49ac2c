//! How sinch-dlr calls other servers (Sinch's REST API and auth service,
//! webhook receivers): one agent setup and the reading of `Retry-After`.
//! A leaf: the Sinch client and the webhook delivery both build on it.

use std::time::Duration;

use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// Where a host name is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// On a thread ureq starts for each request, so that `timeout` also
    /// bounds a hanging lookup (Sinch calls: rare, and a handler waits).
    Bounded,
    /// On the calling thread: no thread per request, but a hanging lookup
    /// holds the caller (webhook delivery: many requests, each endpoint on
    /// a thread of its own).
    OnThisThread,
}

/// An agent that answers every status (no error for 4xx/5xx), follows no
/// redirect, gives up after `timeout` (connecting: 5 s at most) and names
/// itself `sinch-dlr/<version>`.
pub fn agent(timeout: Duration, lookup: Lookup) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(timeout.min(Duration::from_secs(5))))
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("sinch-dlr/", env!("CARGO_PKG_VERSION")))
        .build();
    match lookup {
        Lookup::Bounded => config.into(),
        Lookup::OnThisThread => ureq::Agent::with_parts(config, DefaultConnector::default(), Here),
    }
}

/// `Retry-After` in seconds (the form Sinch and receivers use); a date or
/// anything else is ignored.
pub fn retry_after(headers: &ureq::http::HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Looks the host up on the calling thread. ureq's own resolver starts a
/// thread for every request when a timeout is set — even for an IP
/// address and a pooled connection — which cost more than the rest of a
/// webhook delivery.
#[derive(Debug)]
struct Here;

impl Resolver for Here {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        _: &ureq::config::Config,
        _: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        use std::net::ToSocketAddrs;
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(ureq::Error::HostNotFound);
        };
        let host_port =
            DefaultResolver::host_and_port(scheme, authority).ok_or(ureq::Error::HostNotFound)?;
        let mut found = self.empty();
        for addr in host_port.to_socket_addrs()?.take(16) {
            found.push(addr);
        }
        if found.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut h = ureq::http::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", " 7 ".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2026 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }
}
