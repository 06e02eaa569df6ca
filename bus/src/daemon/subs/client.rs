//! The delivery loops' HTTP client: one keep-alive HTTP/1.1 connection per loop.
//!
//! A loop has at most one request in flight, so it owns its connection outright: no pool,
//! no lock, no URL parsing per request (reqwest's pooled client spent about a fifth of the
//! delivery thread's time on those here). Redirects are never followed (DESIGN). A
//! connection the subscriber closed while it was idle is replaced, and the request sent
//! again, only when hyper hands the request back unsent; any other failure is the
//! attempt's verdict.

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, AUTHORIZATION, HOST, RETRY_AFTER, USER_AGENT};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// Most bytes of a subscriber's answer read; a longer answer closes the connection.
pub(crate) const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Where a subscription's deliveries go, derived from its URL once per settings change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// `host:port` to connect to (resolved at each new connection).
    authority: String,
    host: HeaderValue,
    path: Uri,
    /// `Authorization: Basic …` from the URL's `user:password@`, if it has one.
    authorization: Option<HeaderValue>,
}

impl Destination {
    /// The destination of an `http://` URL; a message for anything this client cannot reach.
    pub fn from_url(url: &reqwest::Url) -> Result<Self, String> {
        if url.scheme() != "http" {
            return Err(format!(
                "{}:// needs TLS, which this build of the bus does not include",
                url.scheme()
            ));
        }
        let host = url.host_str().ok_or("the url has no host")?;
        let port = url.port_or_known_default().unwrap_or(80);
        let host_header = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let mut path = url.path().to_string();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        Ok(Self {
            authority: format!("{host}:{port}"),
            host: HeaderValue::from_str(&host_header).map_err(|e| e.to_string())?,
            path: Uri::try_from(path).map_err(|e| e.to_string())?,
            authorization: basic_auth(url)?,
        })
    }
}

/// HTTP Basic credentials from `http://user:password@host/…`, as browsers and curl send them.
fn basic_auth(url: &reqwest::Url) -> Result<Option<HeaderValue>, String> {
    use base64::Engine as _;
    if url.username().is_empty() && url.password().is_none() {
        return Ok(None);
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let credentials = format!(
        "{}:{}",
        decode(url.username()),
        decode(url.password().unwrap_or_default())
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    let mut value =
        HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|e| e.to_string())?;
    value.set_sensitive(true);
    Ok(Some(value))
}

/// The response to one POST, as read off the connection (for a delivery, `verdict` says
/// what it means).
#[derive(Debug)]
pub struct Response {
    /// The status code (for a delivery, what `verdict` judges first).
    pub status: StatusCode,
    /// Its `Retry-After` header, if any (honoured on a 429 or 503).
    pub retry_after: Option<HeaderValue>,
    /// The first 64 KiB of the body (`MAX_ANSWER_BYTES`).
    pub body: Vec<u8>,
}

/// Why no answer came.
#[derive(Debug)]
pub enum CallError {
    /// No connection could be made.
    Connect(String),
    /// The connection failed during the exchange.
    Request(String),
}

/// One loop's connection. An exchange takes it out and puts it back only once the answer
/// was read whole, so one that failed or was dropped (a timeout, shutdown) is never reused.
#[derive(Default)]
pub struct Connection {
    open: Option<(Destination, SendRequest<Full<Bytes>>)>,
}

impl Connection {
    /// POSTs `body` with `headers` to `destination` and reads the answer. Callers bound it with
    /// their timeout; a dropped call leaves the connection to be replaced.
    pub async fn post(
        &mut self,
        destination: &Destination,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response, CallError> {
        if self
            .open
            .as_ref()
            .is_some_and(|(open_to, sender)| open_to != destination || sender.is_closed())
        {
            self.open = None;
        }
        // Only a reused connection may have been closed by the subscriber while idle; a
        // request it hands back unsent then goes once over a new one.
        let mut may_retry = self.open.is_some();
        let mut request = build(destination, headers, body);
        let mut sender = match self.open.take() {
            Some((_, sender)) => sender,
            None => connect(destination).await?,
        };
        let response = loop {
            if let Err(e) = sender.ready().await {
                if !may_retry {
                    return Err(CallError::Request(root_cause(&e)));
                }
                tracing::debug!(error = %e, "idle connection to the subscriber closed");
                may_retry = false;
                sender = connect(destination).await?;
                continue;
            }
            match sender.try_send_request(request).await {
                Ok(response) => break response,
                Err(mut e) => match e.take_message() {
                    Some(unsent) if may_retry => {
                        may_retry = false;
                        sender = connect(destination).await?;
                        request = unsent;
                    }
                    _ => return Err(CallError::Request(root_cause(e.error()))),
                },
            }
        };
        let status = response.status();
        let retry_after = response.headers().get(RETRY_AFTER).cloned();
        let mut body = response.into_body();
        let mut answer = Vec::new();
        let mut whole = true;
        while let Some(frame) = body.frame().await {
            // The status is the verdict; a body that breaks off only costs the connection.
            let Ok(frame) = frame else {
                whole = false;
                break;
            };
            if let Some(chunk) = frame.data_ref() {
                answer.extend_from_slice(chunk);
                if answer.len() >= MAX_ANSWER_BYTES {
                    answer.truncate(MAX_ANSWER_BYTES);
                    whole = false;
                    break;
                }
            }
        }
        if whole {
            self.open = Some((destination.clone(), sender));
        }
        Ok(Response {
            status,
            retry_after,
            body: answer,
        })
    }
}

fn build(destination: &Destination, mut headers: HeaderMap, body: Bytes) -> Request<Full<Bytes>> {
    headers.insert(HOST, destination.host.clone());
    if let Some(value) = &destination.authorization {
        headers.insert(AUTHORIZATION, value.clone());
    }
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("minibus/", env!("CARGO_PKG_VERSION"))),
    );
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = destination.path.clone();
    *request.headers_mut() = headers;
    request
}

