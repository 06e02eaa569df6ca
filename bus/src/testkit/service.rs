//! `TestService`: a service's `run` in this process on 127.0.0.1:0, its shutdown token and
//! its task, so that each crate's test helpers only add typed calls to its own API.

use super::poll::{eventually, PATIENCE};
use std::any::Any;
use std::fmt::Display;
use std::future::Future;
use tokio::net::TcpListener;
use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

/// A service running in this process: `run(listener, …, shutdown)` in a task. Dropping it
/// cancels the service (without waiting); [`TestService::stop`] cancels and waits.
pub struct TestService<E> {
    name: &'static str,
    url: String,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), E>>>,
    http: reqwest::Client,
}

impl<E: Send + 'static> TestService<E> {
    /// Binds 127.0.0.1:0 and spawns `start(listener, shutdown)`, the service's `run` with
    /// its settings (see [`TestService::spawn_on`]). Does not wait for it to answer.
    pub async fn spawn<F, R>(name: &'static str, start: F) -> Self
    where
        F: FnOnce(TcpListener, CancellationToken) -> R,
        R: Future<Output = Result<(), E>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        Self::spawn_on(name, listener, start)
    }

    /// Spawns `start(listener, shutdown)` on a listener the test bound itself (to know the
    /// service's URL before it starts, e.g. to put a proxy in front of it). `name` names
    /// the service in the messages of a failed test.
    pub fn spawn_on<F, R>(name: &'static str, listener: TcpListener, start: F) -> Self
    where
        F: FnOnce(TcpListener, CancellationToken) -> R,
        R: Future<Output = Result<(), E>> + Send + 'static,
    {
        crate::kit::init_test_tracing();
        let addr = listener.local_addr().expect("a local address");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(start(listener, shutdown.clone()));
        TestService {
            name,
            url: format!("http://{addr}"),
            shutdown,
            task: Some(task),
            http: reqwest::Client::new(),
        }
    }
}

impl<E> TestService<E> {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The full URL of `path` (which starts with `/`).
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// An HTTP client for the test's calls (one per service, so connections are reused).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Begins the shutdown (as on SIGTERM), without waiting for it.
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Waits until `/readyz` answers `200`.
    pub async fn until_ready(&self) {
        self.until_ok("/readyz").await;
    }

    /// Waits until `GET path` answers `200`; panics if `run` ends meanwhile.
    pub async fn until_ok(&self, path: &str) {
        let url = self.at(path);
        let what = format!("{} to answer {path} with 200", self.name);
        eventually(&what, || async {
            if self.task.as_ref().is_some_and(JoinHandle::is_finished) {
                panic!("{} ended before {path} answered 200", self.name);
            }
            let answer = self.http.get(&url).send().await.ok()?;
            (answer.status() == reqwest::StatusCode::OK).then_some(())
        })
        .await;
    }

    /// Waits, bounded by [`PATIENCE`], for `run` to end (by itself, or after a shutdown),
    /// and returns how it ended. Panics if it does not end in time or panicked.
    pub async fn ended(mut self) -> Result<(), E> {
        let task = self.task.take().expect("running");
        match tokio::time::timeout(PATIENCE, task).await {
            Ok(joined) => joined.unwrap_or_else(|e| panic!("{} {}", self.name, panicked(e))),
            Err(_) => panic!("{} did not end within {PATIENCE:?}", self.name),
        }
    }
}

impl<E: Display> TestService<E> {
    /// Stops the service gracefully (as on SIGTERM) and waits for `run` to end; panics if
    /// it does not stop within [`PATIENCE`], panicked, or ended with an error.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let name = self.name;
        if let Err(e) = self.ended().await {
            panic!("{name} stopped with an error: {e}");
        }
    }
}

impl<E> Drop for TestService<E> {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// "panicked: <its message>", or "was cancelled".
fn panicked(error: JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => format!("panicked: {}", panic_message(payload.as_ref())),
        Err(_) => "was cancelled".into(),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    let text = payload.downcast_ref::<&str>().copied();
    let text = text.or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    text.unwrap_or("(not a string)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Router;

    /// A service that answers `/readyz` until shut down, then ends with `outcome`.
    async fn serve(
        listener: TcpListener,
        shutdown: CancellationToken,
        outcome: Result<(), String>,
    ) -> Result<(), String> {
        let app = Router::new().route("/readyz", get(|| async { "ready" }));
        let stopped = shutdown.clone().cancelled_owned();
        let served = axum::serve(listener, app).with_graceful_shutdown(stopped);
        served.await.map_err(|e| e.to_string())?;
        outcome
    }

    #[tokio::test]
    async fn a_service_is_reached_at_its_url_and_stops_cleanly() {
        let service = TestService::spawn("ok", |l, s| serve(l, s, Ok(()))).await;
        service.until_ready().await;
        let answer = service.http().get(service.at("/readyz")).send().await;
        assert_eq!(
            answer.expect("an answer").text().await.expect("a body"),
            "ready"
        );
        service.stop().await;
    }

    #[tokio::test]
    async fn ended_says_how_run_ended() {
        let service = TestService::spawn("failing", |_, _| async { Err("refused") }).await;
        assert_eq!(service.ended().await, Err("refused"));
    }

    #[tokio::test]
    #[should_panic(expected = "bad stopped with an error: disk full")]
    async fn stop_fails_the_test_when_run_ends_with_an_error() {
        let failing = Err("disk full".to_string());
        let service = TestService::spawn("bad", |l, s| serve(l, s, failing)).await;
        service.until_ready().await;
        service.stop().await;
    }

    #[tokio::test]
    #[should_panic(expected = "boom panicked: kaboom")]
    async fn stop_fails_the_test_when_run_panics() {
        let service: TestService<String> =
            TestService::spawn("boom", |_, _| async { panic!("kaboom") }).await;
        service.stop().await;
    }

    #[tokio::test]
    #[should_panic(expected = "early ended before /readyz answered 200")]
    async fn until_ready_fails_at_once_when_run_ends_first() {
        let service = TestService::spawn("early", |_, _| async { Err::<(), _>("no") }).await;
        service.until_ready().await;
    }

    #[tokio::test]
    async fn dropping_it_shuts_the_service_down() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let (tx, rx) = tokio::sync::oneshot::channel();
        let service = TestService::spawn_on("dropped", listener, |_, shutdown| async move {
            shutdown.cancelled().await;
            tx.send(()).map_err(|()| "the test is gone")
        });
        drop(service);
        tokio::time::timeout(PATIENCE, rx)
            .await
            .expect("ended")
            .expect("sent");
    }
}
