//! `Subscriptions`: the named HTTP endpoints the bus pushes events to, their durable
//! cursors, dead letters, and one [`Deliverer`] loop each.
//!
//! Settings, cursors and dead letters live in sled ([`store`]); what only matters while the
//! daemon runs (attempts, last error, blocked) lives in a [`Runtime`] per subscription,
//! shared by its loop and the API. Every operation that moves a cursor does it by
//! compare-and-swap and then wakes the loop, so it takes effect at once.

pub mod client;
pub mod deliverer;
pub mod request;
pub mod spec;
pub mod store;
pub mod verdict;

pub use deliverer::{Deliverer, Outcome};

use super::metrics::Metrics;
use super::store::{EventLog, Filter, StoreError};
use super::writer::format_time;
use crate::signature::Signer;
use crate::wire::{
    DeadLetter, RewindReply, RewindRequest, Start, SubscriptionSpec, SubscriptionState,
    SubscriptionStatus,
};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use store::{Cursor, StoredSub, SubStore, SubStoreError};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What a subscription operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SubError {
    /// `404 not_found`.
    #[error("no subscription {0}")]
    NotFound(String),
    /// `400 invalid_subscription`.
    #[error("{0}")]
    Invalid(String),
    /// `409 cursor_beyond_head`.
    #[error("seq {after} is beyond the head ({head})")]
    CursorBeyondHead {
        /// The requested cursor.
        after: u64,
        /// The durable head.
        head: u64,
    },
    /// `409 paused`.
    #[error("subscription {0} is paused")]
    Paused(String),
    /// `409 nothing_to_skip`.
    #[error("subscription {0} has no event to skip")]
    NothingToSkip(String),
    /// `404 not_found` for a dead letter.
    #[error("subscription {0} has no dead letter {1}")]
    NoDeadLetter(String, u64),
    /// `500`.
    #[error(transparent)]
    Store(#[from] SubStoreError),
    /// `500`.
    #[error(transparent)]
    Log(#[from] StoreError),
}

/// What every loop shares.
pub struct Shared {
    log: Arc<dyn EventLog>,
    store: SubStore,
    log_id: String,
    metrics: Metrics,
    durable: watch::Receiver<u64>,
    /// How long a loop polls for an answer before it sleeps (`--delivery-spin-us`).
    spin: std::time::Duration,
}

/// What only matters while the daemon runs.
#[derive(Debug, Default)]
pub struct Live {
    /// Failed attempts of the event at the cursor.
    pub attempts: u32,
    /// The last failure.
    pub last_error: Option<String>,
    /// `max_attempts` reached with `on_exhausted: "block"`.
    pub blocked: bool,
    /// After a batch failed: send one event per request until past this seq.
    pub one_by_one_until: u64,
    /// Milliseconds since the epoch of the last acknowledged delivery.
    pub last_delivered_ms: Option<i64>,
    /// Raised by every [`Runtime::clear`]: a failure verdict for a delivery sent before a
    /// clear (a rewind, reset, skip, resume) is not recorded.
    pub epoch: u64,
}

/// A subscription's settings with what each delivery derives from them, computed once
/// per change instead of once per delivery.
pub struct Current {
    sub: StoredSub,
    /// Where deliveries go, or why they cannot (a URL validated on PUT that this build
    /// cannot reach, or a stored one that no longer parses).
    target: Result<client::Target, String>,
    signer: Option<Signer>,
    filter: Filter,
}

impl Current {
    fn new(sub: StoredSub) -> Self {
        Self {
            target: reqwest::Url::parse(&sub.spec.url)
                .map_err(|e| format!("the stored url {:?} does not parse: {e}", sub.spec.url))
                .and_then(|url| client::Target::from_url(&url)),
            signer: sub
                .spec
                .secret
                .as_deref()
                .and_then(|s| Signer::from_secret(s).ok()),
            filter: Filter {
                types: sub.spec.types.clone(),
                stream: None,
            },
            sub,
        }
    }
}

impl std::ops::Deref for Current {
    type Target = StoredSub;
    fn deref(&self) -> &StoredSub {
        &self.sub
    }
}

/// One subscription's runtime, shared by its loop and the API.
pub struct Runtime {
    name: String,
    /// Held by every read-modify-write of the stored settings (PUT, pause, resume, a 410),
    /// so that none of them undoes another.
    settings: Mutex<()>,
    sub: RwLock<Arc<Current>>,
    delivered: prometheus_client::metrics::counter::Counter,
    failures: prometheus_client::metrics::counter::Counter,
    live: Mutex<Live>,
    wake: Notify,
    redeliver: Mutex<VecDeque<u64>>,
    cancel: CancellationToken,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Runtime {
    fn sub(&self) -> Arc<Current> {
        self.sub
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_sub(&self, sub: StoredSub) {
        *self
            .sub
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(Current::new(sub));
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        lock(&self.live)
    }

    fn next_redelivery(&self) -> Option<u64> {
        lock(&self.redeliver).pop_front()
    }

    /// Clears attempts, errors and `blocked` (after a reset, rewind, resume, skip or park).
    fn clear(&self) {
        let mut live = self.live();
        live.attempts = 0;
        live.last_error = None;
        live.blocked = false;
        live.one_by_one_until = 0;
        live.epoch += 1;
    }

    fn acknowledged(&self) {
        let mut live = self.live();
        live.attempts = 0;
        live.last_error = None;
        live.last_delivered_ms = Some(chrono::Utc::now().timestamp_millis());
    }

    /// Records a failed attempt of a delivery sent in `epoch`; returns the attempts so far,
    /// or `None` if a clear happened since (the verdict is stale).
    fn failed(&self, epoch: u64, error: &str, one_by_one_until: u64) -> Option<u32> {
        let mut live = self.live();
        if live.epoch != epoch {
            return None;
        }
        live.attempts += 1;
        live.last_error = Some(error.into());
        live.one_by_one_until = live.one_by_one_until.max(one_by_one_until);
        Some(live.attempts)
    }

    /// Stops in `blocked`, unless a clear happened since `epoch`; whether it did.
    fn block(&self, epoch: u64) -> bool {
        let mut live = self.live();
        live.blocked = live.epoch == epoch;
        live.blocked
    }
}

struct Entry {
    rt: Arc<Runtime>,
    task: JoinHandle<()>,
}

/// The delivery loops run on a runtime of their own, on one thread: a loop and its HTTP
/// connection then wake each other without crossing threads, which is most of what a
/// one-event delivery costs. It lives until `done` is cancelled (after the loops ended).
fn delivery_runtime(done: &CancellationToken) -> Result<tokio::runtime::Handle, SubError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SubError::Invalid(format!("cannot start the delivery runtime: {e}")))?;
    let handle = runtime.handle().clone();
    let done = done.clone();
    std::thread::Builder::new()
        .name("minibus-delivery".into())
        .spawn(move || runtime.block_on(done.cancelled()))
        .map_err(|e| SubError::Invalid(format!("cannot start the delivery thread: {e}")))?;
    Ok(handle)
}

/// The registry of subscriptions. Cheap to clone.
#[derive(Clone)]
pub struct Subscriptions {
    runtime: tokio::runtime::Handle,
    /// Ends the delivery runtime's thread, once every loop has stopped.
    done: CancellationToken,
    shared: Arc<Shared>,
    loops: Arc<Mutex<HashMap<String, Entry>>>,
    allow_hosts: Arc<Vec<String>>,
    stop: CancellationToken,
}

/// Changes the stored settings of `rt` under its settings lock, so that no two changes
/// undo each other. `change` edits a copy and says whether there is anything to store;
/// `false` when the subscription was deleted meanwhile.
fn update_stored(
    shared: &Shared,
    rt: &Runtime,
    change: impl FnOnce(&StoredSub) -> Option<StoredSub>,
) -> Result<bool, SubError> {
    let _settings = lock(&rt.settings);
    let Some(sub) = change(&rt.sub().sub) else {
        return Ok(true);
    };
    if !shared.store.save(&rt.name, &sub, None)? {
        return Ok(false);
    }
    rt.set_sub(sub);
    Ok(true)
}

/// Clears retries and `blocked`, in memory and in the store (after a reset, rewind,
/// resume, skip or park).
fn clear(shared: &Shared, rt: &Runtime) -> Result<(), SubError> {
    rt.clear();
    // Under the settings lock, so that a block being stored meanwhile is undone here.
    update_stored(shared, rt, |sub| {
        sub.blocked.is_some().then(|| StoredSub {
            blocked: None,
            ..sub.clone()
        })
    })?;
    Ok(())
}

/// Stores that delivery stopped in `blocked`, with its last error, unless a clear came
/// first: `blocked` then survives a restart.
fn store_block(shared: &Shared, rt: &Runtime) -> Result<(), SubError> {
    update_stored(shared, rt, |sub| {
        let live = rt.live();
        live.blocked.then(|| StoredSub {
            blocked: Some(live.last_error.clone().unwrap_or_default()),
            ..sub.clone()
        })
    })?;
    Ok(())
}

/// Stores the paused reason (`None` resumes) and wakes the loop.
fn set_paused(shared: &Shared, rt: &Runtime, reason: Option<String>) -> Result<(), SubError> {
    let stored = update_stored(shared, rt, |sub| {
        Some(StoredSub {
            paused: reason,
            ..sub.clone()
        })
    })?;
    if !stored {
        return Err(SubError::NotFound(rt.name.clone()));
    }
    rt.wake.notify_one();
    Ok(())
}

impl Subscriptions {
    /// Loads every stored subscription and starts its loop.
    pub fn start(
        db: &sled::Db,
        log: Arc<dyn EventLog>,
        durable: watch::Receiver<u64>,
        metrics: Metrics,
        allow_hosts: Vec<String>,
        spin: std::time::Duration,
    ) -> Result<Self, SubError> {
        let shared = Arc::new(Shared {
            log_id: log.log_id().to_string(),
            store: SubStore::open(db)?,
            log,
            metrics,
            durable,
            spin,
        });
        let stop = CancellationToken::new();
        let done = CancellationToken::new();
        let subs = Self {
            shared,
            loops: Arc::default(),
            allow_hosts: Arc::new(allow_hosts),
            runtime: delivery_runtime(&done)?,
            done,
            stop,
        };
        {
            let mut loops = lock(&subs.loops);
            let head = subs.head();
            for (name, sub, cursor) in subs.shared.store.all()? {
                if cursor.cursor > head {
                    // Only after a crash with `--durability os`, which may lose acknowledged
                    // events: deliver the seqs that will be reused.
                    tracing::warn!(subscription = %name, cursor = cursor.cursor, head, "cursor beyond the head: moved back to the head");
                    let back = Cursor {
                        generation: cursor.generation + 1,
                        cursor: head,
                        ..cursor
                    };
                    subs.shared.store.swap_cursor(&name, cursor, back)?;
                }
                subs.spawn(&mut loops, name, sub);
            }
        }
        Ok(subs)
    }

    /// Starts the loop of `name` and registers it in `loops` (the caller holds the lock).
    fn spawn(&self, loops: &mut HashMap<String, Entry>, name: String, sub: StoredSub) {
        // Blocked before a restart: still blocked, with the error that blocked it.
        let live = Live {
            blocked: sub.blocked.is_some(),
            last_error: sub.blocked.clone(),
            ..Live::default()
        };
        let rt = Arc::new(Runtime {
            name: name.clone(),
            settings: Mutex::default(),
            delivered: self.shared.metrics.sub_delivered(&name),
            failures: self.shared.metrics.sub_failures(&name),
            sub: RwLock::new(Arc::new(Current::new(sub))),
            live: Mutex::new(live),
            wake: Notify::new(),
            redeliver: Mutex::default(),
            cancel: self.stop.child_token(),
        });
        let task = self
            .runtime
            .spawn(Deliverer::new(rt.clone(), self.shared.clone()).run());
        loops.insert(name, Entry { rt, task });
    }

    fn runtime(&self, name: &str) -> Result<Arc<Runtime>, SubError> {
        lock(&self.loops)
            .get(name)
            .map(|e| e.rt.clone())
            .ok_or_else(|| SubError::NotFound(name.into()))
    }

    fn head(&self) -> u64 {
        *self.shared.durable.borrow()
    }

    /// How many subscriptions exist.
    pub fn count(&self) -> u64 {
        lock(&self.loops).len() as u64
    }

    fn start_cursor(&self, start: Start) -> Result<u64, SubError> {
        let head = self.head();
        match start {
            Start::Word(crate::wire::StartWord::Beginning) => Ok(0),
            Start::Word(crate::wire::StartWord::End) => Ok(head),
            Start::After { after } if after > head => {
                Err(SubError::CursorBeyondHead { after, head })
            }
            Start::After { after } => Ok(after),
        }
    }

    /// `PUT /subscriptions/NAME`: creates (`true`) or replaces the settings (`false`).
    pub fn put(
        &self,
        name: &str,
        mut spec: SubscriptionSpec,
    ) -> Result<(SubscriptionStatus, bool), SubError> {
        spec::check_name(name).map_err(SubError::Invalid)?;
        spec::check(&spec, &self.allow_hosts).map_err(SubError::Invalid)?;
        let reset = std::mem::take(&mut spec.reset);
        // Creation holds the registry's lock from the check to the insert, so that two
        // PUTs racing to create one subscription cannot start two loops.
        let mut loops = lock(&self.loops);
        let existing = loops.get(name).map(|e| e.rt.clone());
        let Some(rt) = existing else {
            let cursor = Cursor {
                generation: self.shared.store.first_generation(name)?,
                cursor: self.start_cursor(spec.start)?,
                delivered: 0,
            };
            let sub = StoredSub {
                spec,
                paused: None,
                blocked: None,
            };
            self.shared.store.save(name, &sub, Some(cursor))?;
            self.spawn(&mut loops, name.into(), sub);
            drop(loops);
            tracing::info!(
                subscription = name,
                cursor = cursor.cursor,
                "subscription created"
            );
            return Ok((self.status(name)?, true));
        };
        drop(loops);
        let settings = lock(&rt.settings);
        let current = rt.sub();
        let sub = StoredSub {
            spec,
            paused: current.paused.clone(),
            blocked: current.blocked.clone(),
        };
        let after = reset
            .then(|| self.start_cursor(sub.spec.start))
            .transpose()?;
        if !self.shared.store.save(name, &sub, None)? {
            return Err(SubError::NotFound(name.into()));
        }
        rt.set_sub(sub);
        drop(settings);
        match after {
            Some(after) => {
                self.move_cursor(&rt, after)?;
            }
            None => rt.wake.notify_one(),
        }
        Ok((self.status(name)?, false))
    }

    /// Moves the cursor to `after` in a new generation, clears retries, wakes the loop.
    fn move_cursor(&self, rt: &Runtime, after: u64) -> Result<u64, SubError> {
        loop {
            let current = self
                .shared
                .store
                .cursor(&rt.name)?
                .ok_or_else(|| SubError::NotFound(rt.name.clone()))?;
            let new = Cursor {
                generation: current.generation + 1,
                cursor: after,
                ..current
            };
            if self.shared.store.swap_cursor(&rt.name, current, new)? {
                clear(&self.shared, rt)?;
                rt.wake.notify_one();
                tracing::info!(subscription = %rt.name, after, generation = new.generation, "cursor moved");
                return Ok(new.generation);
            }
        }
    }

    /// `GET /subscriptions/NAME`.
    pub fn status(&self, name: &str) -> Result<SubscriptionStatus, SubError> {
        let rt = self.runtime(name)?;
        let cursor = self
            .shared
            .store
            .cursor(name)?
            .ok_or_else(|| SubError::NotFound(name.into()))?;
        let head = self.head().max(cursor.cursor);
        let sub = rt.sub();
        let live = rt.live();
        let state = match (&sub.paused, live.blocked, live.attempts) {
            (Some(_), _, _) => SubscriptionState::Paused,
            (None, true, _) => SubscriptionState::Blocked,
            (None, false, 0) => SubscriptionState::Active,
            (None, false, _) => SubscriptionState::Retrying,
        };
        Ok(SubscriptionStatus {
            name: name.into(),
            url: sub.spec.url.clone(),
            types: sub.spec.types.clone(),
            cursor: cursor.cursor,
            generation: cursor.generation,
            head_seq: head,
            lag: head - cursor.cursor,
            lag_seconds: self.lag_seconds(cursor.cursor, head)?,
            state,
            attempts: live.attempts,
            last_error: live.last_error.clone(),
            last_delivered_at: live.last_delivered_ms.map(format_time),
            delivered: cursor.delivered,
            dead_letters: self.shared.store.dead_letter_count(name),
            paused_reason: sub.paused.clone(),
            batch: sub.spec.batch,
            format: sub.spec.format,
        })
    }

    fn lag_seconds(&self, cursor: u64, head: u64) -> Result<f64, SubError> {
        if cursor >= head {
            return Ok(0.0);
        }
        let Some(next) = self.shared.log.get(cursor + 1)? else {
            return Ok(0.0);
        };
        let age_ms = chrono::Utc::now().timestamp_millis() - next.time_ms();
        Ok(age_ms.max(0) as f64 / 1000.0)
    }

    /// `GET /subscriptions`, by name.
    pub fn list(&self) -> Result<Vec<SubscriptionStatus>, SubError> {
        let mut names: Vec<String> = lock(&self.loops).keys().cloned().collect();
        names.sort();
        let mut out = Vec::with_capacity(names.len());
        for name in &names {
            match self.status(name) {
                Ok(status) => out.push(status),
                Err(SubError::NotFound(_)) => {} // deleted meanwhile
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// `DELETE /subscriptions/NAME`.
    pub fn delete(&self, name: &str) -> Result<(), SubError> {
        // Under the registry's lock, so that a PUT creating it again waits for this.
        let mut loops = lock(&self.loops);
        let entry = loops
            .remove(name)
            .ok_or_else(|| SubError::NotFound(name.into()))?;
        entry.rt.cancel.cancel();
        self.shared.store.delete(name)?;
        drop(loops);
        self.shared.metrics.forget_subscription(name);
        tracing::info!(subscription = name, "subscription deleted");
        Ok(())
    }

    /// `POST …/pause` (`reason` given) or `…/resume` (`None`; also clears `blocked`).
    pub fn set_paused(
        &self,
        name: &str,
        reason: Option<String>,
    ) -> Result<SubscriptionStatus, SubError> {
        let rt = self.runtime(name)?;
        if reason.is_none() {
            clear(&self.shared, &rt)?;
        }
        set_paused(&self.shared, &rt, reason)?;
        self.status(name)
    }

    /// `POST …/rewind`.
    pub fn rewind(&self, name: &str, request: &RewindRequest) -> Result<RewindReply, SubError> {
        let rt = self.runtime(name)?;
        let head = self.head();
        let after = match (request.after, request.time.as_deref()) {
            (Some(after), None) if after > head => {
                return Err(SubError::CursorBeyondHead { after, head })
            }
            (Some(after), None) => after,
            (None, Some(time)) => self.seq_before_time(time, head)?,
            _ => return Err(SubError::Invalid("give either `after` or `time`".into())),
        };
        let filter = rt.sub().filter.clone();
        let redeliver = self.count_matching(after, head, &filter)?;
        let generation = if request.dry_run {
            self.shared.store.cursor(name)?.map_or(0, |c| c.generation)
        } else {
            self.move_cursor(&rt, after)?
        };
        Ok(RewindReply {
            after,
            redeliver,
            dry_run: request.dry_run,
            generation,
        })
    }

    /// The seq just before the first event with time ≥ `time` (times never decrease along
    /// seq, so a binary search finds it).
    fn seq_before_time(&self, time: &str, head: u64) -> Result<u64, SubError> {
        let at = chrono::DateTime::parse_from_rfc3339(time)
            .map_err(|e| SubError::Invalid(format!("`time` is not RFC 3339: {e}")))?
            .timestamp_millis();
        let (mut lo, mut hi) = (1, head + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let t = self.shared.log.get(mid)?.map_or(i64::MAX, |e| e.time_ms());
            if t >= at {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(lo - 1)
    }

    fn count_matching(&self, after: u64, head: u64, filter: &Filter) -> Result<u64, SubError> {
        if filter.types.is_empty() {
            return Ok(head - after);
        }
        let (mut count, mut cursor) = (0, after);
        while cursor < head {
            let scan = self
                .shared
                .log
                .scan(cursor, head, filter, usize::MAX, 100_000)?;
            count += scan.events.len() as u64;
            cursor = scan.last_examined;
        }
        Ok(count)
    }

    /// `POST …/skip`: parks the next matching event and moves past it.
    pub fn skip(&self, name: &str) -> Result<DeadLetter, SubError> {
        let rt = self.runtime(name)?;
        let filter = rt.sub().filter.clone();
        loop {
            let cursor = self
                .shared
                .store
                .cursor(name)?
                .ok_or_else(|| SubError::NotFound(name.into()))?;
            let scan = self
                .shared
                .log
                .scan(cursor.cursor, self.head(), &filter, 1, usize::MAX)?;
            let Some(event) = scan.events.first() else {
                return Err(SubError::NothingToSkip(name.into()));
            };
            let attempts = rt.live().attempts;
            let letter = DeadLetter {
                seq: event.seq(),
                reason: "skipped by an operator".into(),
                attempts,
                last_status: None,
                last_error: rt.live().last_error.clone(),
                time: format_time(chrono::Utc::now().timestamp_millis()),
            };
            let new = Cursor {
                cursor: event.seq(),
                ..cursor
            };
            if self.shared.store.park(name, cursor, new, &letter)? {
                clear(&self.shared, &rt)?;
                rt.wake.notify_one();
                return Ok(letter);
            }
        }
    }

    /// `GET …/dead-letters`.
    pub fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>, SubError> {
        self.runtime(name)?;
        Ok(self.shared.store.dead_letters(name)?)
    }

    /// `POST …/dead-letters/SEQ/retry` (`Some`) or `…/dead-letters/retry` (all): queued
    /// ahead of the next event; returns the seqs queued.
    pub fn retry_dead_letters(&self, name: &str, seq: Option<u64>) -> Result<Vec<u64>, SubError> {
        let rt = self.runtime(name)?;
        if rt.sub().paused.is_some() {
            return Err(SubError::Paused(name.into()));
        }
        let seqs = match seq {
            Some(seq) => {
                self.shared
                    .store
                    .dead_letter(name, seq)?
                    .ok_or(SubError::NoDeadLetter(name.into(), seq))?;
                vec![seq]
            }
            None => self
                .shared
                .store
                .dead_letters(name)?
                .iter()
                .map(|d| d.seq)
                .collect(),
        };
        let mut queue = lock(&rt.redeliver);
        for seq in &seqs {
            if !queue.contains(seq) {
                queue.push_back(*seq);
            }
        }
        drop(queue);
        rt.wake.notify_one();
        Ok(seqs)
    }

    /// `DELETE …/dead-letters/SEQ`.
    pub fn delete_dead_letter(&self, name: &str, seq: u64) -> Result<(), SubError> {
        self.runtime(name)?;
        if self.shared.store.remove_dead_letter(name, seq)? {
            Ok(())
        } else {
            Err(SubError::NoDeadLetter(name.into(), seq))
        }
    }

    /// Updates the lag gauges (called before `/metrics` renders).
    pub fn refresh_metrics(&self) {
        for status in self.list().unwrap_or_default() {
            self.shared
                .metrics
                .set_lag(&status.name, status.lag, status.lag_seconds);
        }
    }

    /// Tells every loop to stop (a delivery in flight gets a second).
    pub fn begin_stop(&self) {
        self.stop.cancel();
    }

    /// Stops every loop and waits for them.
    pub async fn stop(&self) {
        self.stop.cancel();
        let tasks: Vec<JoinHandle<()>> = lock(&self.loops).drain().map(|(_, e)| e.task).collect();
        for task in tasks {
            let _ = task.await;
        }
        self.done.cancel();
    }
}