async fn connect(destination: &Destination) -> Result<SendRequest<Full<Bytes>>, CallError> {
    let stream = tokio::net::TcpStream::connect(&destination.authority)
        .await
        .map_err(|e| CallError::Connect(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| CallError::Connect(root_cause(&e)))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "connection to a subscriber ended");
        }
    });
    Ok(sender)
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destination(url: &str) -> Result<Destination, String> {
        Destination::from_url(&reqwest::Url::parse(url).map_err(|e| e.to_string())?)
    }

    #[test]
    fn a_destination_keeps_the_port_query_and_host_header() {
        let t = destination("http://127.0.0.1:4002/events?x=1").expect("destination");
        assert_eq!(t.authority, "127.0.0.1:4002");
        assert_eq!(t.host, "127.0.0.1:4002");
        assert_eq!(t.path, "/events?x=1");
        let t = destination("http://query/events").expect("destination");
        assert_eq!(
            (t.authority.as_str(), t.host.to_str().ok()),
            ("query:80", Some("query"))
        );
        let t = destination("http://[::1]:9000/").expect("destination");
        assert_eq!(t.authority, "[::1]:9000");
    }

    #[test]
    fn credentials_in_the_url_become_basic_auth_and_stay_out_of_the_host() {
        let t = destination("http://user:p%40ss@127.0.0.1:9000/hook").expect("destination");
        assert_eq!(t.host, "127.0.0.1:9000");
        // base64("user:p@ss")
        assert_eq!(
            t.authorization.as_ref().and_then(|v| v.to_str().ok()),
            Some("Basic dXNlcjpwQHNz")
        );
        assert!(destination("http://127.0.0.1/")
            .expect("destination")
            .authorization
            .is_none());
    }

    #[test]
    fn https_is_refused_with_a_reason() {
        let error = destination("https://example.com/hook").expect_err("no TLS");
        assert!(error.contains("TLS"), "{error}");
    }
}
