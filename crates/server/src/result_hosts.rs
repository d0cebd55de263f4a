//! Where result images may be downloaded from: the allow list that keeps the result-fetch
//! route from becoming an open proxy.

use std::fmt;
use std::str::FromStr;

use url::Url;

/// The provider's S3 bucket for assets and results.
pub const PROVIDER_BUCKET: &str = "asset.1min.ai";

/// One allowed place: `host`, `host:port`, or `*.domain`, optionally followed by
/// `/bucket` to require an S3 bucket of that name, virtual-hosted
/// (`bucket.s3.region.amazonaws.com`) or path-style (`s3.region.amazonaws.com/bucket/...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetHost {
    host: HostPattern,
    port: Option<u16>,
    bucket: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// Holds the suffix with its leading dot, so `evilamazonaws.com` cannot match.
    Subdomain(String),
}

/// Why an allow-list entry could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid result host {0:?}: use host, host:port or *.domain, optionally with /bucket")]
pub struct AssetHostError(String);

impl AssetHost {
    /// The provider's asset host and its S3 bucket behind any AWS host name.
    pub fn provider_defaults() -> Vec<AssetHost> {
        vec![
            AssetHost {
                host: HostPattern::Exact(PROVIDER_BUCKET.to_owned()),
                port: None,
                bucket: None,
            },
            AssetHost {
                host: HostPattern::Subdomain(".amazonaws.com".to_owned()),
                port: None,
                bucket: Some(PROVIDER_BUCKET.to_owned()),
            },
        ]
    }

    /// Whether `url` points at this place. The scheme is checked by the caller.
    pub fn allows(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let host_ok = match &self.host {
            HostPattern::Exact(exact) => host == *exact,
            HostPattern::Subdomain(suffix) => host.ends_with(suffix.as_str()),
        };
        if !host_ok || url.port() != self.port {
            return false;
        }
        match &self.bucket {
            None => true,
            Some(bucket) => {
                let virtual_hosted = host
                    .strip_prefix(bucket.as_str())
                    .is_some_and(|rest| rest.starts_with('.'));
                let path_style = url
                    .path_segments()
                    .and_then(|mut segments| segments.next())
                    .is_some_and(|first| first == bucket);
                virtual_hosted || path_style
            }
        }
    }

    /// The Content-Security-Policy source that lets the page display images from here.
    pub fn csp_source(&self) -> String {
        let host = match &self.host {
            HostPattern::Exact(exact) => exact.clone(),
            HostPattern::Subdomain(suffix) => format!("*{suffix}"),
        };
        match self.port {
            Some(port) => format!("https://{host}:{port}"),
            None => format!("https://{host}"),
        }
    }
}

/// Whether any entry of `hosts` allows `url`, with the scheme rule applied.
pub fn is_allowed(hosts: &[AssetHost], url: &Url, allow_http: bool) -> bool {
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    scheme_ok
        && url.username().is_empty()
        && url.password().is_none()
        && hosts.iter().any(|host| host.allows(url))
}

impl FromStr for AssetHost {
    type Err = AssetHostError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || AssetHostError(text.to_owned());
        let text_lower = text.trim().to_ascii_lowercase();
        let (authority, bucket) = match text_lower.split_once('/') {
            Some((authority, bucket)) if !bucket.is_empty() && !bucket.contains('/') => {
                (authority, Some(bucket.to_owned()))
            }
            Some(_) => return Err(invalid()),
            None => (text_lower.as_str(), None),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port.parse::<u16>().map_err(|_| invalid())?)),
            None => (authority, None),
        };
        let valid_name = |name: &str| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        };
        let host = match host.strip_prefix("*.") {
            Some(domain) if valid_name(domain) && domain.contains('.') => {
                HostPattern::Subdomain(format!(".{domain}"))
            }
            Some(_) => return Err(invalid()),
            None if valid_name(host) => HostPattern::Exact(host.to_owned()),
            None => return Err(invalid()),
        };
        Ok(AssetHost { host, port, bucket })
    }
}

impl fmt::Display for AssetHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            HostPattern::Exact(exact) => f.write_str(exact)?,
            HostPattern::Subdomain(suffix) => write!(f, "*{suffix}")?,
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if let Some(bucket) = &self.bucket {
            write!(f, "/{bucket}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(url: &str) -> bool {
        is_allowed(
            &AssetHost::provider_defaults(),
            &Url::parse(url).unwrap(),
            false,
        )
    }

    #[test]
    fn provider_result_urls_are_allowed() {
        assert!(allowed(
            "https://s3.us-east-1.amazonaws.com/asset.1min.ai/images/a.png?X-Amz-Date=1"
        ));
        assert!(allowed(
            "https://asset.1min.ai.s3.us-east-1.amazonaws.com/development/images/a.png"
        ));
        assert!(allowed("https://asset.1min.ai/images/a.png"));
    }

    #[test]
    fn foreign_hosts_buckets_schemes_and_ports_are_refused() {
        assert!(!allowed("https://s3.amazonaws.com/another-bucket/a.png"));
        assert!(!allowed("https://another-bucket.s3.amazonaws.com/a.png"));
        assert!(!allowed("https://evilamazonaws.com/asset.1min.ai/a.png"));
        assert!(!allowed("https://asset.1min.ai.evil.example/a.png"));
        assert!(!allowed("http://asset.1min.ai/a.png"));
        assert!(!allowed("https://asset.1min.ai:8443/a.png"));
        assert!(!allowed("https://user@asset.1min.ai/a.png"));
        assert!(!allowed("file:///etc/passwd"));
        assert!(!allowed("https://127.0.0.1/a.png"));
    }

    #[test]
    fn entries_parse_and_print_back() {
        for text in [
            "asset.1min.ai",
            "*.amazonaws.com/asset.1min.ai",
            "127.0.0.1:8080",
        ] {
            assert_eq!(text.parse::<AssetHost>().unwrap().to_string(), text);
        }
        for bad in ["", "*.com", "a b", "host:port", "host/a/b", "*./x"] {
            assert!(bad.parse::<AssetHost>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_port_in_the_entry_must_match() {
        let hosts = vec!["127.0.0.1:8080".parse::<AssetHost>().unwrap()];
        let url = |u: &str| Url::parse(u).unwrap();
        assert!(is_allowed(&hosts, &url("http://127.0.0.1:8080/x"), true));
        assert!(!is_allowed(&hosts, &url("http://127.0.0.1:8080/x"), false));
        assert!(!is_allowed(&hosts, &url("http://127.0.0.1:9090/x"), true));
    }
}
