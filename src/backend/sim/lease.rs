//! Leases held at the witness: the coordination service's rules (`backend::Leases`, times in
//! simulated microseconds), and a FIFO of waiters per name. A refused script waits at the
//! witness, and the first waiter is handed the lease as soon as it is released or runs out (a
//! long poll; production's clients ask again every poll instead).

use std::collections::{BTreeMap, VecDeque};

use super::executor::TaskId;
use crate::backend::leases::{Acquired, Leases};
use crate::backend::RoleRecord;
use crate::time::Micros;

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
    /// The grant's epoch: its expiry frees the lease only if no later grant replaced it.
    pub generation: u64,
}

/// The coordination service's state: leases and their waiters, and the VMs' role records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LeaseTable {
    leases: Leases,
    waiters: BTreeMap<String, VecDeque<Waiter>>,
}

impl LeaseTable {
    pub fn role(&self, vm: &str) -> Option<RoleRecord> {
        self.leases.role(vm)
    }

    /// Writes the record if `epoch` is newer than the one held.
    pub fn claim_role(&mut self, vm: &str, cluster: &str, epoch: u64) -> bool {
        self.leases.claim_role(vm, cluster, epoch)
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
        match self.leases.acquire(name, holder, ttl, now) {
            Acquired::Granted { epoch, expires } => Some(Grant {
                task,
                name: name.to_string(),
                expires,
                generation: epoch,
            }),
            Acquired::Taken { .. } => None,
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
        if granted.is_none() {
            self.waiters
                .entry(name.to_string())
                .or_default()
                .push_back(Waiter {
                    task,
                    holder: holder.to_string(),
                    ttl,
                });
        }
        granted
    }

    /// Releases if `holder` holds it; hands it to the next waiter, if any.
    ///
    /// The simulated scripts release by name, as the `Lease` trait does: the grant released
    /// is the one `holder` stands in (production's client keeps the epoch for the same end).
    pub fn release(&mut self, name: &str, holder: &str, now: Micros) -> Option<Grant> {
        let epoch = self.leases.epoch_held_by(name, holder)?;
        if self.leases.release(name, holder, epoch).is_ok() {
            return self.next_waiter(name, now);
        }
        None
    }

    /// The time to live of grant `generation` ran out.
    pub fn expire(&mut self, name: &str, generation: u64, now: Micros) -> Option<Grant> {
        if self.leases.expire_grant(name, generation) {
            return self.next_waiter(name, now);
        }
        None
    }

    /// The lease was just freed: the first waiter gets it.
    fn next_waiter(&mut self, name: &str, now: Micros) -> Option<Grant> {
        let waiter = self.waiters.get_mut(name)?.pop_front()?;
        self.try_acquire(name, &waiter.holder, waiter.task, waiter.ttl, now)
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
        self.leases.holder(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_are_handed_the_lease_in_order_at_release_and_expiry() {
        let mut t = LeaseTable::default();
        let first = t.acquire("l", "c1s1", 1, 100, 0).expect("free");
        assert_eq!((first.expires, first.generation), (100, 1));
        assert_eq!(t.acquire("l", "c2s1", 2, 100, 10), None);
        assert_eq!(t.acquire("l", "c2s2", 3, 100, 20), None);
        // Another holder's release changes nothing.
        assert_eq!(t.release("l", "c2s1", 30), None);
        assert_eq!(t.holder("l"), Some("c1s1"));
        let second = t.release("l", "c1s1", 40).expect("the first waiter");
        assert_eq!(
            (second.task, second.expires, second.generation),
            (2, 140, 2)
        );
        // The first grant's timer fires late: the second grant stands.
        assert_eq!(t.expire("l", first.generation, 100), None);
        let third = t
            .expire("l", second.generation, 140)
            .expect("the next waiter");
        assert_eq!((third.task, t.holder("l")), (3, Some("c2s2")));
    }

    #[test]
    fn a_cancelled_waiter_is_skipped() {
        let mut t = LeaseTable::default();
        let grant = t.acquire("l", "a", 1, 100, 0).unwrap();
        assert_eq!(t.acquire("l", "b", 2, 100, 0), None);
        assert!(t.cancel_wait(2));
        assert!(!t.cancel_wait(2));
        assert_eq!(t.expire("l", grant.generation, 100), None);
        assert_eq!(t.holder("l"), None);
        // A free lease, or one whose time ran out, grants without waiting.
        assert!(t.try_acquire("l", "b", 2, 100, 100).is_some());
        assert!(t.try_acquire("l", "c", 3, 100, 200).is_some());
    }
}
