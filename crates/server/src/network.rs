//! IP networks as the operator names them, for the photo fetcher's allow list.

use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

/// An IP network such as `10.1.0.0/16` or `fd00::/8`, as the operator allows it for photo URLs.
///
/// Parsed by the `ipnet` crate. A bare address is a network of that one address. A network written in
/// IPv4-mapped form (`::ffff:a.b.c.d/p`, p ≥ 96) means exactly the IPv4 addresses it maps:
/// `::ffff:127.0.0.2/128` is `127.0.0.2/32`. A mapped prefix shorter than /96 would reach beyond
/// IPv4 and is refused, as is anything that is not a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet(ipnet::IpNet);

impl IpNet {
    /// Whether `ip` is inside this network (IPv4-mapped IPv6 addresses count as the IPv4 address
    /// they map).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&canonical(ip))
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<IpNet, String> {
        let text = s.trim();
        // `[::1]/128` and `[::1]`, as addresses are bracketed in URLs.
        let unbracketed = match text.strip_prefix('[') {
            Some(rest) => rest.replacen(']', "", 1),
            None => text.to_string(),
        };
        let net = match unbracketed.parse::<ipnet::IpNet>() {
            Ok(net) => net,
            Err(_) => match unbracketed.parse::<IpAddr>() {
                Ok(ip) => ipnet::IpNet::from(ip),
                Err(_) => {
                    return Err(format!(
                        "{s:?} is not an IP network (expected an address, or address/prefix such as 10.1.0.0/16 or fd00::/8)"
                    ))
                }
            },
        };
        let net = match net {
            ipnet::IpNet::V6(v6) => {
                let mapped_space = Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0);
                match v6.network().to_ipv4_mapped() {
                    Some(v4) if v6.prefix_len() >= 96 => ipnet::IpNet::V4(
                        ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                            .map_err(|e| format!("{s:?}: {e}"))?,
                    ),
                    _ if v6.prefix_len() < 96 && v6.trunc().contains(&mapped_space) => {
                        return Err(format!(
                            "{s:?} takes in the IPv4-mapped addresses (::ffff:0:0/96) with a prefix shorter than /96: write the IPv4 network, or a narrower IPv6 one"
                        ))
                    }
                    _ => net,
                }
            }
            v4 => v4,
        };
        // The network's own address, so `10.1.2.3/16` and `10.1.0.0/16` are the same network.
        Ok(IpNet(net.trunc()))
    }
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as the IPv4 address it stands for; anything else unchanged.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_contain() {
        let n: IpNet = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains("10.1.200.3".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        let one: IpNet = "127.0.0.2".parse().unwrap();
        assert!(one.contains("127.0.0.2".parse().unwrap()));
        assert!(!one.contains("127.0.0.1".parse().unwrap()));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("1.2.3.4".parse().unwrap()));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("fd00::/129".parse::<IpNet>().is_err());
        assert!("nope".parse::<IpNet>().is_err());
        assert!("10.0.0.0/".parse::<IpNet>().is_err());
    }

    #[test]
    fn an_allow_list_in_ipv4_mapped_form_allows_exactly_its_ipv4_addresses() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        for spelling in [
            "::ffff:127.0.0.2/128",
            "::ffff:7f00:2/128",
            "::FFFF:127.0.0.2",
            "[::ffff:127.0.0.2]/128",
            "[::ffff:127.0.0.2]",
            " 127.0.0.2/32 ",
            "127.0.0.2",
        ] {
            let net: IpNet = spelling
                .parse()
                .unwrap_or_else(|e| panic!("{spelling}: {e}"));
            assert_eq!(net.to_string(), "127.0.0.2/32", "{spelling}");
            assert!(net.contains(ip("127.0.0.2")), "{spelling}");
            assert!(net.contains(ip("::ffff:127.0.0.2")), "{spelling}");
            for outside in [
                "127.0.0.1",
                "::ffff:127.0.0.1",
                "169.254.169.254",
                "::ffff:169.254.169.254",
                "10.0.0.1",
                "0.0.0.0",
                "::1",
                "::",
            ] {
                assert!(
                    !net.contains(ip(outside)),
                    "{spelling} must not contain {outside}"
                );
            }
        }
        let mapped8: IpNet = "::ffff:10.0.0.0/104".parse().unwrap();
        assert_eq!(mapped8.to_string(), "10.0.0.0/8");
        assert!(mapped8.contains(ip("10.9.8.7")) && !mapped8.contains(ip("11.0.0.1")));
        for wide in ["::ffff:0:0/95", "::/1", "::/0"] {
            let err = wide.parse::<IpNet>().unwrap_err();
            assert!(err.contains("shorter than /96"), "{wide}: {err}");
        }
        // An IPv6 network beside the mapped space contains no IPv4 address, mapped or not.
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(!v6.contains(ip("127.0.0.1")) && !v6.contains(ip("::ffff:127.0.0.1")));
        let host: IpNet = "[::1]/128".parse().unwrap();
        assert!(host.contains(ip("::1")) && !host.contains(ip("127.0.0.1")));
    }
}
