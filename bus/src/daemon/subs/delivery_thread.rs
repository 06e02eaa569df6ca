//! `DeliveryThread`: the thread every delivery loop runs on, with the pool their store
//! reads go to; dropping it stops both.
//!
//! The loops share one thread, a tokio runtime of its own: a loop and its HTTP connection
//! then wake each other without crossing threads, which is most of what a one-event
//! delivery costs. Nothing on that thread may wait for the disk, or every loop would wait
//! with it: a loop's store reads (its cursor after an operator moved it, the events after
//! it, a dead letter) run on the runtime's blocking pool, at most [`READ_THREADS`] at once,
//! and each read fetches events for many deliveries (`ReadAhead`). What stays on the thread
//! are the writes of a verdict (a cursor's compare-and-swap, a park): sled applies them to
//! its in-memory tree, and leaves the disk to its flusher and the writer. They can still
//! wait, when sled must read a page of the subscription trees back from disk first or has
//! no free IO buffer; moving them off the thread too is left for when a measurement asks.

use std::future::Future;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Most threads reading the store for the loops at once. Each loop has at most one read in
/// flight, so this many loops can wait for the disk before a read waits for a thread.
pub(crate) const READ_THREADS: usize = 16;
/// How long the thread waits, at its end, for store reads still running on the pool.
const READ_GRACE: Duration = Duration::from_secs(1);

/// The name of the loops' thread (`minibus-deliver` in `/proc`, which keeps 15 bytes).
pub(crate) const LOOP_THREAD: &str = "minibus-delivery";
/// The name of the threads reading the store for the loops.
pub(crate) const READ_THREAD: &str = "minibus-dl-read";

/// The loops' thread and runtime. Dropping it cancels every loop and ends the thread, so
/// that an early error leaks nothing; [`DeliveryThread::end`] does it in order.
pub(crate) struct DeliveryThread {
    runtime: Handle,
    /// The parent of every loop's token: cancelled, the loops stop.
    stop: CancellationToken,
    /// Ends the thread (its runtime then drops whatever task is left).
    done: CancellationToken,
    /// Cancelled by the thread itself when it has ended.
    ended: CancellationToken,
}

impl DeliveryThread {
    /// Starts the runtime on a thread named `loop_name`, with store reads on threads named
    /// `read_name`.
    pub(crate) fn start(loop_name: &str, read_name: &str) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(READ_THREADS)
            .thread_name(read_name)
            .build()?;
        let runtime_handle = runtime.handle().clone();
        let done = CancellationToken::new();
        let ended = CancellationToken::new();
        let (until, on_end) = (done.clone(), ended.clone());
        std::thread::Builder::new()
            .name(loop_name.into())
            .spawn(move || {
                // Cancelled however the thread ends.
                let _ended = on_end.drop_guard();
                runtime.block_on(until.cancelled());
                runtime.shutdown_timeout(READ_GRACE);
            })?;
        Ok(Self {
            runtime: runtime_handle,
            stop: CancellationToken::new(),
            done,
            ended,
        })
    }

    /// Runs a loop on the thread.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) -> JoinHandle<()> {
        self.runtime.spawn(task)
    }

    /// A token for one loop: cancelled by its own delete, or when every loop stops.
    pub(crate) fn loop_token(&self) -> CancellationToken {
        self.stop.child_token()
    }

    /// Tells every loop to stop; a delivery in flight gets its grace period.
    pub(crate) fn begin_stop(&self) {
        self.stop.cancel();
    }

    /// Ends the thread, once the loops have stopped, and waits until it has.
    pub(crate) async fn end(&self) {
        self.stop.cancel();
        self.done.cancel();
        self.ended.cancelled().await;
    }
}

impl Drop for DeliveryThread {
    fn drop(&mut self) {
        self.stop.cancel();
        self.done.cancel();
    }
}
