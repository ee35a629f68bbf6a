//! Blocking work (an HTTP request, a PowerShell process, a sleep) as a future.
//!
//! The control logic awaits backend calls and sometimes several at once (the master fails the
//! VMs of a cluster over together with `join_all`). The production backends are blocking, so
//! each call runs on a thread of its own and its future completes when the thread is done:
//! a plain `block_on` then runs concurrent calls concurrently. Calls last seconds (a cmdlet,
//! a REST request), so a thread per call costs nothing that matters.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::backend::traits::BackendResult;
use crate::backend::{BackendError, Clock};
use crate::time::Micros;

struct Slot<T> {
    value: Option<BackendResult<T>>,
    waker: Option<Waker>,
}

/// The future of work running on its own thread.
pub struct Offloaded<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

/// Runs `work` on a new thread. A panic in it becomes an error, never a crash of the caller.
pub fn offload<T, F>(work: F) -> Offloaded<T>
where
    T: Send + 'static,
    F: FnOnce() -> BackendResult<T> + Send + 'static,
{
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
    }));
    let theirs = slot.clone();
    let spawned = std::thread::Builder::new()
        .name("ecxsim-call".into())
        .spawn(move || {
            let value = catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| {
                Err(BackendError::Failed {
                    target: "ecxsim".into(),
                    message: "internal error in a backend call".into(),
                })
            });
            let mut slot = theirs.lock().unwrap_or_else(|e| e.into_inner());
            slot.value = Some(value);
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        });
    if let Err(e) = spawned {
        slot.lock().unwrap_or_else(|e| e.into_inner()).value = Some(Err(BackendError::Failed {
            target: "ecxsim".into(),
            message: format!("cannot start a thread: {e}"),
        }));
    }
    Offloaded { slot }
}

impl<T> Future for Offloaded<T> {
    type Output = BackendResult<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        match slot.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

pub fn micros_to_duration(micros: Micros) -> Duration {
    Duration::from_micros(micros)
}

/// `Start-Sleep` in real time.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealClock;

impl Clock for RealClock {
    async fn sleep(&self, duration: Micros) {
        let d = micros_to_duration(duration);
        let _ = offload(move || {
            std::thread::sleep(d);
            Ok(())
        })
        .await;
    }

    /// Microseconds since the process first asked: monotonic, unlike the wall clock, which
    /// an administrator or NTP may set back.
    fn now(&self) -> Micros {
        static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let origin = *ORIGIN.get_or_init(std::time::Instant::now);
        u64::try_from(origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn concurrent_calls_overlap() {
        let started = Instant::now();
        let clock = RealClock;
        futures_executor::block_on(futures_util::future::join_all(
            (0..4).map(|_| clock.sleep(200_000)),
        ));
        // Four 200 ms sleeps run together, not one after the other.
        assert!(started.elapsed() < Duration::from_millis(700));
    }

    #[test]
    fn a_panic_in_the_work_is_an_error() {
        let result: BackendResult<()> = futures_executor::block_on(offload(|| panic!("boom")));
        assert!(matches!(result, Err(BackendError::Failed { .. })));
    }
}
