//! The gateway in this process on 127.0.0.1:0, with its upstreams where the test says.

use bus::testkit::eventually;
use client::{ClientArgs, RunError};
use std::net::SocketAddr;
use tokio::net::TcpListener;
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
        bus::kit::init_test_tracing();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("an address");
        let mut args = ClientArgs::new(addr);
        tweak(&mut args);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(client::run(listener, args, shutdown.clone()));
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
