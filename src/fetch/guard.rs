//! The network guard: which addresses a fetch may connect to.
//!
//! A feed may point anywhere its admin chose, but a redirect (or a name that
//! resolves somewhere unexpected) must not turn feedloom into a proxy for the
//! machine's own network: loopback, private ranges, link-local (cloud metadata
//! at 169.254.169.254) and the like. The check runs where connections are made:
//! in the DNS resolver the HTTP client uses for every new connection (so a name
//! that resolves to a public address when looked at and to a private one when
//! connected to, DNS rebinding, is still refused), and on IP-literal hosts in
//! the redirect loop (the client does not resolve those).
//!
//! `fetch.allow_private_networks = true` turns the guard off. Hops to the host
//! the admin configured for the feed are never checked.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

/// Resolves host names to addresses. The system resolver by default; tests
/// inject their own so that no test resolves a real name. A name that does not
/// exist is an `io::Error` of kind `NotFound` (or the system resolver's own
/// "Name or service not known"); an empty list counts as one too.
pub trait Lookup: Send + Sync + 'static {
    fn lookup(&self, host: &str) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;
}

/// The system resolver (getaddrinfo, on a blocking thread).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>> {
        let host = host.to_string();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

impl<F> Lookup for F
where
    F: Fn(&str) -> io::Result<Vec<IpAddr>> + Send + Sync + 'static,
{
    fn lookup(&self, host: &str) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>> {
        let r = self(host);
        Box::pin(async move { r })
    }
}

/// How fetches reach the network: the resolver, and (for tests) addresses to
/// treat as public although they are not, such as a loopback test server that
/// stands in for a public host.
#[derive(Clone)]
pub struct Network {
    pub lookup: Arc<dyn Lookup>,
    pub treat_as_public: Vec<IpAddr>,
}

impl Network {
    /// The system resolver; every address judged as it is.
    pub fn system() -> Network {
        Network {
            lookup: Arc::new(SystemLookup),
            treat_as_public: Vec::new(),
        }
    }
}

impl Default for Network {
    fn default() -> Self {
        Network::system()
    }
}

/// Which addresses count as off-limits.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub allow_private: bool,
    pub treat_as_public: Vec<IpAddr>,
}

impl Policy {
    /// Why `ip` may not be connected to, or `None` when it may.
    pub fn refuses(&self, ip: IpAddr) -> Option<&'static str> {
        if self.allow_private || self.treat_as_public.contains(&ip) {
            return None;
        }
        non_public(ip)
    }
}

/// A connection refused by the guard. It travels through the HTTP client's
/// error chain, and the fetch turns it into [`crate::error::FetchError::Blocked`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("{host} resolves only to non-public addresses ({addr}: {reason})")]
pub struct Blocked {
    pub host: String,
    pub addr: IpAddr,
    pub reason: &'static str,
}

/// A name the resolver could not resolve. It travels through the HTTP client's
/// error chain to [`crate::error::NetFailure::of`].
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {host}: {source}")]
pub struct DnsError {
    pub host: String,
    #[source]
    pub source: io::Error,
}

impl DnsError {
    /// The name does not exist (as opposed to a resolver that failed).
    pub fn is_no_such_host(&self) -> bool {
        if self.source.kind() == io::ErrorKind::NotFound {
            return true;
        }
        // getaddrinfo's EAI_NONAME and EAI_NODATA, as glibc and musl word them.
        let text = self.source.to_string();
        [
            "Name or service not known",
            "No address associated with hostname",
            "Name does not resolve",
            "Name has no usable address",
            "nodename nor servname provided",
        ]
        .iter()
        .any(|t| text.contains(t))
    }
}

