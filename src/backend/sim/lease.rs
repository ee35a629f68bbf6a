//! Leases held at the witness: one holder per name, a FIFO of waiters, a time to live.

use std::collections::{BTreeMap, VecDeque};

use super::executor::TaskId;
use crate::backend::{RoleRecord, RoleRecords};
use crate::time::Micros;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Held {
    holder: String,
    expires: Micros,
    generation: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Waiter {
    task: TaskId,
    holder: String,
    ttl: Micros,
}

/// A grant made to a waiting task: the world answers it and arms the expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub task: TaskId,
    pub name: String,
    pub expires: Micros,
    pub generation: u64,
}

/// The coordination service's state: leases and their waiters, and the VMs' role records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LeaseTable {
    held: BTreeMap<String, Held>,
    waiters: BTreeMap<String, VecDeque<Waiter>>,
    generations: u64,
    roles: RoleRecords,
}

impl LeaseTable {
    pub fn role(&self, vm: &str) -> Option<RoleRecord> {
        self.roles.get(vm)
    }

    /// Writes the record if `epoch` is newer than the one held.
    pub fn claim_role(&mut self, vm: &str, cluster: &str, epoch: u64) -> bool {
        self.roles.claim(vm, cluster, epoch)
    }

    /// Grants at once (free, expired, or already ours), or `None` without waiting.
    pub fn try_acquire(
        &mut self,
        name: &str,
        holder: &str,
        task: TaskId,
        ttl: Micros,
        now: Micros,
    ) -> Option<Grant> {
        self.is_free(name, holder, now)
            .then(|| self.grant(name, holder, task, ttl, now))
    }

    fn is_free(&self, name: &str, holder: &str, now: Micros) -> bool {
        match self.held.get(name) {
            None => true,
            Some(h) => h.holder == holder || h.expires <= now,
        }
    }

    /// Grants at once (free, expired, or already ours) or parks the task in the queue.
    pub fn acquire(
        &mut self,
        name: &str,
        holder: &str,
        task: TaskId,
        ttl: Micros,
        now: Micros,
    ) -> Option<Grant> {
        let granted = self.try_acquire(name, holder, task, ttl, now);
        if granted.is_some() {
            granted
        } else {
            self.waiters
                .entry(name.to_string())
                .or_default()
                .push_back(Waiter {
                    task,
                    holder: holder.to_string(),
                    ttl,
                });
            None
        }
    }

    fn grant(&mut self, name: &str, holder: &str, task: TaskId, ttl: Micros, now: Micros) -> Grant {
        self.generations += 1;
        let expires = now.saturating_add(ttl);
        self.held.insert(
            name.to_string(),
            Held {
                holder: holder.to_string(),
                expires,
                generation: self.generations,
            },
        );
        Grant {
            task,
            name: name.to_string(),
            expires,
            generation: self.generations,
        }
    }

    /// Releases if `holder` holds it; hands it to the next waiter, if any.
    pub fn release(&mut self, name: &str, holder: &str, now: Micros) -> Option<Grant> {
        if self.held.get(name).is_some_and(|h| h.holder == holder) {
            self.held.remove(name);
            return self.next_waiter(name, now);
        }
        None
    }

    /// The time to live of grant `generation` ran out.
    pub fn expire(&mut self, name: &str, generation: u64, now: Micros) -> Option<Grant> {
        if self
            .held
            .get(name)
            .is_some_and(|h| h.generation == generation)
        {
            self.held.remove(name);
            return self.next_waiter(name, now);
        }
        None
    }

    fn next_waiter(&mut self, name: &str, now: Micros) -> Option<Grant> {
        let waiter = self.waiters.get_mut(name)?.pop_front()?;
        Some(self.grant(name, &waiter.holder, waiter.task, waiter.ttl, now))
    }

    /// Removes a waiting task (its wait ran out, or it died); true if it was waiting.
    pub fn cancel_wait(&mut self, task: TaskId) -> bool {
        let mut found = false;
        for queue in self.waiters.values_mut() {
            let before = queue.len();
            queue.retain(|w| w.task != task);
            found |= queue.len() != before;
        }
        found
    }

    pub fn holder(&self, name: &str) -> Option<&str> {
        self.held.get(name).map(|h| h.holder.as_str())
    }
}
