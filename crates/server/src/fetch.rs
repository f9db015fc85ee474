//! Fetching photos by URL without letting customers reach the server's own network (SSRF).
//!
//! - http and https only; a connect timeout and a total timeout (redirects included);
//! - at most [`FetchSettings::max_redirects`] redirects, followed by hand so that each hop is checked;
//! - on every hop the host is checked: an IP literal before any connection is made, a name through
//!   [`CheckingResolver`], which resolves it, refuses it if *any* of its addresses is not public, and
//!   hands exactly the checked addresses to the connector (no second lookup: no DNS rebinding);
//! - no proxy from the environment;
//! - the body is counted while streaming and dropped past [`FetchSettings::max_bytes`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_LENGTH, LOCATION};
use reqwest::Url;

use crate::config::FetchSettings;
use crate::network::IpNet;

/// Why a photo could not be fetched.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    /// The URL is malformed or not http(s).
    #[error("bad URL: {0}")]
    BadUrl(String),
    /// The destination is not allowed (private, loopback, ...).
    #[error("refused destination: {0}")]
    Refused(String),
    /// The photo could not be downloaded (DNS, connection, timeout, HTTP status, too many redirects).
    #[error("cannot download: {0}")]
    Unreachable(String),
    /// The body is larger than allowed.
    #[error("the body exceeds {0} bytes")]
    TooLarge(usize),
}

/// Whether an IPv4 address is globally routable: not loopback, private, link-local, CGNAT, multicast,
/// broadcast, unspecified, documentation, benchmarking or reserved.
pub fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                    // 0.0.0.0/8 "this network", unspecified
        || a == 10                              // 10/8 private
        || a == 127                             // loopback
        || (a == 100 && (64..128).contains(&b)) // 100.64/10 carrier-grade NAT
        || (a == 169 && b == 254)               // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))  // 172.16/12 private
        || (a == 192 && b == 0 && c == 0)       // 192.0.0/24 IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)       // TEST-NET-1
        || (a == 192 && b == 88 && c == 99)     // 6to4 relay anycast
        || (a == 192 && b == 168)               // 192.168/16 private
        || (a == 198 && (b == 18 || b == 19))   // benchmarking
        || (a == 198 && b == 51 && c == 100)    // TEST-NET-2
        || (a == 203 && b == 0 && c == 113)     // TEST-NET-3
        || a >= 224) // multicast 224/4, reserved 240/4, broadcast
}

/// Whether an IPv6 address is globally routable. Forms that embed an IPv4 address (mapped,
/// compatible, NAT64, 6to4) are judged by that address.
pub fn is_public_v6(ip: Ipv6Addr) -> bool {
    if ip.is_unspecified() || ip.is_loopback() {
        return false;
    }
    let seg = ip.segments();
    let bits = u128::from(ip);
    let embedded_low = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4); // ::ffff:0:0/96
    }
    if bits >> 32 == 0 {
        return is_public_v4(embedded_low); // ::/96 IPv4-compatible (deprecated)
    }
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
        return is_public_v4(embedded_low); // 64:ff9b::/96 NAT64
    }
    if seg[0] == 0x2002 {
        // 6to4: the IPv4 address is in bits 16..48
        let v4 = Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32);
        return is_public_v4(v4);
    }
    !((seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1) // 64:ff9b:1::/48 local NAT64
        || (seg[0] == 0x100 && seg[1..4] == [0, 0, 0])    // 100::/64 discard
        || (seg[0] == 0x2001 && seg[1] < 0x200)           // 2001::/23 IETF (Teredo, ...)
        || (seg[0] == 0x2001 && seg[1] == 0xdb8)          // documentation
        || (seg[0] & 0xfe00) == 0xfc00                    // fc00::/7 unique local
        || (seg[0] & 0xffc0) == 0xfe80                    // fe80::/10 link-local
        || (seg[0] & 0xffc0) == 0xfec0                    // fec0::/10 site-local (deprecated)
        || (seg[0] & 0xff00) == 0xff00) // ff00::/8 multicast
}

/// Whether an address is globally routable.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// Which destination addresses may be fetched from.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    /// Allow every address.
    pub allow_private: bool,
    /// Networks allowed although not public.
    pub allowed_networks: Vec<IpNet>,
}

impl AddressPolicy {
    /// Whether `ip` may be connected to.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip) || self.allowed_networks.iter().any(|n| n.contains(ip))
    }
}

/// The error a refused name resolution carries through reqwest, recognised again in [`Fetcher`].
#[derive(Debug)]
struct RefusedAddress(String);

impl std::fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RefusedAddress {}

/// A DNS resolver for reqwest that refuses a name if any address it resolves to is not permitted, and
/// otherwise returns exactly the addresses it checked (the connector uses them as they are).
#[derive(Debug, Clone)]
pub struct CheckingResolver {
    policy: Arc<AddressPolicy>,
}

impl CheckingResolver {
    /// Resolves `host` and checks every address.
    pub async fn resolve_checked(
        policy: &AddressPolicy,
        host: &str,
    ) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
        if addrs.is_empty() {
            return Err(format!("{host} has no address").into());
        }
        if let Some(bad) = addrs.iter().find(|a| !policy.permits(a.ip())) {
            return Err(Box::new(RefusedAddress(format!(
                "{host} resolves to {}, which is not a public address",
                bad.ip()
            ))));
        }
        Ok(addrs)
    }
}

