//! Weir's one client for outbound HTTP: `$request`, request templates, and (as they
//! arrive) deliveries and registered webhooks all go through [`Outbound::send`].
//!
//! Every call has a timeout and a cap on the response it reads, follows no redirects
//! (a redirect could lead past the checks the caller made on the URL), and passes the
//! SSRF [`guard`] after DNS resolution. Host overrides (REFERENCE §8) send chosen hosts
//! to a fixed address over plain HTTP, so apps can be exercised against local fakes
//! without editing them.

pub mod guard;

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, Url};

pub use guard::{Cidr, Guard};

const USER_AGENT: &str = concat!("Weir/", env!("CARGO_PKG_VERSION"));

/// How outbound calls may leave Weir.
#[derive(Debug, Clone, Default)]
pub struct OutboundSettings {
    /// Internal networks calls may reach anyway (`--allow-private-destinations`).
    pub allow_private: Vec<Cidr>,
    /// Host name → address: calls to the host go there instead, over plain HTTP.
    pub host_overrides: HashMap<String, SocketAddr>,
}

/// One outbound request.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout: Duration,
    /// Bytes of the response body read at most; a longer body fails the call.
    pub max_response_bytes: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutboundResponse {
    pub status: u16,
    /// Names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl OutboundResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a call got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The destination is an internal address the guard refuses.
    Refused(String),
    /// No connection, or it broke before a response came.
    Connection(String),
    Timeout,
    /// The response body is longer than the caller accepts.
    TooLarge {
        limit: usize,
    },
    /// The request itself cannot be sent (a bad header name, say).
    Invalid(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Refused(why) => write!(f, "destination refused: {why}"),
            SendError::Connection(why) => write!(f, "connection failed: {why}"),
            SendError::Timeout => f.write_str("timed out"),
            SendError::TooLarge { limit } => {
                write!(f, "the response is longer than {limit} bytes")
            }
            SendError::Invalid(why) => write!(f, "invalid request: {why}"),
        }
    }
}

#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    guard: Arc<Guard>,
    overrides: Arc<HashMap<String, SocketAddr>>,
}

impl Outbound {
    pub fn new(settings: OutboundSettings) -> Self {
        let guard = Arc::new(Guard::allowing(settings.allow_private));
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver {
                guard: guard.clone(),
            }))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .expect("the TLS backend is compiled in");
        Outbound {
            client,
            guard,
            overrides: Arc::new(settings.host_overrides),
        }
    }

    /// Whether `host` is sent elsewhere by a host override (and so may use plain HTTP).
    pub fn is_overridden(&self, host: &str) -> bool {
        self.overrides.contains_key(&host.to_ascii_lowercase())
    }

    pub async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, SendError> {
        let (url, host_header) = self.destination(&request.url)?;
        let mut builder = self
            .client
            .request(request.method, url)
            .timeout(request.timeout);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(host) = host_header {
            builder = builder.header(reqwest::header::HOST, host);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let mut response = builder.send().await.map_err(send_error)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        let limit = request.max_response_bytes;
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(SendError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(send_error)? {
            if body.len() + chunk.len() > limit {
                return Err(SendError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(OutboundResponse {
            status,
            headers,
            body,
        })
    }

    /// Where the request really goes: an overridden host's address over plain HTTP
    /// (with the original `Host` header), else the URL itself, once the guard has seen
    /// an address written into it. Names are checked by the resolver instead.
    fn destination(&self, url: &Url) -> Result<(Url, Option<String>), SendError> {
        let host = url
            .host_str()
            .ok_or_else(|| SendError::Invalid(format!("{url} has no host")))?;
        if let Some(address) = self.overrides.get(&host.to_ascii_lowercase()) {
            let mut rewritten = url.clone();
            let authority = match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            };
            let moved = rewritten.set_scheme("http").is_ok()
                && rewritten.set_ip_host(address.ip()).is_ok()
                && rewritten.set_port(Some(address.port())).is_ok();
            if !moved {
                return Err(SendError::Invalid(format!("{url} cannot be overridden")));
            }
            return Ok((rewritten, Some(authority)));
        }
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>()
            && !self.guard.permits(ip)
        {
            return Err(SendError::Refused(format!("{ip} is an internal address")));
        }
        Ok((url.clone(), None))
    }
}

/// DNS through the system resolver, keeping only the addresses the guard permits.
struct GuardedResolver {
    guard: Arc<Guard>,
}

/// The resolver's refusal, found again in reqwest's error chain.
#[derive(Debug)]
struct RefusedName(String);

impl fmt::Display for RefusedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for RefusedName {}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|address| guard.permits(address.ip()))
                .collect();
            if permitted.is_empty() && !found.is_empty() {
                let addresses: Vec<String> = found.iter().map(|a| a.ip().to_string()).collect();
                let why = format!(
                    "{host} resolves to internal addresses only ({})",
                    addresses.join(", ")
                );
                return Err(Box::new(RefusedName(why)) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

fn send_error(error: reqwest::Error) -> SendError {
    // The URL may carry secrets in its query (an extension webhook's securityContext);
    // errors are shown to apps and kept in records, so they never name it.
    let error = error.without_url();
    if error.is_timeout() {
        return SendError::Timeout;
    }
    let mut source: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<RefusedName>() {
            return SendError::Refused(refused.0.clone());
        }
        source = cause.source();
    }
    if error.is_builder() {
        return SendError::Invalid(error.to_string());
    }
    SendError::Connection(chain(&error))
}

/// An error with its causes, "a: b: c", for logs and `weir dev`.
fn chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