/// What kind of non-public address `ip` is, or `None` for a public one.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "cloud metadata",
        (0, ..) => "\"this network\"",
        (10, ..) => "private",
        (100, 64..=127, _) => "shared (carrier-grade NAT)",
        (127, ..) => "loopback",
        (169, 254, _) => "link-local",
        (172, 16..=31, _) => "private",
        (192, 0, 0) => "IETF protocol assignment",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (192, 168, _) => "private",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, ..) => "multicast",
        (240..=255, ..) if ip == Ipv4Addr::BROADCAST => "broadcast",
        (240..=255, ..) => "reserved",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    // Addresses that carry an IPv4 address are judged by it.
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return non_public_v4(v4);
    }
    if s[..6] == [0; 6] {
        // Deprecated IPv4-compatible ::a.b.c.d
        return non_public_v4(embedded(s[6], s[7])).or(Some("reserved"));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 well-known prefix
        return non_public_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        // 6to4
        return non_public_v4(embedded(s[1], s[2]));
    }
    if s[0] == 0xfd00 && s[1] == 0x0ec2 && s[2..7] == [0; 5] && s[7] == 0x254 {
        return Some("cloud metadata");
    }
    Some(match s[0] {
        0xfc00..=0xfdff => "unique local",
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local",
        0xff00..=0xffff => "multicast",
        0x0100 if s[1..4] == [0; 3] => "discard-only",
        0x2001 if s[1] == 0x0db8 => "documentation",
        _ => return None,
    })
}

/// The resolver the HTTP clients use: looks names up, and (when `check`)
/// keeps only the addresses the policy allows, failing with [`Blocked`] when
/// none is left.
pub(super) struct GuardedResolver {
    pub lookup: Arc<dyn Lookup>,
    pub policy: Arc<Policy>,
    pub check: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let lookup = self.lookup.clone();
        let policy = self.policy.clone();
        let check = self.check;
        Box::pin(async move {
            let found = match lookup.lookup(&host).await {
                Ok(found) if found.is_empty() => {
                    let source = io::Error::new(io::ErrorKind::NotFound, "no addresses");
                    return Err(Box::new(DnsError { host, source }) as _);
                }
                Ok(found) => found,
                Err(source) => return Err(Box::new(DnsError { host, source }) as _),
            };
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|ip| {
                    if !check {
                        return true;
                    }
                    match policy.refuses(*ip) {
                        Some(reason) => {
                            refused.get_or_insert((*ip, reason));
                            false
                        }
                        None => true,
                    }
                })
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if allowed.is_empty()
                && let Some((addr, reason)) = refused
            {
                return Err(Box::new(Blocked { host, addr, reason }) as _);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The IP address of a URL whose host is an IP literal.
pub fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// Finds a [`Blocked`] in an error's chain of causes.
pub fn find_blocked<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a Blocked> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(b) = e.downcast_ref::<Blocked>() {
            return Some(b);
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> Option<&'static str> {
        non_public(s.parse().unwrap())
    }

    #[test]
    fn non_public_ranges() {
        for (addr, why) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "cloud metadata"),
            ("169.254.1.1", "link-local"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("100.100.100.200", "shared (carrier-grade NAT)"),
            ("0.0.0.0", "\"this network\""),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("240.0.0.1", "reserved"),
            ("198.18.0.1", "benchmarking"),
            ("192.0.2.1", "documentation"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "cloud metadata"),
            ("::127.0.0.1", "loopback"),
            ("64:ff9b::a00:1", "private"),
            ("2002:c0a8:101::1", "private"),
            ("fc00::1", "unique local"),
            ("fd12:3456::1", "unique local"),
            ("fd00:ec2::254", "cloud metadata"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
        ] {
            assert_eq!(reason(addr), Some(why), "{addr}");
        }
        for public in [
            "93.184.215.14",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "169.255.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(reason(public), None, "{public}");
        }
    }

    #[test]
    fn policy_switches() {
        let ip: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(Policy::default().refuses(ip).is_some());
        let open = Policy {
            allow_private: true,
            ..Policy::default()
        };
        assert_eq!(open.refuses(ip), None);
        let test = Policy {
            allow_private: false,
            treat_as_public: vec![ip],
        };
        assert_eq!(test.refuses(ip), None);
        assert!(test.refuses("127.0.0.1".parse().unwrap()).is_some());
    }
}
