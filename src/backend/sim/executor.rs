//! A minimal deterministic single-threaded executor for the control logic.
//!
//! Scripts are futures. A backend call posts its `Op` to the shared mailbox and suspends; the
//! world completes the op later and re-polls the task, which then finds its result. There is
//! no waker machinery: the world knows exactly which task to poll (the one whose op completed),
//! so a no-op waker suffices and execution order is a pure function of the event order. Each
//! call has its own id, so one task may wait on several calls at once (the master fails the
//! VMs of a cluster over together).

use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::id_table::IdTable;
use super::op::{Op, OpResult};
use crate::backend::{LogLevel, Name};

/// Slots of the mailbox's name cache: more than the names a world's tasks keep using.
const NAME_SLOTS: usize = 128;

pub type TaskId = u64;
pub type CallId = u64;

/// A call a task made and waits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub id: CallId,
    pub task: TaskId,
    pub op: Op,
}

/// Calls posted by tasks, results waiting for them, and log lines.
#[derive(Debug, Default)]
pub struct Mailbox {
    submitted: Vec<Call>,
    /// Results not yet taken: rarely more than one, a few while the master fails several VMs
    /// over (a list is cheaper to search than a map is to keep).
    results: Vec<(CallId, TaskId, OpResult)>,
    logs: Vec<(TaskId, LogLevel, String)>,
    /// Whether log lines are kept (`Executor::keep_logs`): nothing reads them otherwise, and
    /// copying each one costs more than most calls.
    keep_logs: bool,
    next_call: CallId,
    /// The names calls were made with lately (`name`).
    names: Vec<Option<Name>>,
    /// The simulated time at which the world polls the tasks.
    now: crate::time::Micros,
}

pub type SharedMailbox = Rc<RefCell<Mailbox>>;

impl Mailbox {
    pub fn submit(&mut self, task: TaskId, op: Op) -> CallId {
        self.next_call += 1;
        let id = self.next_call;
        self.submitted.push(Call { id, task, op });
        id
    }

    /// `name` as the name an op carries. The control logic names things with a few strings
    /// it keeps (its context, its configuration, the answers it holds), so the one last made
    /// from the same string is handed out again instead of a copy: the slot is chosen by the
    /// string's address, but only a name with the same text is reused.
    ///
    /// Inline, as every call names things with it; a name not found is made out of line.
    #[inline]
    pub fn name(&mut self, name: &str) -> Name {
        let at = name.as_ptr() as usize;
        let slot = ((at >> 3) ^ (at >> 10) ^ name.len()) % NAME_SLOTS;
        match self.names.get(slot) {
            Some(Some(cached)) if **cached == *name => Name::clone(cached),
            _ => self.make_name(slot, name),
        }
    }

    #[cold]
    #[inline(never)]
    fn make_name(&mut self, slot: usize, name: &str) -> Name {
        if self.names.is_empty() {
            self.names = vec![None; NAME_SLOTS];
        }
        let made = Name::from(name);
        self.names[slot] = Some(Name::clone(&made));
        made
    }

    pub fn take_result(&mut self, call: CallId) -> Option<OpResult> {
        let i = self.results.iter().position(|(id, _, _)| *id == call)?;
        Some(self.results.swap_remove(i).2)
    }

    pub fn now(&self) -> crate::time::Micros {
        self.now
    }

    pub fn keeps_logs(&self) -> bool {
        self.keep_logs
    }

    /// Keeps a log line of `task`, if log lines are kept.
    pub fn log(&mut self, task: TaskId, level: LogLevel, message: &str) {
        if self.keep_logs {
            self.logs.push((task, level, message.to_string()));
        }
    }
}

/// The future of one backend call.
pub struct OpFuture<'a> {
    mailbox: &'a RefCell<Mailbox>,
    task: TaskId,
    op: Option<Op>,
    call: CallId,
}

impl<'a> OpFuture<'a> {
    pub fn new(mailbox: &'a RefCell<Mailbox>, task: TaskId, op: Op) -> OpFuture<'a> {
        OpFuture {
            mailbox,
            task,
            op: Some(op),
            call: 0,
        }
    }
}

impl Future for OpFuture<'_> {
    type Output = OpResult;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<OpResult> {
        if let Some(op) = self.op.take() {
            let call = self.mailbox.borrow_mut().submit(self.task, op);
            self.call = call;
            return Poll::Pending;
        }
        match self.mailbox.borrow_mut().take_result(self.call) {
            Some(result) => Poll::Ready(result),
            None => Poll::Pending,
        }
    }
}