impl Resolve for CheckingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let addrs = Self::resolve_checked(&policy, name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Parses and checks a photo URL from a request body: absolute, http or https, with a host.
pub fn parse_source_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {} is not http or https", url.scheme()));
    }
    if url.host().is_none() {
        return Err("no host".into());
    }
    Ok(url)
}

/// Downloads photos under the rules above. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: Arc<AddressPolicy>,
    settings: FetchSettings,
}

impl Fetcher {
    /// A fetcher with these settings.
    pub fn new(settings: &FetchSettings) -> Result<Fetcher, FetchError> {
        let policy = Arc::new(AddressPolicy {
            allow_private: settings.allow_private_sources,
            allowed_networks: settings.allowed_networks.clone(),
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.total_timeout)
            .user_agent(concat!("faceswap/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(CheckingResolver {
                policy: policy.clone(),
            }))
            .build()
            .map_err(|e| FetchError::Unreachable(e.without_url().to_string()))?;
        Ok(Fetcher {
            client,
            policy,
            settings: settings.clone(),
        })
    }

    /// Downloads `url`'s body within the total timeout.
    pub async fn fetch(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        match tokio::time::timeout(self.settings.total_timeout, self.fetch_inner(url)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Unreachable("timed out".into())),
        }
    }

    /// Checks the URL's scheme and, for an IP literal, its address. Names are checked at resolution.
    fn check_hop(&self, url: &Url) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::BadUrl(format!(
                "scheme {} is not http or https",
                url.scheme()
            )));
        }
        let ip = match url.host() {
            None => return Err(FetchError::BadUrl("no host".into())),
            Some(url::Host::Domain(_)) => return Ok(()),
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        };
        if self.policy.permits(ip) {
            Ok(())
        } else {
            Err(FetchError::Refused(format!("{ip} is not a public address")))
        }
    }

    async fn fetch_inner(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        let mut url = url.clone();
        let mut redirects = 0;
        loop {
            self.check_hop(&url)?;
            let response = self
                .client
                .get(url.clone())
                .header(reqwest::header::ACCEPT, "image/*,*/*;q=0.5")
                .send()
                .await
                .map_err(classify)?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| FetchError::Unreachable(format!("{status} without Location")))?;
                let next = url
                    .join(location)
                    .map_err(|e| FetchError::Unreachable(format!("bad redirect: {e}")))?;
                redirects += 1;
                if redirects > self.settings.max_redirects {
                    return Err(FetchError::Unreachable("too many redirects".into()));
                }
                url = next;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Unreachable(format!("HTTP status {status}")));
            }
            return self.read_body(response).await;
        }
    }

    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
        let max = self.settings.max_bytes;
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max as u64) {
            return Err(FetchError::TooLarge(max));
        }
        let mut body = Vec::with_capacity(declared.unwrap_or(64 * 1024).min(max as u64) as usize);
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// A reqwest error as a [`FetchError`], without the URL (which may carry a customer's signature).
fn classify(e: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(r) = err.downcast_ref::<RefusedAddress>() {
            return FetchError::Refused(r.0.clone());
        }
        source = err.source();
    }
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "broken body"
    } else {
        "request failed"
    };
    FetchError::Unreachable(kind.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn classifies_ipv4() {
        for bad in [
            "127.0.0.1",
            "127.255.0.9",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
        ] {
            assert!(!v4(bad), "{bad} must be refused");
        }
        for good in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.1.1",
            "93.184.216.34",
        ] {
            assert!(v4(good), "{good} is public");
        }
    }

    #[test]
    fn classifies_ipv6_and_embedded_ipv4() {
        for bad in [
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2001:db8::1",
            "2001::1",
        ] {
            assert!(!is_public(bad.parse().unwrap()), "{bad} must be refused");
        }
        for good in [
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert!(is_public(good.parse().unwrap()), "{good} is public");
        }
    }

    #[test]
    fn an_allowed_network_permits_its_addresses_only() {
        let one: IpNet = "127.0.0.2".parse().unwrap();
        let policy = AddressPolicy {
            allow_private: false,
            allowed_networks: vec![one],
        };
        assert!(policy.permits("127.0.0.2".parse().unwrap()));
        assert!(!policy.permits("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn source_urls_must_be_http() {
        assert!(parse_source_url("https://example.com/a.jpg").is_ok());
        assert!(parse_source_url(" http://1.2.3.4:8080/x ").is_ok());
        assert!(parse_source_url("ftp://example.com/a.jpg").is_err());
        assert!(parse_source_url("file:///etc/passwd").is_err());
        assert!(parse_source_url("example.com/a.jpg").is_err());
        assert!(parse_source_url("http://").is_err());
    }

    #[tokio::test]
    async fn literal_private_addresses_are_refused_before_connecting() {
        let fetcher = Fetcher::new(&FetchSettings::default()).unwrap();
        for url in [
            "http://10.0.0.1/a.jpg",
            "http://169.254.169.254/latest/meta-data/",
            "http://127.0.0.1:9/a.jpg",
            "http://[::1]/a.jpg",
            "http://[::ffff:127.0.0.1]/a.jpg",
            "http://2130706433/a.jpg",
            "http://0x7f.1/a.jpg",
        ] {
            let err = fetcher.fetch(&Url::parse(url).unwrap()).await.unwrap_err();
            assert!(matches!(err, FetchError::Refused(_)), "{url}: {err:?}");
        }
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        let fetcher = Fetcher::new(&FetchSettings::default()).unwrap();
        let err = fetcher
            .fetch(&Url::parse("http://localhost:9/a.jpg").unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Refused(_)), "{err:?}");
    }
}
