//! The gateway in this process on 127.0.0.1:0, with its upstreams where the test says.

use bus::testkit::eventually;
use client::{ClientArgs, ClientService, RunError};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The gateway running in this process. Dropping it cancels it (without waiting).
pub(crate) struct TestGateway {
    url: String,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), RunError>>>,
    pub(crate) http: reqwest::Client,
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
        bus::kit::init_test_tracing();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("an address");
        let mut args = ClientArgs::new(addr);
        tweak(&mut args);
        let service = ClientService::open(&args).expect("the gateway's flags");
        let service = service.with_call_timeout(call_timeout);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(service.run(listener, shutdown.clone()));
        let gateway = TestGateway {
            url: format!("http://{addr}"),
            shutdown,
            task: Some(task),
            http: reqwest::Client::new(),
        };
        let healthz = gateway.at("/healthz");
        eventually("the gateway to answer /healthz", || async {
            let answer = gateway.http.get(&healthz).send().await.ok()?;
            answer.status().is_success().then_some(())
        })
        .await;
        gateway
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub(crate) fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// `127.0.0.1:PORT`.
    pub(crate) fn authority(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// Begins the gateway's shutdown, without waiting for it.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.cancel();
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

    /// Stops the gateway and waits for it to end.
    pub(crate) async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await
                .expect("the gateway's task")
                .expect("the gateway ran");
        }
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A URL where nothing listens: a port bound and let go at once.
pub(crate) async fn nothing_listening() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    drop(listener);
    format!("http://{addr}")
}
