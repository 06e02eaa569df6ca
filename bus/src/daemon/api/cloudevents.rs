//! How a publish is framed: a minibus event (or array), a CloudEvent in structured mode, or
//! a CloudEvent in binary mode (the default of the official SDKs' emitters).
//!
//! Binary mode carries the event's attributes in `ce-*` headers and its `data` as the body
//! (CloudEvents HTTP binding 1.0, §3.1). A request with any `ce-*` header is read that way
//! and never as a minibus event body: otherwise `ce-type: com.example.OrderPlaced` with the
//! body `{"id": "order-7", "type": "book"}` would be stored as type `book`, and a second
//! CloudEvent whose body held the same `id` would be taken for a duplicate and lost.

use super::ApiError;
use crate::envelope::NewEvent;
use crate::kit::quote;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde_json::value::RawValue;

/// The one CloudEvents version the bus reads.
const SPEC_VERSION: &str = "1.0";

/// How the body of `POST /events` is framed.
pub(super) enum Framing {
    /// A minibus event or an array of them (`application/json`).
    Plain,
    /// A CloudEvent or an array of them in structured mode
    /// (`Content-Type: application/cloudevents…`).
    Structured,
    /// A CloudEvent in binary mode: its attributes from the headers; the body is `data`.
    Binary(BinaryAttributes),
}

/// The attributes of a binary-mode CloudEvent that the bus stores.
pub(super) struct BinaryAttributes {
    id: String,
    ty: String,
    source: String,
}

impl BinaryAttributes {
    /// The event: these attributes, with `body` (JSON) as its `data`.
    pub(super) fn event(self, body: &[u8]) -> Result<NewEvent, ApiError> {
        let data: Box<RawValue> = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(
                "invalid_json",
                format!("the body of a binary-mode CloudEvent is its data, and must be JSON: {e}"),
            )
        })?;
        Ok(NewEvent {
            id: Some(self.id),
            ty: self.ty,
            data: Some(data),
            stream: None,
            expected_version: None,
            source: Some(self.source),
            correlation_id: None,
            causation_id: None,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Framing {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        framing(&parts.headers)
    }
}

/// Reads the framing from the headers, without copying them.
fn framing(headers: &HeaderMap) -> Result<Framing, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let has_ce_header = headers.keys().any(|name| name.as_str().starts_with("ce-"));
    if !has_ce_header {
        return Ok(if content_type.starts_with("application/cloudevents") {
            Framing::Structured
        } else {
            Framing::Plain
        });
    }
    let attribute = |name: &str| -> Result<String, ApiError> {
        let value = headers.get(name).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_event",
                format!("a binary-mode CloudEvent (a request with ce-* headers) needs {name}"),
            )
        })?;
        let value = value.to_str().map_err(|_| {
            ApiError::bad_request("invalid_event", format!("{name} is not visible ASCII"))
        })?;
        percent_decode(name, value)
    };
    let version = attribute("ce-specversion")?;
    if version != SPEC_VERSION {
        return Err(ApiError::bad_request(
            "invalid_event",
            format!(
                "ce-specversion {:?} is not supported ({SPEC_VERSION} is)",
                quote(&version)
            ),
        ));
    }
    if !is_json(content_type) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "the bus stores JSON data: a binary-mode CloudEvent needs a JSON Content-Type, \
                 not {:?}",
                quote(content_type)
            ),
        ));
    }
    Ok(Framing::Binary(BinaryAttributes {
        id: attribute("ce-id")?,
        ty: attribute("ce-type")?,
        source: attribute("ce-source")?,
    }))
}

/// A header value percent-decoded, as the HTTP binding requires of receivers (§3.1.3.2):
/// senders encode a space, `"`, `%` and anything beyond printable ASCII (the PyPI SDK
/// does), so `ce-source: /shop/my%20orders` is the source `/shop/my orders`.
fn percent_decode(name: &str, value: &str) -> Result<String, ApiError> {
    let decoded = percent_encoding::percent_decode_str(value).decode_utf8();
    let decoded = decoded.map_err(|_| {
        ApiError::bad_request(
            "invalid_event",
            format!("{name} is not UTF-8 once percent-decoded"),
        )
    })?;
    Ok(decoded.into_owned())
}

/// `application/json`, or any `+json` type, with or without parameters; or no type at
/// all, which JSON is then implied for (CloudEvents 1.0, `datacontenttype`: the PyPI SDK
/// sends no `Content-Type` for an event without one).
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.is_empty() || essence == "application/json" || essence.ends_with("+json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("a header value"));
        }
        map
    }

    #[test]
    fn the_content_type_alone_tells_plain_from_structured() {
        let plain = framing(&headers(&[("content-type", "application/json")]));
        assert!(matches!(plain, Ok(Framing::Plain)));
        let structured = framing(&headers(&[(
            "content-type",
            "application/cloudevents+json; charset=utf-8",
        )]));
        assert!(matches!(structured, Ok(Framing::Structured)));
    }

    #[test]
    fn binary_attributes_are_percent_decoded_and_must_then_be_utf8() {
        let mut pairs = vec![
            ("content-type", "application/json"),
            ("ce-specversion", "1.0"),
            ("ce-id", "order%207%20%E2%9C%93"),
            ("ce-type", "com.example.commande%20cr%C3%A9%C3%A9e"),
            ("ce-source", "/shop/100%25%20%22eu%22"),
        ];
        let Ok(Framing::Binary(attributes)) = framing(&headers(&pairs)) else {
            panic!("a binary-mode CloudEvent");
        };
        assert_eq!(attributes.id, "order 7 ✓");
        assert_eq!(attributes.ty, "com.example.commande créée");
        assert_eq!(attributes.source, r#"/shop/100% "eu""#);

        pairs[2] = ("ce-id", "order%FF");
        let Err(refused) = framing(&headers(&pairs)) else {
            panic!("not UTF-8 once decoded, yet accepted");
        };
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn json_types_are_told_from_others() {
        for json in [
            "application/json",
            "application/json; charset=utf-8",
            "text/x+json",
        ] {
            assert!(is_json(json), "{json}");
        }
        assert!(is_json(""), "no type: JSON is implied");
        for other in [
            "text/plain",
            "application/octet-stream",
            "application/jsonx",
        ] {
            assert!(!is_json(other), "{other}");
        }
    }
}
