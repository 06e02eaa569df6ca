//! A service with one state tree and an outbox over its own sled dir, the bus's log as the
//! tests read it, and a bus restarted on the port it had (where the relay still points).

use bus::sdk::{Outbox, Written};
use bus::testkit::eventually;
use bus::{Envelope, NewEvent};
use serde_json::json;
use sled::transaction::ConflictableTransactionResult;
use std::convert::Infallible;
use std::path::Path;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What a write's closure that never aborts returns.
pub(crate) type TxResult<A> = ConflictableTransactionResult<A, Infallible>;

/// A service's store: its `notes` tree and its outbox, in one sled dir.
pub(crate) struct Service {
    pub(crate) db: bus::sled_store::DurableDb,
    pub(crate) notes: sled::Tree,
    pub(crate) outbox: Outbox,
}

impl Service {
    /// Opens (or reopens) the service's store in `dir`.
    pub(crate) fn open(dir: &Path) -> Service {
        let db = bus::sled_store::DurableDb::open(dir, 16).unwrap();
        let notes = db.open_tree("notes").unwrap();
        let outbox = Outbox::open(&db).unwrap().with_source("notes");
        Service { db, notes, outbox }
    }

    /// Writes note `n` and its `Noted {n}` event in one transaction.
    pub(crate) async fn note(&self, n: u64) -> Written<()> {
        self.write_with(n, noted(n)).await
    }

    /// Writes note `n` with `event` as its event.
    pub(crate) async fn write_with(&self, n: u64, event: NewEvent) -> Written<()> {
        self.outbox
            .write([&self.notes], move |tx| -> TxResult<()> {
                let [notes] = tx.trees();
                notes.insert(&n.to_be_bytes(), b"noted")?;
                tx.enqueue(&event)?;
                Ok(())
            })
            .await
            .unwrap()
    }

    /// Starts the relay towards `bus_url`; it stops with the token.
    pub(crate) fn spawn_relay(&self, bus_url: &str) -> RelayTask {
        let shutdown = CancellationToken::new();
        let relay = self.outbox.relay(bus_url, None);
        let task = tokio::spawn(relay.run(shutdown.clone()));
        RelayTask {
            shutdown,
            _task: task,
        }
    }
}

/// A running relay; stopped when dropped.
pub(crate) struct RelayTask {
    shutdown: CancellationToken,
    _task: JoinHandle<()>,
}

impl Drop for RelayTask {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The event of note `n`.
pub(crate) fn noted(n: u64) -> NewEvent {
    NewEvent::new("Noted", &json!({ "n": n })).unwrap()
}

/// Every event in the bus's log, in seq order.
pub(crate) async fn log(bus_url: &str) -> Vec<Envelope> {
    let answer = reqwest::get(format!("{bus_url}/events")).await.unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

/// The `n` of each `Noted` event of the log, in seq order.
pub(crate) fn notes_in(log: &[Envelope]) -> Vec<u64> {
    let noted = log.iter().filter(|e| e.ty == "Noted");
    let data = noted.map(|e| serde_json::from_str::<serde_json::Value>(e.data.get()).unwrap());
    data.map(|d| d["n"].as_u64().unwrap()).collect()
}

/// Asserts that no id appears twice in the log.
pub(crate) fn assert_ids_unique(log: &[Envelope]) {
    let mut ids: Vec<&str> = log.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "an id twice in the log");
}

/// Waits until the outbox has nothing pending.
pub(crate) async fn until_drained(outbox: &Outbox) {
    eventually("the outbox to drain", || async {
        (outbox.pending_count() == 0).then_some(())
    })
    .await;
}