type BoxedTask<T> = Pin<Box<dyn Future<Output = T>>>;

/// Live tasks, plus a running hash of the results each one has received (two runs in which a
/// task received the same results have the task in the same state: the exhaustive explorer
/// merges such states).
pub struct Executor<T> {
    mailbox: SharedMailbox,
    tasks: IdTable<BoxedTask<T>>,
    history: BTreeMap<TaskId, u64>,
    /// Whether to keep `history` (the exhaustive explorer's; it costs a hash per result).
    keep_history: bool,
    next: TaskId,
}

impl<T> Default for Executor<T> {
    fn default() -> Self {
        Executor {
            mailbox: Rc::new(RefCell::new(Mailbox::default())),
            tasks: IdTable::default(),
            history: BTreeMap::new(),
            keep_history: false,
            next: 1,
        }
    }
}

impl<T> Executor<T> {
    /// An executor that keeps each task's result history (`histories`).
    pub fn with_history() -> Self {
        Executor {
            keep_history: true,
            ..Executor::default()
        }
    }

    pub fn mailbox(&self) -> SharedMailbox {
        self.mailbox.clone()
    }

    /// Sets the time the tasks read from their clock until the next call.
    pub fn set_now(&self, now: crate::time::Micros) {
        self.mailbox.borrow_mut().now = now;
    }

    /// Reserves the id of the next task (its backend clients need it before the future exists).
    pub fn next_id(&mut self) -> TaskId {
        let id = self.next;
        self.next += 1;
        id
    }

    pub fn insert(&mut self, id: TaskId, future: BoxedTask<T>) {
        self.tasks.insert(id, future);
        if self.keep_history {
            self.history.insert(id, 0);
        }
    }

    /// Polls a task once: `Some(output)` if it finished (it is then removed).
    pub fn poll(&mut self, id: TaskId) -> Option<T> {
        let task = self.tasks.get_mut(id)?;
        let mut cx = Context::from_waker(Waker::noop());
        match task.as_mut().poll(&mut cx) {
            Poll::Ready(output) => {
                self.tasks.remove(id);
                self.history.remove(&id);
                Some(output)
            }
            Poll::Pending => None,
        }
    }

    pub fn is_live(&self, id: TaskId) -> bool {
        self.tasks.contains(id)
    }

    pub fn live(&self) -> impl Iterator<Item = TaskId> + '_ {
        self.tasks.ids()
    }

    /// Drops a task (its host died); a result arriving later finds no one.
    pub fn kill(&mut self, id: TaskId) {
        self.tasks.remove(id);
        self.history.remove(&id);
        let mut mailbox = self.mailbox.borrow_mut();
        mailbox.results.retain(|(_, task, _)| *task != id);
        mailbox.submitted.retain(|call| call.task != id);
    }

    /// Hands a completed call's result to its task (the caller then polls it).
    pub fn deliver(&mut self, id: TaskId, call: CallId, result: OpResult) {
        if let Some(h) = self.history.get_mut(&id) {
            let mut hasher = DefaultHasher::new();
            h.hash(&mut hasher);
            result.hash(&mut hasher);
            *h = hasher.finish();
        }
        self.mailbox.borrow_mut().results.push((call, id, result));
    }

    /// Moves the calls submitted since the last time into `calls` (both buffers keep their
    /// capacity: no allocation per call).
    pub fn take_submitted(&self, calls: &mut Vec<Call>) {
        calls.append(&mut self.mailbox.borrow_mut().submitted);
    }

    /// Forgets the calls submitted since the last time (their task is gone).
    pub fn drop_submitted(&self) {
        self.mailbox.borrow_mut().submitted.clear();
    }

    /// From now on, the tasks' log lines are kept for `take_logs`.
    pub fn keep_logs(&mut self) {
        self.mailbox.borrow_mut().keep_logs = true;
    }

    pub fn take_logs(&self) -> Vec<(TaskId, LogLevel, String)> {
        std::mem::take(&mut self.mailbox.borrow_mut().logs)
    }

    /// The per-task result histories, for state hashing.
    pub fn histories(&self) -> &BTreeMap<TaskId, u64> {
        &self.history
    }
}
