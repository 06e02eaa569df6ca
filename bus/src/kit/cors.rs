//! `--cors-origin` (`MINIBUS_CORS_ORIGIN`) and the CORS layer it sets: the course's page
//! calls posts, comments and query from another origin, so each answers preflights and
//! lets the page read the headers it needs.

use super::ConfigError;
use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

/// The flag of a service a browser calls; `#[command(flatten)]` it beside
/// [`ServiceArgs`](super::ServiceArgs).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CorsArgs {
    /// Origins allowed to call this service from a browser (comma-separated or repeated,
    /// e.g. `http://posts.com`); any origin when not given.
    #[arg(
        long = "cors-origin",
        env = "MINIBUS_CORS_ORIGIN",
        value_delimiter = ','
    )]
    pub origins: Vec<String>,
}

impl CorsArgs {
    /// Any origin (the default).
    pub fn any() -> Self {
        Self::default()
    }

    /// Refuses an origin that is not a valid header value, before a service binds.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.allowed().map(drop)
    }

    /// The layer: the origins allowed, `methods` with any request header, and `expose`
    /// readable by the page (`Minibus-Seq`, `Minibus-Applied-Seq`).
    pub fn layer(
        &self,
        methods: &[Method],
        expose: &[&'static str],
    ) -> Result<CorsLayer, ConfigError> {
        let expose = expose.iter().map(|name| HeaderName::from_static(name));
        Ok(CorsLayer::new()
            .allow_origin(self.allowed()?)
            .allow_methods(methods.to_vec())
            .allow_headers(Any)
            .expose_headers(expose.collect::<Vec<_>>()))
    }

    fn allowed(&self) -> Result<AllowOrigin, ConfigError> {
        if self.origins.is_empty() {
            return Ok(AllowOrigin::any());
        }
        let values = self.origins.iter().map(|origin| {
            HeaderValue::from_str(origin).map_err(|_| ConfigError::CorsOrigin(origin.clone()))
        });
        Ok(AllowOrigin::list(values.collect::<Result<Vec<_>, _>>()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{header, Request};
    use axum::routing::get;
    use axum::Router;
    use clap::{Args, Command, FromArgMatches};
    use tower::ServiceExt;

    fn parse(flags: &[&str]) -> CorsArgs {
        let command = CorsArgs::augment_args(Command::new("service"));
        command.clone().debug_assert();
        let matches = command
            .try_get_matches_from(std::iter::once("service").chain(flags.iter().copied()))
            .expect("valid flags");
        CorsArgs::from_arg_matches(&matches).expect("the struct")
    }

    #[test]
    fn origins_are_comma_separated_or_repeated_and_read_their_variable() {
        let args = parse(&["--cors-origin", "http://a.test,http://b.test"]);
        assert_eq!(args.origins, ["http://a.test", "http://b.test"]);
        let args = parse(&[
            "--cors-origin",
            "http://a.test",
            "--cors-origin",
            "http://c.test",
        ]);
        assert_eq!(args.origins, ["http://a.test", "http://c.test"]);
        assert!(parse(&[]).origins.is_empty());
        let command = CorsArgs::augment_args(Command::new("service"));
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some("cors-origin"));
        let env = arg.and_then(|a| a.get_env()).and_then(|v| v.to_str());
        assert_eq!(env, Some("MINIBUS_CORS_ORIGIN"));
    }

    #[test]
    fn an_origin_that_is_no_header_value_is_refused_naming_the_flag() {
        let args = CorsArgs {
            origins: vec!["http://a.test\n".into()],
        };
        let error = args.check().expect_err("a newline");
        assert!(matches!(error, ConfigError::CorsOrigin(_)), "{error}");
        assert_eq!(
            error.to_string(),
            r#"--cors-origin "http://a.test\n" is not a valid origin"#
        );
        assert!(args.layer(&[Method::GET], &[]).is_err());
    }

    /// The `Access-Control-Allow-Origin` and `-Expose-Headers` answered to `origin`.
    async fn answered(args: &CorsArgs, origin: &str) -> (Option<String>, Option<String>) {
        let layer = args
            .layer(&[Method::GET, Method::POST], &["minibus-seq"])
            .expect("valid");
        let app = Router::new()
            .route("/", get(|| async { "ok" }))
            .layer(layer);
        let request = Request::get("/")
            .header(header::ORIGIN, origin)
            .body(Body::empty())
            .expect("a request");
        let response = app.oneshot(request).await.expect("infallible");
        let header = |name| {
            let value = response.headers().get(name);
            value.and_then(|v| v.to_str().ok()).map(String::from)
        };
        (
            header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            header(header::ACCESS_CONTROL_EXPOSE_HEADERS),
        )
    }

    #[tokio::test]
    async fn any_origin_unless_restricted_and_the_headers_exposed() {
        let (origin, exposed) = answered(&CorsArgs::any(), "http://x.test").await;
        assert_eq!(origin.as_deref(), Some("*"));
        assert_eq!(exposed.as_deref(), Some("minibus-seq"));
        let only = CorsArgs {
            origins: vec!["http://posts.com".into()],
        };
        let allowed = answered(&only, "http://posts.com").await.0;
        assert_eq!(allowed.as_deref(), Some("http://posts.com"));
        assert_eq!(answered(&only, "http://x.test").await.0, None);
    }
}
