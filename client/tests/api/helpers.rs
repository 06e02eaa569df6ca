//! The gateway in this process on 127.0.0.1:0, with its upstreams where the test says.

use bus::testkit::TestService;
use client::{ClientArgs, ClientService, RunError};
use std::ops::Deref;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The gateway running in this process: the kit's [`TestService`] with raw requests.
/// Dropping it cancels it (without waiting).
pub(crate) struct TestGateway(TestService<RunError>);

impl Deref for TestGateway {
    type Target = TestService<RunError>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl TestGateway {
    /// The gateway with `tweak` applied to its flags (whose upstreams are the defaults).
    pub(crate) async fn start_with(tweak: impl FnOnce(&mut ClientArgs)) -> TestGateway {
        Self::start_with_call_timeout(client::CALL_TIMEOUT, tweak).await
    }

    /// [`TestGateway::start_with`], whose calls to an upstream may take `call_timeout`.
    pub(crate) async fn start_with_call_timeout(
        call_timeout: Duration,
        tweak: impl FnOnce(&mut ClientArgs),
    ) -> TestGateway {
        let gateway = TestService::spawn("the gateway", |listener, shutdown| {
            let mut args = ClientArgs::new(listener.local_addr().expect("an address"));
            tweak(&mut args);
            let service = ClientService::open(&args).expect("the gateway's flags");
            let service = service.with_call_timeout(call_timeout);
            service.run(listener, shutdown)
        })
        .await;
        gateway.until_ok("/healthz").await;
        TestGateway(gateway)
    }

    /// `127.0.0.1:PORT`.
    pub(crate) fn authority(&self) -> &str {
        self.url().trim_start_matches("http://")
    }

    /// `method target` sent as is (an HTTP client would resolve `..` and `%2e%2e` in it)
    /// with an empty JSON object as its body: the answer's status and body.
    pub(crate) async fn raw(&self, method: &str, target: &str) -> (u16, String) {
        let mut tcp = TcpStream::connect(self.authority()).await.expect("connect");
        let request = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: 2\r\nConnection: close\r\n\r\n{{}}",
            self.authority()
        );
        tcp.write_all(request.as_bytes()).await.expect("send");
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).await.expect("an answer");
        let status = answer.get(9..12).and_then(|code| code.parse().ok());
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string());
        (status.expect("a status line"), body.unwrap_or_default())
    }

    /// Stops the gateway and waits, bounded, for it to end well.
    pub(crate) async fn stop(self) {
        self.0.stop().await;
    }
}

/// A URL where nothing listens: a port bound and let go at once.
pub(crate) async fn nothing_listening() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    drop(listener);
    format!("http://{addr}")
}
