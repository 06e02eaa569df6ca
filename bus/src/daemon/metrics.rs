//! Prometheus metrics of the daemon, served as text on `GET /metrics`, in the classic
//! Prometheus format or in OpenMetrics ([`Exposition`]).

mod exposition;

pub(crate) use exposition::Exposition;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

type Labels = Vec<(String, String)>;

fn labels(subscription: &str) -> Labels {
    vec![("subscription".into(), subscription.into())]
}

/// The daemon's metrics. Cheap to clone (each metric is an `Arc` inside).
#[derive(Clone)]
pub(crate) struct Metrics {
    /// Events appended since start.
    pub(crate) events_appended: Counter,
    /// Time from a publish request's arrival to its answer, in seconds.
    pub(crate) publish_seconds: Histogram,
    /// Events per group commit.
    pub(crate) batch_events: Histogram,
    /// The durable head, raised by the flusher after each flush.
    pub(crate) head_seq: Gauge,
    sub_delivered: Family<Labels, Counter>,
    sub_failures: Family<Labels, Counter>,
    sub_lag: Family<Labels, Gauge>,
    sub_lag_seconds: Family<Labels, Gauge<f64, AtomicU64>>,
    registry: Arc<Registry>,
}

impl Metrics {
    /// Every metric at zero, registered under the `minibus_` prefix.
    pub(crate) fn new() -> Self {
        let events_appended = Counter::default();
        let publish_seconds = Histogram::new([
            0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
            1.0,
        ]);
        let batch_events = Histogram::new([
            1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0,
        ]);
        let head_seq = Gauge::default();
        let sub_delivered = Family::<Labels, Counter>::default();
        let sub_failures = Family::<Labels, Counter>::default();
        let sub_lag = Family::<Labels, Gauge>::default();
        let sub_lag_seconds = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        let mut registry = Registry::with_prefix("minibus");
        registry.register(
            "subscription_delivered",
            "Events acknowledged by each subscriber",
            sub_delivered.clone(),
        );
        registry.register(
            "subscription_failures",
            "Failed delivery attempts per subscription",
            sub_failures.clone(),
        );
        registry.register(
            "subscription_lag",
            "Events between a subscription's cursor and the head",
            sub_lag.clone(),
        );
        registry.register(
            "subscription_lag_seconds",
            "Age of the next event a subscription has to deliver",
            sub_lag_seconds.clone(),
        );
        registry.register(
            "events_appended",
            "Events appended since start",
            events_appended.clone(),
        );
        registry.register(
            "publish_duration_seconds",
            "Time from a publish request's arrival to its answer",
            publish_seconds.clone(),
        );
        registry.register(
            "commit_batch_events",
            "Events per group commit",
            batch_events.clone(),
        );
        registry.register(
            "head_seq",
            "The durable head (last readable seq)",
            head_seq.clone(),
        );
        Self {
            events_appended,
            publish_seconds,
            batch_events,
            head_seq,
            sub_delivered,
            sub_failures,
            sub_lag,
            sub_lag_seconds,
            registry: Arc::new(registry),
        }
    }

    /// Events acknowledged by `subscription`.
    pub(crate) fn sub_delivered(&self, subscription: &str) -> Counter {
        self.sub_delivered
            .get_or_create(&labels(subscription))
            .clone()
    }

    /// Failed attempts of `subscription`.
    pub(crate) fn sub_failures(&self, subscription: &str) -> Counter {
        self.sub_failures
            .get_or_create(&labels(subscription))
            .clone()
    }

    /// Sets the lag gauges of `subscription`.
    pub(crate) fn set_lag(&self, subscription: &str, lag: u64, seconds: f64) {
        let l = labels(subscription);
        self.sub_lag
            .get_or_create(&l)
            .set(i64::try_from(lag).unwrap_or(i64::MAX));
        self.sub_lag_seconds.get_or_create(&l).set(seconds);
    }

    /// Drops the series of a deleted subscription.
    pub(crate) fn forget_subscription(&self, subscription: &str) {
        let l = labels(subscription);
        self.sub_delivered.remove(&l);
        self.sub_failures.remove(&l);
        self.sub_lag.remove(&l);
        self.sub_lag_seconds.remove(&l);
    }

    /// The metrics as text in `format`.
    pub(crate) fn render(&self, format: Exposition) -> String {
        let mut openmetrics = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut openmetrics, &self.registry);
        match format {
            Exposition::OpenMetrics => openmetrics,
            Exposition::Classic => exposition::classic_from_openmetrics(&openmetrics),
        }
    }
}
